using Parley.Core.Ports;

namespace Parley.Core.Persistence;

/// <summary>
/// Who may do what between two users (M3), decided once here from the pair's state; the engines read that state and
/// write what these decide, in one transaction.
/// </summary>
public static class SocialRules
{
    /// <summary>A friend request or a block names someone else.</summary>
    public static void RequireOther(Guid me, Guid other)
    {
        if (me == other)
        {
            throw Errors.Errors.InvalidValue("userId", "must be another user, not yourself").ToException();
        }
    }

    /// <summary>
    /// What a request from <paramref name="senderId"/> comes to. A request the other user already sent is accepted
    /// rather than answered with a second one, so two users asking each other at once end as friends.
    /// </summary>
    public static FriendRequestOutcome DecideSend(Guid senderId, PairState state) =>
        !state.OtherExists ? FriendRequestOutcome.UserNotFound
        : state.Blocked ? FriendRequestOutcome.Blocked
        : state.Friends ? FriendRequestOutcome.AlreadyFriends
        : state.Pending is null ? FriendRequestOutcome.Created
        : state.Pending.SenderId == senderId ? FriendRequestOutcome.AlreadyPending
        : FriendRequestOutcome.AcceptedTheirs;

    /// <summary>The recipient accepts or declines; only the sender cancels. Anyone else is told the request does not exist.</summary>
    public static bool MayResolve(FriendRequestAction action, Guid actorId, FriendRequestRecord request) =>
        action == FriendRequestAction.Cancel ? request.SenderId == actorId : request.RecipientId == actorId;

    /// <summary>The event a resolution records.</summary>
    public static string EventType(FriendRequestAction action) => action switch
    {
        FriendRequestAction.Accept => Events.DomainEventTypes.FriendAccepted,
        FriendRequestAction.Decline => Events.DomainEventTypes.FriendDeclined,
        _ => Events.DomainEventTypes.FriendCancelled,
    };

    /// <summary>The pair in a fixed order, so a friendship or a pending request is one row whichever way it was made.</summary>
    public static (Guid Low, Guid High) Pair(Guid a, Guid b) => a.CompareTo(b) < 0 ? (a, b) : (b, a);

    /// <summary>A 64-bit key for the pair, to serialize the changes to one pair (PostgreSQL's advisory lock); a collision only serializes more.</summary>
    public static long PairLockKey(Guid a, Guid b)
    {
        var (low, high) = Pair(a, b);
        Span<byte> bytes = stackalloc byte[32];
        low.TryWriteBytes(bytes);
        high.TryWriteBytes(bytes[16..]);
        return BitConverter.ToInt64(System.Security.Cryptography.SHA256.HashData(bytes));
    }
}
