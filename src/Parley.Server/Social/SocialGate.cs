using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Options;
using Parley.Core.Errors;
using Parley.Core.Ports;
using Parley.Hosting;
using Parley.Server.Hosting;

namespace Parley.Server.Social;

/// <summary>
/// What blocks and the friendship setting forbid outside the social endpoints: sending in a direct conversation
/// whose two users are blocked (the hot path, so the pair's state is cached for <see cref="SocialOptions.BlockCacheTtl"/>
/// and dropped on this node's block and unblock) and creating a direct conversation.
/// </summary>
public sealed class SocialGate(ISocialStore social, IConversationStore conversations, IMemoryCache cache, TransientErrors transient,
    IOptions<SocialOptions> options, ILogger<SocialGate> logger)
{
    /// <summary>A direct conversation's members never change, so the other member is remembered for long.</summary>
    private static readonly TimeSpan OtherMemberTtl = TimeSpan.FromHours(1);

    private static readonly TimeSpan LastKnownTtl = TimeSpan.FromDays(1);

    /// <summary>409 USER_BLOCKED when the conversation is direct and either of its two users blocked the other.</summary>
    public async ValueTask RequireNotBlockedAsync(ConversationRecord conversation, Guid senderId, CancellationToken cancellationToken)
    {
        if (!string.Equals(conversation.Type, ConversationTypes.Direct, StringComparison.Ordinal))
        {
            return;
        }

        try
        {
            var otherKey = ("direct-other", conversation.Id, senderId);
            if (!cache.TryGetValue(otherKey, out Guid other))
            {
                other = (await conversations.GetMemberIdsAsync(conversation.Id, cancellationToken)).FirstOrDefault(m => m != senderId);
                cache.Set(otherKey, other, OtherMemberTtl);
            }

            if (other != Guid.Empty && await IsBlockedAsync(senderId, other, cancellationToken))
            {
                throw Errors.UserBlocked(other).ToException();
            }
        }
        catch (Exception ex) when (transient.IsTransient(ex))
        {
            // The send path survives a store outage (E3): the last block state read stands, and a pair never read is let
            // through, as the membership check lets a known member through.
            Log.BlockStateUnavailable(logger, ex, conversation.Id);
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

    /// <summary>Drops this node's cached block state of the pair, after a block or unblock.</summary>
    public void Forget(Guid a, Guid b)
    {
        cache.Remove(Key(a, b));
        cache.Remove(("last-known", Key(a, b)));
    }

    private async ValueTask<bool> IsBlockedAsync(Guid a, Guid b, CancellationToken cancellationToken)
    {
        var key = Key(a, b);
        if (cache.TryGetValue(key, out bool blocked))
        {
            return blocked;
        }

        try
        {
            blocked = await social.IsBlockedAsync(a, b, cancellationToken);
        }
        catch (Exception ex) when (transient.IsTransient(ex) && cache.TryGetValue(("last-known", key), out bool lastKnown))
        {
            Log.BlockStateFromStale(logger, ex, a, b);
            return lastKnown;
        }

        cache.Set(key, blocked, options.Value.BlockCacheTtl);
        cache.Set(("last-known", key), blocked, LastKnownTtl);
        return blocked;
    }

    private static (string, Guid, Guid) Key(Guid a, Guid b)
    {
        var (low, high) = Core.Persistence.SocialRules.Pair(a, b);
        return ("blocked", low, high);
    }
}
