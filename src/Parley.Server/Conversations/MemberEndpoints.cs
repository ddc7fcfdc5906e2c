using Microsoft.Extensions.Options;
using Parley.Core.Errors;
using Parley.Core.Membership;
using Parley.Core.Ports;
using Parley.Core.Validation;
using Parley.Server.Auth;
using Parley.Server.Contracts;
using Parley.Server.Hosting;
using Parley.Server.Http;

namespace Parley.Server.Conversations;

/// <summary>
/// Managing a conversation (M4, M5): its fields and status, its members and their roles, joining public channels.
/// Every decision is the membership planner's, inside the store transaction (docs/permissions.md).
/// </summary>
public static class MemberEndpoints
{
    public sealed record EditConversationBody(
        string? Title, string? Description, string? AvatarUrl, System.Text.Json.JsonElement? Metadata, string? Visibility, string? Status, int? MessageTtlSeconds);

    public sealed record AddMembersBody(IReadOnlyList<Guid> UserIds, string? Role, string? Side);

    public sealed record RoleBody(string Role);

    public sealed record UserIdBody(Guid UserId);

    private static readonly string[] ManageErrors =
        [ErrorCodes.NotConversationMember, ErrorCodes.ConversationNotFound, ErrorCodes.ForbiddenRole];

    public static void MapMemberEndpoints(this RouteGroupBuilder group)
    {
        group.MapPatch("/{id}", EditAsync).Accepts<EditConversationBody>("application/json").Produces<ConversationView>()
            .WithName("updateConversation").WithErrors(ManageErrors);
        group.MapPost("/{id}/join", JoinAsync).Produces<MembershipChangeView>()
            .WithName("joinChannel").WithErrors(ErrorCodes.ConversationNotFound, ErrorCodes.Forbidden, ErrorCodes.ConversationInactive, ErrorCodes.MemberLimitReached);
        group.MapPost("/{id}/members", AddAsync).Accepts<AddMembersBody>("application/json").Produces<MembershipChangeView>()
            .WithName("addMembers").WithErrors([.. ManageErrors, ErrorCodes.InvalidRecipient, ErrorCodes.MemberLimitReached]);
        group.MapPatch("/{id}/members/{userId}", ChangeRoleAsync).Accepts<RoleBody>("application/json").Produces<MembershipChangeView>()
            .WithName("changeMemberRole").WithErrors([.. ManageErrors, ErrorCodes.MemberNotFound]);
        group.MapDelete("/{id}/members/{userId}", RemoveAsync).Produces<MembershipChangeView>()
            .WithName("removeMember").WithErrors([.. ManageErrors, ErrorCodes.MemberNotFound]);
        group.MapPost("/{id}/leave", LeaveAsync).Produces<MembershipChangeView>()
            .WithName("leaveConversation").WithErrors(ManageErrors);
        group.MapPost("/{id}/owner", TransferAsync).Accepts<UserIdBody>("application/json").Produces<MembershipChangeView>()
            .WithName("transferOwnership").WithErrors([.. ManageErrors, ErrorCodes.MemberNotFound]);
    }

    public static void MapChannelEndpoints(this IEndpointRouteBuilder app) =>
        app.MapGet("/api/v1/channels", SearchChannelsAsync).RequireAuthorization().WithTags("Conversations")
            .Produces<ChannelPageView>().WithName("searchChannels")
            .WithQuery("query", "string", "Title prefix, case-insensitive; all public channels when absent.")
            .WithPaging();

    /// <summary>PATCH semantics: an absent field stays; null clears title, description, avatarUrl or metadata.</summary>
    private static async Task<IResult> EditAsync(string id, HttpRequest request, MembershipChanges changes, IConversationStore store, IOptions<LimitsOptions> limits, TimeProvider time, CancellationToken ct)
    {
        var me = CurrentUser.Id(request.HttpContext.User);
        var conversationId = JsonRequest.RouteId(id, "conversationId");
        var edit = ConversationFields.Read(await JsonRequest.ReadAsync(request, ct), limits.Value);
        var change = await changes.ApplyAsync(conversationId, new EditConversationCommand(me, edit), ct);
        var participant = await store.GetParticipantAsync(conversationId, me, ct);
        return Results.Ok(ConversationView.Own(change.Conversation, await store.GetMemberIdsAsync(conversationId, ct), participant, time.GetUtcNow()));
    }

