using Parley.Core.Events;

namespace Parley.Core.Ports;

/// <summary>Conversations and their members.</summary>
public interface IConversationStore
{
    /// <summary>The one direct conversation of the pair, created when missing; Created says which (and only a creation records an event).</summary>
    Task<(ConversationRecord Conversation, bool Created)> GetOrCreateDirectAsync(Guid conversationId, Guid creator, Guid other, DateTimeOffset now, EventContext context, CancellationToken cancellationToken);

    Task<ConversationRecord> CreateGroupAsync(Guid conversationId, Guid owner, string? title, IReadOnlyCollection<Guid> members, DateTimeOffset now, EventContext context, CancellationToken cancellationToken);

    Task<ConversationRecord?> GetConversationAsync(Guid conversationId, CancellationToken cancellationToken);

    Task<ParticipantRecord?> GetParticipantAsync(Guid conversationId, Guid userId, CancellationToken cancellationToken);

    Task<IReadOnlyList<Guid>> GetMemberIdsAsync(Guid conversationId, CancellationToken cancellationToken);

    /// <summary>The user's conversations, most recent activity first, with unread count and last message.</summary>
    Task<ConversationPage> ListConversationsAsync(Guid userId, ConversationCursor? after, int limit, CancellationToken cancellationToken);

    /// <summary>The sum of the user's unread counts over all their memberships (one indexed read, no message scan).</summary>
    Task<UnreadTotal> GetUnreadTotalAsync(Guid userId, CancellationToken cancellationToken);
}
