using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.Extensions.Caching.Memory;
using Parley.Core.Errors;
using Parley.Core.Membership;
using Parley.Core.Persistence;
using Parley.Core.Ports;
using Parley.Hosting;
using Parley.Server.Hosting;

namespace Parley.Server.Conversations;

/// <summary>What a member may see of a conversation: the conversation and their role in it.</summary>
public sealed record ConversationAccess(ConversationRecord Conversation, string Role);

/// <summary>
/// The ingress's authorization lookup (P1: "membership, cached"). Entries live briefly; a membership or conversation
/// change drops every entry of that conversation on this node and, before the change's response returns, on every
/// other node (<see cref="IClusterInvalidation"/>), so a removed member is refused everywhere at once.
/// While the store is unreachable, the last membership seen (up to a day old, and never one older than a change this
/// node heard of) keeps the ingress accepting (E3).
/// </summary>
public sealed class MembershipCache(IConversationStore store, IMemoryCache cache, IClusterInvalidation cluster, TransientErrors transient, ILogger<MembershipCache> logger)
{
    private static readonly TimeSpan MemberTtl = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan MissTtl = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan LastKnownTtl = TimeSpan.FromDays(1);

    /// <summary>How long a change waits for the other nodes to confirm they dropped their entries.</summary>
    public static readonly TimeSpan ClusterTimeout = TimeSpan.FromSeconds(2);

    /// <summary>
    /// When each conversation was last invalidated (a <see cref="Stopwatch"/> timestamp). An entry loaded before that is
    /// stale: one conversation's entries are dropped at once without finding them, and a load that raced the change
    /// cannot put back what it read before it.
    /// </summary>
    private readonly ConcurrentDictionary<Guid, long> _invalidatedAt = new();

    /// <summary>
    /// The caller's access to a message of <paramref name="conversationId"/>: as <see cref="RequireMemberAsync"/>, but any
    /// refusal is 404 MESSAGE_NOT_FOUND, so someone else's message is never confirmed to exist (a 403 would).
    /// </summary>
    public async ValueTask<ConversationAccess> RequireMessageAccessAsync(Guid conversationId, Guid messageId, Guid userId, CancellationToken cancellationToken)
    {
        try
        {
            return await RequireMemberAsync(conversationId, userId, cancellationToken);
        }
        catch (ParleyException ex) when (ex.Error.Code is ErrorCodes.NotConversationMember or ErrorCodes.ConversationNotFound)
        {
            // An outsider learns nothing about the message; a store outage stays a 503 the client retries.
            throw Errors.MessageNotFound(messageId).ToException();
        }
    }

    /// <summary>
    /// The conversation itself, for an actor who need not be a member (a server admin resolving a report). Read from the
    /// store each time: moderation is rare, and the cache's entries are per member.
    /// </summary>
    public async ValueTask<ConversationRecord> RequireConversationAsync(Guid conversationId, CancellationToken cancellationToken) =>
        await store.GetConversationAsync(conversationId, cancellationToken) ?? throw Errors.ConversationNotFound(conversationId).ToException();

    /// <summary>The caller's access, if they are a member; the documented 404 / 403 otherwise.</summary>
    public async ValueTask<ConversationAccess> RequireMemberAsync(Guid conversationId, Guid userId, CancellationToken cancellationToken)
    {
        var key = (conversationId, userId);
        if (!cache.TryGetValue(key, out Membership? membership) || membership is null || Stale(conversationId, membership))
        {
            var loadedAt = Stopwatch.GetTimestamp();
            try
            {
                var conversation = await store.GetConversationAsync(conversationId, cancellationToken);
                var participant = conversation is null ? null : await store.GetParticipantAsync(conversationId, userId, cancellationToken);
                membership = new Membership(conversation, participant?.Role, loadedAt);
                cache.Set(key, membership, participant is not null ? MemberTtl : MissTtl);
                if (participant is not null)
                {
                    cache.Set(("last-known", key), membership, LastKnownTtl);
                }
            }
            catch (Exception ex) when (transient.IsTransient(ex))
            {
                if (!cache.TryGetValue(("last-known", key), out membership) || membership is null || Stale(conversationId, membership))
                {
                    throw Errors.ServiceUnavailable("The conversation store").ToException();
                }

                Log.MembershipFromStale(logger, ex, conversationId);
            }
        }

        return membership.Conversation is null ? throw Errors.ConversationNotFound(conversationId).ToException()
            : membership.Role is null ? throw Errors.NotMember(conversationId).ToException()
            : new ConversationAccess(membership.Conversation, membership.Role);
    }

