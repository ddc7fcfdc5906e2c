using Microsoft.Extensions.Caching.Memory;
using Parley.Core.Errors;
using Parley.Core.Ports;

namespace Parley.Server.Conversations;

/// <summary>
/// The ingress's authorization lookup (P1: "membership, cached"). Entries live briefly and are dropped on
/// every membership change this node makes, so the hot path rarely touches the store.
/// </summary>
public sealed class MembershipCache(IConversationStore store, IMemoryCache cache)
{
    private static readonly TimeSpan MemberTtl = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan MissTtl = TimeSpan.FromSeconds(2);

    /// <summary>The conversation, if <paramref name="userId"/> may use it; throws the documented 404 / 403 otherwise.</summary>
    public async ValueTask<ConversationRecord> RequireMemberAsync(Guid conversationId, Guid userId, CancellationToken cancellationToken)
    {
        var key = (conversationId, userId);
        if (!cache.TryGetValue(key, out Membership? membership) || membership is null)
        {
            var conversation = await store.GetConversationAsync(conversationId, cancellationToken);
            var isMember = conversation is not null && await store.GetParticipantAsync(conversationId, userId, cancellationToken) is not null;
            membership = new Membership(conversation, isMember);
            cache.Set(key, membership, isMember ? MemberTtl : MissTtl);
        }

        return membership.Conversation is null ? throw Errors.ConversationNotFound(conversationId).ToException()
            : !membership.IsMember ? throw Errors.NotMember(conversationId).ToException()
            : membership.Conversation;
    }

    public void Invalidate(Guid conversationId, IEnumerable<Guid> userIds)
    {
        foreach (var userId in userIds)
        {
            cache.Remove((conversationId, userId));
        }
    }

    private sealed record Membership(ConversationRecord? Conversation, bool IsMember);
}
