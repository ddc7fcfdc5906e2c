using System.Buffers.Text;
using System.Security.Cryptography;
using Microsoft.Extensions.Options;
using Parley.Core.Errors;
using Parley.Core.Membership;
using Parley.Core.Ports;
using Parley.Server.Auth;
using Parley.Server.Contracts;
using Parley.Server.Hosting;
using Parley.Server.Http;

namespace Parley.Server.Conversations;

/// <summary>Invite codes (M5): admins make them, anyone holding one joins with it while it is usable.</summary>
public static class InviteEndpoints
{
    public sealed record CreateInviteBody(DateTimeOffset? ExpiresAt, int? MaxUses);

    /// <summary>Large enough that a code cannot be guessed (144 random bits), short enough for a link.</summary>
    private const int CodeBytes = 18;

    private const int MaxUsesLimit = 1_000_000;

    public static void MapInviteEndpoints(this RouteGroupBuilder conversations, IEndpointRouteBuilder app)
    {
        string[] manage = [ErrorCodes.NotConversationMember, ErrorCodes.ConversationNotFound, ErrorCodes.ForbiddenRole];
        conversations.MapPost("/{id}/invites", CreateAsync).Accepts<CreateInviteBody>("application/json")
            .Produces<InviteView>(StatusCodes.Status201Created).WithName("createInvite").WithErrors(manage);
        conversations.MapGet("/{id}/invites", ListAsync).Produces<List<InviteView>>().WithName("listInvites").WithErrors(manage);
        conversations.MapDelete("/{id}/invites/{code}", RevokeAsync).Produces<InviteView>().WithName("revokeInvite")
            .WithErrors([.. manage, ErrorCodes.InviteNotFound]);
        app.MapPost("/api/v1/invites/{code}/join", JoinAsync).RequireAuthorization().WithTags("Conversations")
            .Produces<MembershipChangeView>().WithName("joinByInvite")
            .WithErrors(ErrorCodes.InviteNotFound, ErrorCodes.InviteExpired, ErrorCodes.ConversationInactive, ErrorCodes.MemberLimitReached);
    }

    private static async Task<IResult> CreateAsync(string id, HttpRequest request, MembershipChanges changes, TimeProvider time, CancellationToken ct)
    {
        var me = CurrentUser.Id(request.HttpContext.User);
        var conversationId = JsonRequest.RouteId(id, "conversationId");
        var body = await JsonRequest.ReadAsync(request, ct);
        var expiresAt = body.OptionalTimestamp("expiresAt");
        if (expiresAt <= time.GetUtcNow())
        {
            throw Errors.InvalidValue("expiresAt", "must be in the future").ToException();
        }

        var maxUses = (int?)body.OptionalInt64("maxUses", 1, MaxUsesLimit);
        var code = Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(CodeBytes));
        var change = await changes.ApplyAsync(conversationId, new CreateInviteCommand(me, code, expiresAt, maxUses), ct);
        return Results.Created($"/api/v1/conversations/{conversationId}/invites", InviteView.From(change.Invite!, time.GetUtcNow()));
    }

    private static async Task<IResult> ListAsync(string id, HttpContext context, MembershipCache membership, IConversationStore store, TimeProvider time, CancellationToken ct)
    {
        var conversationId = JsonRequest.RouteId(id, "conversationId");
        await membership.RequireAsync(conversationId, CurrentUser.Id(context.User), ConversationAction.CreateInvites, ct);
        var now = time.GetUtcNow();
        return Results.Ok((await store.ListInvitesAsync(conversationId, ct)).Select(i => InviteView.From(i, now)).ToList());
    }

    private static async Task<IResult> RevokeAsync(string id, string code, HttpContext context, MembershipChanges changes, TimeProvider time, CancellationToken ct)
    {
        var conversationId = JsonRequest.RouteId(id, "conversationId");
        var change = await changes.ApplyAsync(conversationId, new RevokeInviteCommand(CurrentUser.Id(context.User), RouteCode(code)), ct);
        return Results.Ok(InviteView.From(change.Invite!, time.GetUtcNow()));
    }

    /// <summary>Joining twice is a no-op 200; the conversation comes from the code.</summary>
    private static async Task<IResult> JoinAsync(string code, HttpContext context, IConversationStore store, MembershipChanges changes, IOptions<LimitsOptions> limits, CancellationToken ct)
    {
        var invite = await store.GetInviteAsync(RouteCode(code), ct) ?? throw Errors.InviteNotFound().ToException();
        var change = await changes.ApplyAsync(invite.ConversationId, new JoinByInviteCommand(CurrentUser.Id(context.User), invite.Code, limits.Value.MaxGroupMembers), ct);
        return Results.Ok(MembershipChangeView.From(invite.ConversationId, change));
    }

    /// <summary>Something that cannot be a code this server made is simply not found (no hint about the format).</summary>
    private static string RouteCode(string code) =>
        code.Length is > 0 and <= 64 && code.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_') ? code : throw Errors.InviteNotFound().ToException();
}
