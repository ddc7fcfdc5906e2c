using Microsoft.Extensions.Caching.Memory;
using Parley.Core.Errors;
using Parley.Core.Ports;
using Parley.Hosting;
using Parley.Server.Hosting;

namespace Parley.Server.Conversations;

/// <summary>
/// The ingress's authorization lookup (P1: "membership, cached"). Entries live briefly and are dropped on
/// every membership change this node makes, so the hot path rarely touches the store.
/// While the store is unreachable, the last membership seen (up to a day old) keeps the ingress accepting (E3).
/// </summary>
public sealed class MembershipCache(IConversationStore store, IMemoryCache cache, TransientErrors transient, ILogger<MembershipCache> logger)
{
    private static readonly TimeSpan MemberTtl = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan MissTtl = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan LastKnownTtl = TimeSpan.FromDays(1);

    /// <summary>The conversation, if <paramref name="userId"/> may use it; throws the documented 404 / 403 otherwise.</summary>
    public async ValueTask<ConversationRecord> RequireMemberAsync(Guid conversationId, Guid userId, CancellationToken cancellationToken)
    {
        var key = (conversationId, userId);
        if (!cache.TryGetValue(key, out Membership? membership) || membership is null)
        {
            try
            {
                var conversation = await store.GetConversationAsync(conversationId, cancellationToken);
                var isMember = conversation is not null && await store.GetParticipantAsync(conversationId, userId, cancellationToken) is not null;
                membership = new Membership(conversation, isMember);
                cache.Set(key, membership, isMember ? MemberTtl : MissTtl);
                if (isMember)
                {
                    cache.Set(("last-known", key), membership, LastKnownTtl);
                }
            }
            catch (Exception ex) when (transient.IsTransient(ex))
            {
                if (!cache.TryGetValue(("last-known", key), out membership) || membership is null)
                {
                    throw Errors.ServiceUnavailable("The conversation store").ToException();
                }

                Log.MembershipFromStale(logger, ex, conversationId);
            }
        }

        return membership.Conversation is null ? throw Errors.ConversationNotFound(conversationId).ToException()
            : !membership.IsMember ? throw Errors.NotMember(conversationId).ToException()
            : membership.Conversation;
    }

    /// <summary>The member list, cached as briefly as membership itself (typing and presence fan-out read it often).</summary>
    public async ValueTask<IReadOnlyList<Guid>> MembersAsync(Guid conversationId, CancellationToken cancellationToken)
    {
        var key = ("members", conversationId);
        if (cache.TryGetValue(key, out IReadOnlyList<Guid>? members) && members is not null)
        {
            return members;
        }

        members = await store.GetMemberIdsAsync(conversationId, cancellationToken);
        cache.Set(key, members, MemberTtl);
        return members;
    }

    public void Invalidate(Guid conversationId, IEnumerable<Guid> userIds)
    {
        cache.Remove(("members", conversationId));
        foreach (var userId in userIds)
        {
            cache.Remove((conversationId, userId));
            cache.Remove(("last-known", (conversationId, userId)));
        }
    }

    private sealed record Membership(ConversationRecord? Conversation, bool IsMember);
}
