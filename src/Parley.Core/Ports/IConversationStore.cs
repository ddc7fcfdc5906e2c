using Parley.Core.Events;

namespace Parley.Core.Ports;

/// <summary>Conversations and their members.</summary>
public interface IConversationStore
{
    /// <summary>The one direct conversation of the pair, created when missing; Created says which (and only a creation records an event).</summary>
    Task<(ConversationRecord Conversation, bool Created)> GetOrCreateDirectAsync(Guid conversationId, Guid creator, Guid other, DateTimeOffset now, EventContext context, CancellationToken cancellationToken);

    /// <summary>
    /// A group, channel or broadcast: the owner and the other members (as members), and conversation.created. With a
    /// context, the conversation of that context and initial member set when one exists (Created false, nothing written).
    /// </summary>
    Task<(ConversationRecord Conversation, bool Created)> CreateAsync(NewConversation conversation, DateTimeOffset now, EventContext context, CancellationToken cancellationToken);

    /// <summary>
    /// Applies one membership or conversation change under the conversation's lock: loads what the command involves,
    /// lets <c>MembershipPlanner</c> decide, writes the plan and its events in one transaction. A refusal writes nothing.
    /// </summary>
    Task<MembershipResult> ChangeMembershipAsync(Guid conversationId, MembershipCommand command, DateTimeOffset now, EventContext context, CancellationToken cancellationToken);

    /// <summary>The invite with this code, whatever its state; null when there is none.</summary>
    Task<InviteRecord?> GetInviteAsync(string code, CancellationToken cancellationToken);

    /// <summary>The conversation's invites, newest first, revoked and used-up ones included.</summary>
    Task<IReadOnlyList<InviteRecord>> ListInvitesAsync(Guid conversationId, CancellationToken cancellationToken);

    /// <summary>Active public channels whose title starts with <paramref name="query"/> (case-insensitive; all when null), most recent activity first.</summary>
    Task<ChannelPage> SearchChannelsAsync(string? query, ConversationCursor? after, int limit, CancellationToken cancellationToken);

    Task<ConversationRecord?> GetConversationAsync(Guid conversationId, CancellationToken cancellationToken);

    Task<ParticipantRecord?> GetParticipantAsync(Guid conversationId, Guid userId, CancellationToken cancellationToken);

    Task<IReadOnlyList<Guid>> GetMemberIdsAsync(Guid conversationId, CancellationToken cancellationToken);

    /// <summary>
    /// The user's conversations that pass <paramref name="filter"/>, most recent activity first (pinned ones before the
    /// rest when the filter asks), with unread count, last message and the user's own settings.
    /// </summary>
    Task<ConversationPage> ListConversationsAsync(Guid userId, ConversationListFilter filter, ConversationCursor? after, int limit, CancellationToken cancellationToken);

    /// <summary>
    /// Changes the member's own settings and records <c>conversation.member_settings_changed</c> in the same transaction
    /// (nothing when the change leaves them as they are). Null when the user is not a member: nothing is written.
    /// </summary>
    Task<MemberSettingsResult?> ChangeSettingsAsync(Guid conversationId, Guid userId, MemberSettingsChange change, DateTimeOffset now, EventContext context, CancellationToken cancellationToken);

    /// <summary>The sum of the user's unread counts over all their memberships (one indexed read, no message scan).</summary>
    Task<UnreadTotal> GetUnreadTotalAsync(Guid userId, CancellationToken cancellationToken);
}
