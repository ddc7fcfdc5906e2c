using System.Text.Json.Serialization;
using Parley.Core.Ports;

namespace Parley.Server.Contracts;

/// <summary>
/// A user in search results and the social lists: never the email, except on the search result found by that exact
/// address (<c>email</c> is then present).
/// </summary>
public sealed record SocialUserView(Guid UserId, string Username, string DisplayName, string? AvatarUrl, DateTimeOffset CreatedAt,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Email = null)
{
    public static SocialUserView From(UserProfile user) => new(user.Id, user.Username, user.DisplayName, user.AvatarUrl, user.CreatedAt, user.Email);
}

public sealed record UserSearchPageView(IReadOnlyList<SocialUserView> Items, string? NextCursor);

public static class FriendRequestStatuses
{
    public const string Pending = "pending";
    public const string Accepted = "accepted";
    public const string Declined = "declined";
    public const string Cancelled = "cancelled";
}

/// <summary>A friend request; <c>user</c> is the other party from where the reader stands (in a realtime event, the user who acted).</summary>
public sealed record FriendRequestView(Guid Id, Guid SenderId, Guid RecipientId, string Status, DateTimeOffset CreatedAt, SocialUserView? User)
{
    public static FriendRequestView From(FriendRequestRecord request, string status, UserProfile? user) =>
        new(request.Id, request.SenderId, request.RecipientId, status, request.CreatedAt, user is null ? null : SocialUserView.From(user));
}

public sealed record FriendRequestListView(IReadOnlyList<FriendRequestView> Items, string? NextCursor);

public sealed record FriendView(SocialUserView User, DateTimeOffset Since);

public sealed record FriendListView(IReadOnlyList<FriendView> Items, string? NextCursor);

public sealed record BlockView(SocialUserView User, DateTimeOffset BlockedAt);

public sealed record BlockListView(IReadOnlyList<BlockView> Items, string? NextCursor);

/// <summary>The <c>friendRemoved</c> event: <c>userId</c> is the user who ended the friendship.</summary>
public sealed record FriendRemovedView(Guid UserId);
