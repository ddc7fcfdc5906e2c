using Microsoft.Extensions.Options;
using Parley.Core.Errors;
using Parley.Core.Events;
using Parley.Core.Persistence;
using Parley.Core.Ports;
using Parley.Core.Validation;
using Parley.Hosting;
using Parley.Server.Auth;
using Parley.Server.Contracts;
using Parley.Server.Hosting;
using Parley.Server.Http;

namespace Parley.Server.Social;

/// <summary>User search (M2), friends and blocks (M3). The rules are <see cref="SocialRules"/>'s; this maps them to HTTP and realtime.</summary>
public static class SocialEndpoints
{
    public sealed record UserIdBody(Guid UserId);

    public static void MapSocialEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/v1/users", SearchAsync).RequireAuthorization().WithTags("Users").Produces<UserSearchPageView>()
            .WithName("searchUsers").WithErrors(ErrorCodes.QueryTooShort, ErrorCodes.FieldTooLong, ErrorCodes.InvalidFieldValue, ErrorCodes.InvalidFieldType)
            .WithQuery("query", "string", $"A username or display-name prefix (case and accents ignored, at least {SearchRules.MinQueryLength} characters) or an exact email address.")
            .WithPaging();

        var friends = app.MapGroup("/api/v1/friends").RequireAuthorization().WithTags("Friends");
        friends.MapPost("/requests", SendRequestAsync).Accepts<UserIdBody>("application/json")
            .Produces<FriendRequestView>(StatusCodes.Status201Created).Produces<FriendRequestView>()
            .WithName("sendFriendRequest").WithErrors(ErrorCodes.UserNotFound, ErrorCodes.UserBlocked, ErrorCodes.AlreadyFriends);
        friends.MapGet("/requests", ListRequestsAsync).Produces<FriendRequestListView>().WithName("listFriendRequests")
            .WithErrors(ErrorCodes.InvalidFieldValue, ErrorCodes.InvalidFieldType)
            .WithQuery("direction", "string", "incoming (the default: requests to you) or outgoing (requests you sent).").WithPaging();
        friends.MapPost("/requests/{id}/accept", AcceptAsync).Produces<FriendRequestView>()
            .WithName("acceptFriendRequest").WithErrors(ErrorCodes.InvalidFieldValue, ErrorCodes.FriendRequestNotFound);
        friends.MapPost("/requests/{id}/decline", DeclineAsync).Produces<FriendRequestView>()
            .WithName("declineFriendRequest").WithErrors(ErrorCodes.InvalidFieldValue, ErrorCodes.FriendRequestNotFound);
        friends.MapDelete("/requests/{id}", CancelAsync).Produces(StatusCodes.Status204NoContent)
            .WithName("cancelFriendRequest").WithErrors(ErrorCodes.InvalidFieldValue, ErrorCodes.FriendRequestNotFound);
        friends.MapGet("/", ListFriendsAsync).Produces<FriendListView>().WithName("listFriends")
            .WithErrors(ErrorCodes.InvalidFieldValue, ErrorCodes.InvalidFieldType).WithPaging();
        friends.MapDelete("/{userId}", RemoveFriendAsync).Produces(StatusCodes.Status204NoContent)
            .WithName("removeFriend").WithErrors(ErrorCodes.InvalidFieldValue);

