using Parley.Core.Ports;

namespace Parley.Sqlite.Internal;

/// <summary>A user as others see them, joined into the search and the social lists; <c>At</c> is the list's own time (friends since, blocked at, requested at).</summary>
internal class SqliteProfileRow
{
    /// <summary>The columns of users <c>u</c> this row reads; a query adds its own <c>At</c> (and the search its <c>Email</c>).</summary>
    public const string Columns = "u.id AS Id, u.username AS Username, u.display_name AS DisplayName, u.avatar_url AS AvatarUrl, u.created_at AS CreatedAt";

    public string Id { get; set; } = "";

    public string Username { get; set; } = "";

    public string DisplayName { get; set; } = "";

    public string? AvatarUrl { get; set; }

    public long CreatedAt { get; set; }

    public string? Email { get; set; }

    public long At { get; set; }

    public DateTimeOffset AtTime => SqliteTime.FromMs(At);

    public UserProfile ToProfile() => new(Guid.Parse(Id), Username, DisplayName, AvatarUrl, SqliteTime.FromMs(CreatedAt)) { Email = Email };
}

/// <summary>A pending request (its time in <c>At</c>) with the other user's profile.</summary>
internal sealed class SqliteRequestRow : SqliteProfileRow
{
    public const string RequestColumns = "r.id AS RequestId, r.sender_id AS SenderId, r.recipient_id AS RecipientId, r.created_at AS At";

    public string RequestId { get; set; } = "";

    public string SenderId { get; set; } = "";

    public string RecipientId { get; set; } = "";

    public FriendRequestRecord ToRequest() => new(Guid.Parse(RequestId), Guid.Parse(SenderId), Guid.Parse(RecipientId), AtTime);
}