    /// <summary>As <see cref="RequireMemberAsync"/>, and the caller's role must allow <paramref name="action"/> (403 FORBIDDEN_ROLE).</summary>
    public async ValueTask<ConversationAccess> RequireAsync(Guid conversationId, Guid userId, ConversationAction action, CancellationToken cancellationToken)
    {
        var access = await RequireMemberAsync(conversationId, userId, cancellationToken);
        var refused = MembershipPlanner.Refuse(access.Conversation, access.Role, action);
        return refused is null ? access : throw refused.ToException();
    }

    /// <summary>The member list, cached as briefly as membership itself (typing and presence fan-out read it often).</summary>
    public async ValueTask<IReadOnlyList<Guid>> MembersAsync(Guid conversationId, CancellationToken cancellationToken)
    {
        var key = ("members", conversationId);
        if (cache.TryGetValue(key, out MemberList? members) && members is not null && !Stale(conversationId, members.LoadedAt))
        {
            return members.Ids;
        }

        var loadedAt = Stopwatch.GetTimestamp();
        members = new MemberList(await store.GetMemberIdsAsync(conversationId, cancellationToken), loadedAt);
        cache.Set(key, members, MemberTtl);
        return members.Ids;
    }

    /// <summary>Drops this node's entries for the conversation (another node changed it, or this one is about to say so).</summary>
    public void Invalidate(Guid conversationId)
    {
        var now = Stopwatch.GetTimestamp();
        _invalidatedAt[conversationId] = now;
        cache.Remove(("members", conversationId));
        if (_invalidatedAt.Count > 100_000)
        {
            // A mark older than the longest-lived entry can no longer make anything stale.
            var horizon = now - (long)(LastKnownTtl.TotalSeconds * Stopwatch.Frequency);
            foreach (var (id, at) in _invalidatedAt)
            {
                if (at < horizon)
                {
                    _invalidatedAt.TryRemove(id, out _);
                }
            }
        }
    }

    /// <summary>
    /// After a committed change: drops the entries here and waits (up to <see cref="ClusterTimeout"/>) until every other
    /// node has dropped theirs, so the change's response means "in effect everywhere". Never fails the change.
    /// </summary>
    public async Task InvalidateEverywhereAsync(Guid conversationId, CancellationToken cancellationToken)
    {
        Invalidate(conversationId);
        try
        {
            if (!await cluster.InvalidateAsync(conversationId, ClusterTimeout, cancellationToken))
            {
                Log.MembershipInvalidationUnconfirmed(logger, conversationId, ClusterTimeout.TotalMilliseconds);
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            Log.MembershipInvalidationFailed(logger, ex, conversationId);
        }
    }

    /// <summary>Listens for the other nodes' changes (called once, as the host starts).</summary>
    public void ListenToOtherNodes() => cluster.Subscribe(Invalidate);

    private bool Stale(Guid conversationId, Membership membership) => Stale(conversationId, membership.LoadedAt);

    private bool Stale(Guid conversationId, long loadedAt) => _invalidatedAt.TryGetValue(conversationId, out var at) && loadedAt <= at;

    private sealed record Membership(ConversationRecord? Conversation, string? Role, long LoadedAt);

    private sealed record MemberList(IReadOnlyList<Guid> Ids, long LoadedAt);
}
