using Parley.Core.Ports;

namespace Parley.Postgres.Internal;

/// <summary>A user as others see them, joined into the search and the social lists; <c>At</c> is the list's own time (friends since, blocked at, requested at).</summary>
internal class PostgresProfileRow
{
    /// <summary>The columns of users <c>u</c> this row reads; a query adds its own <c>at</c> (and the search its <c>email</c>).</summary>
    public const string Columns = "u.id, u.username, u.display_name AS displayname, u.avatar_url AS avatarurl, u.created_at AS createdat";

    public Guid Id { get; set; }

    public string Username { get; set; } = "";

    public string DisplayName { get; set; } = "";

    public string? AvatarUrl { get; set; }

    public DateTime CreatedAt { get; set; }

    public string? Email { get; set; }

    public DateTime At { get; set; }

    public DateTimeOffset AtTime => PostgresRows.Utc(At);

    public UserProfile ToProfile() => new(Id, Username, DisplayName, AvatarUrl, PostgresRows.Utc(CreatedAt)) { Email = Email };
}

/// <summary>A pending request (its time in <c>at</c>) with the other user's profile.</summary>
internal sealed class PostgresRequestRow : PostgresProfileRow
{
    public const string RequestColumns = "r.id AS requestid, r.sender_id AS senderid, r.recipient_id AS recipientid, r.created_at AS at";

    public Guid RequestId { get; set; }

    public Guid SenderId { get; set; }

    public Guid RecipientId { get; set; }

    public FriendRequestRecord ToRequest() => new(RequestId, SenderId, RecipientId, AtTime);
}