    private static async Task<IResult> JoinAsync(string id, HttpContext context, MembershipChanges changes, IOptions<LimitsOptions> limits, CancellationToken ct) =>
        await ApplyAsync(changes, id, new JoinCommand(CurrentUser.Id(context.User), limits.Value.MaxGroupMembers), ct);

    private static async Task<IResult> AddAsync(string id, HttpRequest request, MembershipChanges changes, IUserStore users, IOptions<LimitsOptions> limits, CancellationToken ct)
    {
        var me = CurrentUser.Id(request.HttpContext.User);
        var body = await JsonRequest.ReadAsync(request, ct);
        var userIds = body.RequireGuidArray("userIds", limits.Value.MaxGroupMembers).Distinct().ToList();
        if (userIds.Count == 0)
        {
            throw Errors.InvalidRecipient("userIds names nobody to add").With("field", "userIds").ToException();
        }

        var role = body.Has("role") ? ConversationFields.OneOf(body, "role", ParticipantRoles.All).Value : ParticipantRoles.Member;
        var existing = await users.ExistingUsersAsync(userIds, ct);
        var unknown = userIds.Where(u => !existing.Contains(u)).ToList();
        if (unknown.Count > 0)
        {
            throw Errors.InvalidRecipient("Some userIds are not registered users").With("field", "userIds").With("unknownIds", unknown).ToException();
        }

        var side = body.Has("side") ? ConversationFields.OneOf(body, "side", MemberSides.All).Value : null;
        return await ApplyAsync(changes, id, new AddMembersCommand(me, userIds, role, limits.Value.MaxGroupMembers) { Side = side }, ct);
    }

    private static async Task<IResult> ChangeRoleAsync(string id, string userId, HttpRequest request, MembershipChanges changes, CancellationToken ct)
    {
        var me = CurrentUser.Id(request.HttpContext.User);
        var target = JsonRequest.RouteId(userId, "userId");
        var role = ConversationFields.OneOf(await JsonRequest.ReadAsync(request, ct), "role", ParticipantRoles.All);
        if (!role.IsSet)
        {
            throw Errors.MissingField("role").ToException();
        }

        return await ApplyAsync(changes, id, new ChangeRoleCommand(me, target, role.Value), ct);
    }

    /// <summary>Removing yourself is leaving (ownership passes on as it does for a leave).</summary>
    private static async Task<IResult> RemoveAsync(string id, string userId, HttpContext context, MembershipChanges changes, CancellationToken ct)
    {
        var me = CurrentUser.Id(context.User);
        var target = JsonRequest.RouteId(userId, "userId");
        return await ApplyAsync(changes, id, target == me ? new LeaveCommand(me) : new RemoveMemberCommand(me, target), ct);
    }

    private static async Task<IResult> LeaveAsync(string id, HttpContext context, MembershipChanges changes, CancellationToken ct) =>
        await ApplyAsync(changes, id, new LeaveCommand(CurrentUser.Id(context.User)), ct);

    private static async Task<IResult> TransferAsync(string id, HttpRequest request, MembershipChanges changes, CancellationToken ct)
    {
        var me = CurrentUser.Id(request.HttpContext.User);
        var target = (await JsonRequest.ReadAsync(request, ct)).RequireGuid("userId");
        return await ApplyAsync(changes, id, new TransferOwnershipCommand(me, target), ct);
    }

    private static async Task<IResult> ApplyAsync(MembershipChanges changes, string id, MembershipCommand command, CancellationToken ct)
    {
        var conversationId = JsonRequest.RouteId(id, "conversationId");
        return Results.Ok(MembershipChangeView.From(conversationId, await changes.ApplyAsync(conversationId, command, ct)));
    }

    private static async Task<IResult> SearchChannelsAsync(HttpRequest request, IConversationStore store, IOptions<LimitsOptions> limits, CancellationToken ct)
    {
        var limit = JsonRequest.QueryPageSize(request, "limit", limits.Value);
        var query = TextRules.Require("query", request.Query["query"].ToString());
        if (query.Length > limits.Value.MaxTitleLength)
        {
            throw Errors.TooLong("query", limits.Value.MaxTitleLength, query.Length).ToException();
        }

        var cursor = JsonRequest.QueryCursor(request, "cursor");

        var page = await store.SearchChannelsAsync(query.Length == 0 ? null : query, cursor, limit, ct);
        return Results.Ok(new ChannelPageView([.. page.Items.Select(c => ConversationDetailsView.From(c.Conversation, c.MemberCount))], page.Next?.Encode()));
    }
}
