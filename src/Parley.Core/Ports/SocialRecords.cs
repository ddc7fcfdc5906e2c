namespace Parley.Core.Ports;

/// <summary>A user as other users may see them: never the password hash; the email only when a search matched it exactly.</summary>
public sealed record UserProfile(Guid Id, string Username, string DisplayName, string? AvatarUrl, DateTimeOffset CreatedAt)
{
    public string? Email { get; init; }

    /// <summary>The public part of an account (no email).</summary>
    public static UserProfile Of(UserRecord user) => new(user.Id, user.Username, user.DisplayName, user.AvatarUrl, user.CreatedAt);
}

/// <summary>One page of users (a search, friends, blocks, requests), ordered by username; <see cref="Next"/> is null on the last page.</summary>
public sealed record UsernamePage<T>(IReadOnlyList<T> Items, UsernameCursor? Next)
{
    /// <summary>A page from rows fetched in username order, <paramref name="limit"/> + 1 of them at most (<see cref="Paging.TrimProbe"/>).</summary>
    public static UsernamePage<T> From(List<T> rows, int limit, Func<T, string> username) =>
        new(rows, Paging.TrimProbe(rows, limit) ? new UsernameCursor(username(rows[^1])) : null);
}

/// <summary>Keyset cursor over usernames (unique, lower-case ASCII), opaque to clients.</summary>
public sealed record UsernameCursor(string AfterUsername)
{
    public string Encode() => Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(AfterUsername)).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    public static UsernameCursor? TryDecode(string? text)
    {
        if (string.IsNullOrEmpty(text) || text.Length > 64)
        {
            return null;
        }

        var base64 = text.Replace('-', '+').Replace('_', '/');
        base64 += new string('=', (4 - (base64.Length % 4)) % 4);
        var bytes = new byte[48];
        if (!Convert.TryFromBase64String(base64, bytes, out var written) || written == 0)
        {
            return null;
        }

        var username = System.Text.Encoding.UTF8.GetString(bytes, 0, written);
        return username.All(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '.' or '_' or '-') ? new UsernameCursor(username) : null;
    }
}

/// <summary>A pending friend request. Only pending ones are stored: accepting, declining or cancelling deletes it (its event stays).</summary>
public sealed record FriendRequestRecord(Guid Id, Guid SenderId, Guid RecipientId, DateTimeOffset CreatedAt)
{
    public Guid Other(Guid userId) => userId == SenderId ? RecipientId : SenderId;
}

public enum FriendRequestDirection
{
    Incoming,
    Outgoing,
}

/// <summary>What the recipient (accept, decline) or the sender (cancel) does with a pending request.</summary>
public enum FriendRequestAction
{
    Accept,
    Decline,
    Cancel,
}

/// <summary>What sending a friend request came to (<see cref="Persistence.SocialRules.DecideSend"/>).</summary>
public enum FriendRequestOutcome
{
    /// <summary>A new pending request.</summary>
    Created,

    /// <summary>The sender's own request was already pending: that one, unchanged.</summary>
    AlreadyPending,

    /// <summary>The other user had already asked: their request is accepted, and the two are friends.</summary>
    AcceptedTheirs,

    AlreadyFriends,

    /// <summary>One of the two blocked the other.</summary>
    Blocked,

    UserNotFound,
}

/// <summary>The outcome and the request it concerns (null for the refusals).</summary>
public sealed record FriendRequestResult(FriendRequestOutcome Outcome, FriendRequestRecord? Request);

/// <summary>What the store knows about two users, read in the transaction that acts on it.</summary>
public sealed record PairState(bool OtherExists, bool Blocked, bool Friends, FriendRequestRecord? Pending);

public sealed record FriendRequestEntry(FriendRequestRecord Request, UserProfile Other);

public sealed record FriendEntry(UserProfile User, DateTimeOffset Since);

public sealed record BlockEntry(UserProfile User, DateTimeOffset BlockedAt);

public enum BlockOutcome
{
    Blocked,
    AlreadyBlocked,
    UserNotFound,
}

/// <summary>
/// A block and what it took away in the same transaction: the friendship (if there was one) and the pending request
/// between the two (if any).
/// </summary>
public sealed record BlockResult(BlockOutcome Outcome, DateTimeOffset BlockedAt, bool FriendshipRemoved, FriendRequestRecord? RequestRemoved);
