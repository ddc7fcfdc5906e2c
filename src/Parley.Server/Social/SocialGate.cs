using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Options;
using Parley.Core.Errors;
using Parley.Core.Membership;
using Parley.Core.Ports;
using Parley.Hosting;
using Parley.Server.Hosting;

namespace Parley.Server.Social;

/// <summary>
/// What blocks and the friendship setting forbid outside the social endpoints: sending in a direct conversation
/// whose two users are blocked (the hot path, so the pair's state is cached for <see cref="SocialOptions.BlockCacheTtl"/>
/// and dropped on every node by a block or unblock) and creating a direct conversation.
/// </summary>
public sealed class SocialGate(ISocialStore social, IConversationStore conversations, IMemoryCache cache, TransientErrors transient,
    IClusterInvalidation cluster, IOptions<SocialOptions> options, TimeProvider time, ILogger<SocialGate> logger)
{
    private static readonly TimeSpan ClusterTimeout = TimeSpan.FromSeconds(2);

    /// <summary>A direct conversation's members never change, so the other member is remembered for long.</summary>
    private static readonly TimeSpan OtherMemberTtl = TimeSpan.FromHours(1);

    private static readonly TimeSpan LastKnownTtl = TimeSpan.FromDays(1);

    /// <summary>
    /// The send path survives a store outage (E3): after a read fails with a transient error, reads are skipped for a
    /// while and the last state read stands. A read that is merely slow is waited for, as the membership read is: a
    /// time limit here let a blocked pair's send through whenever the store was busy (failed once under a full run).
    /// </summary>
    private static readonly TimeSpan StoreReadBackoff = TimeSpan.FromSeconds(5);

    private long _storeReadsResumeAt;

    /// <summary>
    /// 409 USER_BLOCKED when the conversation is direct and either of its two users blocked the other. While the store
    /// cannot answer, the last block state read stands, and a pair never read is let through, as the membership check
    /// lets a known member through.
    /// </summary>
    public async ValueTask RequireNotBlockedAsync(ConversationRecord conversation, Guid senderId, CancellationToken cancellationToken)
    {
        if (!string.Equals(conversation.Type, ConversationTypes.Direct, StringComparison.Ordinal))
        {
            return;
        }

        // The pair's key is remembered with the other member, so a send does not hash the pair again.
        var otherKey = ("direct-other", conversation.Id, senderId);
        if (!cache.TryGetValue(otherKey, out (Guid Other, Guid PairKey) pair))
        {
            var (read, members) = await ReadStoreAsync(ct => conversations.GetMemberIdsAsync(conversation.Id, ct), conversation.Id, cancellationToken);
            if (!read)
            {
                return;
            }

            var found = members!.FirstOrDefault(m => m != senderId);
            pair = (found, found == Guid.Empty ? Guid.Empty : PairKey(senderId, found));
            cache.Set(otherKey, pair, OtherMemberTtl);
        }

        var other = pair.Other;
        if (other == Guid.Empty)
        {
            return;
        }

        var key = Key(pair.PairKey);
        if (!cache.TryGetValue(key, out bool blocked))
        {
            var (read, fresh) = await ReadStoreAsync(ct => social.IsBlockedAsync(senderId, other, ct), conversation.Id, cancellationToken);
            if (read)
            {
                blocked = fresh;
                if (options.Value.BlockCacheTtl > TimeSpan.Zero)
                {
                    cache.Set(key, blocked, options.Value.BlockCacheTtl);
                }

                cache.Set(("last-known", key), blocked, LastKnownTtl);
            }
            else
            {
                blocked = cache.TryGetValue(("last-known", key), out bool lastKnown) && lastKnown;
            }
        }

        if (blocked)
        {
            throw Errors.UserBlocked(other).ToException();
        }
    }

    /// <summary>Before creating (or returning) a direct conversation: 409 USER_BLOCKED, or 403 FRIENDSHIP_REQUIRED when the setting asks for it.</summary>
    public async Task RequireDirectAllowedAsync(Guid me, Guid other, CancellationToken cancellationToken)
    {
        if (await social.IsBlockedAsync(me, other, cancellationToken))
        {
            throw Errors.UserBlocked(other).ToException();
        }

        if (options.Value.DirectRequiresFriendship && !await social.AreFriendsAsync(me, other, cancellationToken))
        {
            throw Errors.FriendshipRequired(other).ToException();
        }
    }

    /// <summary>
    /// After a block or unblock: drops the pair's cached block state here and, before returning, on every other node
    /// (<see cref="IClusterInvalidation"/>, keyed by <see cref="PairKey"/>), so the pair's next send reads the new state
    /// wherever it arrives. The last-known state stays: it only stands in while the store cannot answer.
    /// </summary>
    public async Task ForgetEverywhereAsync(Guid a, Guid b)
    {
        var key = PairKey(a, b);
        cache.Remove(Key(key));
        try
        {
            if (!await cluster.InvalidateAsync(key, ClusterTimeout, CancellationToken.None))
            {
                Log.BlockInvalidationUnconfirmed(logger, ClusterTimeout.TotalMilliseconds);
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            Log.BlockInvalidationFailed(logger, ex);
        }
    }

    /// <summary>Listens for the other nodes' blocks and unblocks (called once, as the host starts).</summary>
    public void ListenToOtherNodes() => cluster.Subscribe(key => cache.Remove(Key(key)));

    /// <summary>
    /// The pair's name on the cluster invalidation channel, which carries UUIDs: the first 16 bytes of a SHA-256 of the
    /// ordered pair, so it never equals a conversation id (also sent there) by anything but chance.
    /// </summary>
    public static Guid PairKey(Guid a, Guid b)
    {
        var (low, high) = Core.Persistence.SocialRules.Pair(a, b);
        Span<byte> both = stackalloc byte[32];
        low.TryWriteBytes(both[..16]);
        high.TryWriteBytes(both[16..]);
        return new Guid(System.Security.Cryptography.SHA256.HashData(both)[..16]);
    }

    /// <summary>The store's answer, or false (not read) when it failed transiently or is being skipped after a recent failure.</summary>
    private async Task<(bool Read, T? Value)> ReadStoreAsync<T>(Func<CancellationToken, Task<T>> read, Guid conversationId, CancellationToken cancellationToken)
    {
        if (time.GetTimestamp() < Interlocked.Read(ref _storeReadsResumeAt))
        {
            return (false, default);
        }

        try
        {
            return (true, await read(cancellationToken));
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested && transient.IsTransient(ex))
        {
            Interlocked.Exchange(ref _storeReadsResumeAt, time.GetTimestamp() + (long)(StoreReadBackoff.TotalSeconds * time.TimestampFrequency));
            Log.BlockStateUnavailable(logger, ex, conversationId);
            return (false, default);
        }
    }

    private static (string, Guid) Key(Guid pairKey) => ("blocked", pairKey);
}
