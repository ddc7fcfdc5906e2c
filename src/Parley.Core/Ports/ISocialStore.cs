using Parley.Core.Events;

namespace Parley.Core.Ports;

/// <summary>
/// Friend requests, friendships and blocks (M3). Every change records its domain event in the same transaction; the
/// rules (who may do what, what a request comes to) are <see cref="Persistence.SocialRules"/>'s, applied to the pair's
/// state read inside that transaction, so two users acting on each other at once end in one consistent state.
/// </summary>
public interface ISocialStore
{
    /// <summary>Sends <paramref name="request"/> (its id and time are used only if a new request is created).</summary>
    Task<FriendRequestResult> SendFriendRequestAsync(FriendRequestRecord request, EventContext context, CancellationToken cancellationToken);

    /// <summary>
    /// Accepts or declines (the recipient) or cancels (the sender) a pending request. Null when there is no such pending
    /// request or <paramref name="actorId"/> may not do that to it; then nothing changes.
    /// </summary>
    Task<FriendRequestRecord?> ResolveFriendRequestAsync(Guid requestId, Guid actorId, FriendRequestAction action, DateTimeOffset now, EventContext context,
        CancellationToken cancellationToken);

    /// <summary>Pending requests to (incoming) or from (outgoing) the user, each with the other user's profile, by that user's username after <paramref name="after"/>.</summary>
    Task<UsernamePage<FriendRequestEntry>> ListFriendRequestsAsync(Guid userId, FriendRequestDirection direction, UsernameCursor? after, int limit, CancellationToken cancellationToken);

    /// <summary>The user's friends, by username after <paramref name="after"/>.</summary>
    Task<UsernamePage<FriendEntry>> ListFriendsAsync(Guid userId, UsernameCursor? after, int limit, CancellationToken cancellationToken);

    /// <summary>False when the two were not friends; then nothing is recorded.</summary>
    Task<bool> RemoveFriendAsync(Guid userId, Guid friendId, DateTimeOffset now, EventContext context, CancellationToken cancellationToken);

    Task<bool> AreFriendsAsync(Guid a, Guid b, CancellationToken cancellationToken);

    /// <summary>Blocks, and in the same transaction removes the friendship and the pending request between the two.</summary>
    Task<BlockResult> BlockAsync(Guid blockerId, Guid blockedId, DateTimeOffset now, EventContext context, CancellationToken cancellationToken);

    /// <summary>False when there was no such block; then nothing is recorded.</summary>
    Task<bool> UnblockAsync(Guid blockerId, Guid blockedId, DateTimeOffset now, EventContext context, CancellationToken cancellationToken);

    /// <summary>The users <paramref name="blockerId"/> blocked, by username after <paramref name="after"/>.</summary>
    Task<UsernamePage<BlockEntry>> ListBlocksAsync(Guid blockerId, UsernameCursor? after, int limit, CancellationToken cancellationToken);

    /// <summary>True when either of the two blocked the other.</summary>
    Task<bool> IsBlockedAsync(Guid a, Guid b, CancellationToken cancellationToken);
}