        var blocks = app.MapGroup("/api/v1/blocks").RequireAuthorization().WithTags("Blocks");
        blocks.MapPost("/", BlockAsync).Accepts<UserIdBody>("application/json")
            .Produces<BlockView>(StatusCodes.Status201Created).Produces<BlockView>()
            .WithName("blockUser").WithErrors(ErrorCodes.UserNotFound);
        blocks.MapGet("/", ListBlocksAsync).Produces<BlockListView>().WithName("listBlocks")
            .WithErrors(ErrorCodes.InvalidFieldValue, ErrorCodes.InvalidFieldType).WithPaging();
        blocks.MapDelete("/{userId}", UnblockAsync).Produces(StatusCodes.Status204NoContent)
            .WithName("unblockUser").WithErrors(ErrorCodes.InvalidFieldValue);
    }

    private static async Task<IResult> SearchAsync(HttpRequest request, IUserStore users, IOptions<LimitsOptions> limits, CancellationToken ct)
    {
        var me = CurrentUser.Id(request.HttpContext.User);
        var query = SearchRules.Parse(request.Query["query"].ToString());
        var (cursor, limit) = Paged(request, limits.Value);
        var page = await users.SearchUsersAsync(me, query, cursor, limit, ct);
        return Results.Ok(new UserSearchPageView([.. page.Items.Select(SocialUserView.From)], page.Next?.Encode()));
    }

    /// <summary>
    /// 201 with a new request; 200 with the pending one when the caller had already asked; 200 with the other user's
    /// request, accepted, when they had asked first.
    /// </summary>
    private static async Task<IResult> SendRequestAsync(HttpRequest request, ISocialStore social, IUserStore users, IRealtimeEvents realtimeEvents, TimeProvider time,
        CancellationToken ct)
    {
        var me = CurrentUser.Id(request.HttpContext.User);
        var other = (await JsonRequest.ReadAsync(request, ct)).RequireGuid("userId");
        SocialRules.RequireOther(me, other);
        var now = StoreTime.Truncate(time.GetUtcNow());
        var result = await social.SendFriendRequestAsync(new FriendRequestRecord(Guid.CreateVersion7(now), me, other, now), EventContext.New(me), ct);
        switch (result.Outcome)
        {
            case FriendRequestOutcome.UserNotFound:
                throw Errors.UserNotFound(other).ToException();
            case FriendRequestOutcome.Blocked:
                throw Errors.UserBlocked(other).ToException();
            case FriendRequestOutcome.AlreadyFriends:
                throw Errors.AlreadyFriends(other).ToException();
            case FriendRequestOutcome.AlreadyPending:
                return Results.Ok(FriendRequestView.From(result.Request!, FriendRequestStatuses.Pending, await ProfileAsync(users, other, ct)));
        }

        var created = result.Outcome == FriendRequestOutcome.Created;
        var (status, realtime) = created
            ? (FriendRequestStatuses.Pending, (Func<FriendRequestView, RealtimeEvent>)(v => new FriendRequestEvent(v)))
            : (FriendRequestStatuses.Accepted, v => new FriendRequestAcceptedEvent(v));
        await realtimeEvents.PublishAsync(new AddressedEvent(realtime(FriendRequestView.From(result.Request!, status, await ProfileAsync(users, me, ct))), [other]), ct);
        var view = FriendRequestView.From(result.Request!, status, await ProfileAsync(users, other, ct));
        return created ? Results.Created($"/api/v1/friends/requests/{view.Id}", view) : Results.Ok(view);
    }

    private static async Task<IResult> ListRequestsAsync(HttpRequest request, ISocialStore social, IOptions<LimitsOptions> limits, CancellationToken ct)
    {
        var me = CurrentUser.Id(request.HttpContext.User);
        var direction = request.Query["direction"].ToString() switch
        {
            "" or "incoming" => FriendRequestDirection.Incoming,
            "outgoing" => FriendRequestDirection.Outgoing,
            _ => throw Errors.InvalidValue("direction", "must be 'incoming' or 'outgoing'").ToException(),
        };
        var (cursor, limit) = Paged(request, limits.Value);
        var page = await social.ListFriendRequestsAsync(me, direction, cursor, limit, ct);
        return Results.Ok(new FriendRequestListView([.. page.Items.Select(e => FriendRequestView.From(e.Request, FriendRequestStatuses.Pending, e.Other))], page.Next?.Encode()));
    }

    private static Task<IResult> AcceptAsync(string id, HttpContext context, ISocialStore social, IUserStore users, IRealtimeEvents realtimeEvents, TimeProvider time, CancellationToken ct) =>
        ResolveAsync(id, FriendRequestAction.Accept, context, social, users, realtimeEvents, time, ct);

    private static Task<IResult> DeclineAsync(string id, HttpContext context, ISocialStore social, IUserStore users, IRealtimeEvents realtimeEvents, TimeProvider time, CancellationToken ct) =>
        ResolveAsync(id, FriendRequestAction.Decline, context, social, users, realtimeEvents, time, ct);

    private static Task<IResult> CancelAsync(string id, HttpContext context, ISocialStore social, IUserStore users, IRealtimeEvents realtimeEvents, TimeProvider time, CancellationToken ct) =>
        ResolveAsync(id, FriendRequestAction.Cancel, context, social, users, realtimeEvents, time, ct);

    /// <summary>A request that is not pending, or not the caller's to act on, is 404 either way: a stranger learns nothing of it.</summary>
    private static async Task<IResult> ResolveAsync(string id, FriendRequestAction action, HttpContext context, ISocialStore social, IUserStore users,
        IRealtimeEvents realtimeEvents, TimeProvider time, CancellationToken ct)
    {
        var me = CurrentUser.Id(context.User);
        var requestId = JsonRequest.RouteId(id, "requestId");
        var resolved = await social.ResolveFriendRequestAsync(requestId, me, action, StoreTime.Truncate(time.GetUtcNow()), EventContext.New(me), ct)
            ?? throw Errors.FriendRequestNotFound(requestId).ToException();
        var other = resolved.Other(me);
        var (status, realtime) = action switch
        {
            FriendRequestAction.Accept => (FriendRequestStatuses.Accepted, (Func<FriendRequestView, RealtimeEvent>)(v => new FriendRequestAcceptedEvent(v))),
            FriendRequestAction.Decline => (FriendRequestStatuses.Declined, v => new FriendRequestDeclinedEvent(v)),
            _ => (FriendRequestStatuses.Cancelled, v => new FriendRequestCancelledEvent(v)),
        };
        await realtimeEvents.PublishAsync(new AddressedEvent(realtime(FriendRequestView.From(resolved, status, await ProfileAsync(users, me, ct))), [other]), ct);
        return action == FriendRequestAction.Cancel
            ? Results.NoContent()
            : Results.Ok(FriendRequestView.From(resolved, status, await ProfileAsync(users, other, ct)));
    }

    private static async Task<IResult> ListFriendsAsync(HttpRequest request, ISocialStore social, IOptions<LimitsOptions> limits, CancellationToken ct)
    {
        var (cursor, limit) = Paged(request, limits.Value);
        var page = await social.ListFriendsAsync(CurrentUser.Id(request.HttpContext.User), cursor, limit, ct);
        return Results.Ok(new FriendListView([.. page.Items.Select(f => new FriendView(SocialUserView.From(f.User), f.Since))], page.Next?.Encode()));
    }

    /// <summary>Idempotent: 204 whether or not the two were friends; only an actual removal is recorded and told to the other user.</summary>
    private static async Task<IResult> RemoveFriendAsync(string userId, HttpContext context, ISocialStore social, IRealtimeEvents realtimeEvents, TimeProvider time, CancellationToken ct)
    {
        var me = CurrentUser.Id(context.User);
        var friend = JsonRequest.RouteId(userId, "userId");
        if (await social.RemoveFriendAsync(me, friend, StoreTime.Truncate(time.GetUtcNow()), EventContext.New(me), ct))
        {
            await realtimeEvents.PublishAsync(new AddressedEvent(new FriendRemovedEvent(new FriendRemovedView(me)), [friend]), ct);
        }

        return Results.NoContent();
    }

    /// <summary>201 for a new block, 200 when it was already in place. The blocked user is told nothing.</summary>
    private static async Task<IResult> BlockAsync(HttpRequest request, ISocialStore social, IUserStore users, SocialGate gate, TimeProvider time, CancellationToken ct)
    {
        var me = CurrentUser.Id(request.HttpContext.User);
        var other = (await JsonRequest.ReadAsync(request, ct)).RequireGuid("userId");
        SocialRules.RequireOther(me, other);
        var result = await social.BlockAsync(me, other, StoreTime.Truncate(time.GetUtcNow()), EventContext.New(me), ct);
        if (result.Outcome == BlockOutcome.UserNotFound)
        {
            throw Errors.UserNotFound(other).ToException();
        }

        await gate.ForgetEverywhereAsync(me, other);
        var view = new BlockView(SocialUserView.From(await ProfileAsync(users, other, ct)), result.BlockedAt);
        return result.Outcome == BlockOutcome.Blocked ? Results.Created($"/api/v1/blocks/{other}", view) : Results.Ok(view);
    }

    private static async Task<IResult> ListBlocksAsync(HttpRequest request, ISocialStore social, IOptions<LimitsOptions> limits, CancellationToken ct)
    {
        var (cursor, limit) = Paged(request, limits.Value);
        var page = await social.ListBlocksAsync(CurrentUser.Id(request.HttpContext.User), cursor, limit, ct);
        return Results.Ok(new BlockListView([.. page.Items.Select(b => new BlockView(SocialUserView.From(b.User), b.BlockedAt))], page.Next?.Encode()));
    }

    /// <summary>Idempotent like removing a friend: 204 either way.</summary>
    private static async Task<IResult> UnblockAsync(string userId, HttpContext context, ISocialStore social, SocialGate gate, TimeProvider time, CancellationToken ct)
    {
        var me = CurrentUser.Id(context.User);
        var other = JsonRequest.RouteId(userId, "userId");
        await social.UnblockAsync(me, other, StoreTime.Truncate(time.GetUtcNow()), EventContext.New(me), ct);
        await gate.ForgetEverywhereAsync(me, other);
        return Results.NoContent();
    }

    /// <summary>The <c>cursor</c> and <c>limit</c> of a list by username: the limit defaults and is capped as for every list.</summary>
    private static (UsernameCursor? Cursor, int Limit) Paged(HttpRequest request, LimitsOptions limits)
    {
        var limit = JsonRequest.QueryPageSize(request, "limit", limits);
        var rawCursor = request.Query["cursor"].ToString();
        var cursor = UsernameCursor.TryDecode(rawCursor);
        return cursor is null && rawCursor.Length > 0 ? throw Errors.InvalidValue("cursor", "is not a cursor this API returned").ToException() : (cursor, limit);
    }

    /// <summary>A user the store just acted on; one deleted since reads as gone.</summary>
    private static async Task<UserProfile> ProfileAsync(IUserStore users, Guid userId, CancellationToken ct) =>
        UserProfile.Of(await users.GetUserAsync(userId, ct) ?? throw Errors.UserNotFound(userId).ToException());
}

public static class SocialServiceCollectionExtensions
{
    /// <summary>The social settings, the gate the send path and direct creation ask, and the search-key backfill at start.</summary>
    public static WebApplicationBuilder AddParleySocial(this WebApplicationBuilder builder)
    {
        builder.Services.AddValidatedSettings<SocialOptions>(builder.Configuration, SocialOptions.Section, o => o.Validate());
        builder.Services.AddSingleton<SocialGate>();
        builder.Services.AddHostedService<BlockListener>();
        builder.Services.AddHostedService<SearchKeyBackfill>();
        return builder;
    }

    /// <summary>One line for the direct-conversation create path: 409 USER_BLOCKED or 403 FRIENDSHIP_REQUIRED before anything is created.</summary>
    public static Task RequireDirectAllowedAsync(this HttpContext context, Guid me, Guid other, CancellationToken ct) =>
        context.RequestServices.GetRequiredService<SocialGate>().RequireDirectAllowedAsync(me, other, ct);
}

/// <summary>Starts listening for the other nodes' blocks and unblocks as the host starts (after the engines connected).</summary>
public sealed class BlockListener(SocialGate gate) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        gate.ListenToOtherNodes();
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
