using Microsoft.Extensions.Options;
using Parley.Core.Errors;
using Parley.Core.Ports;
using Parley.Server.Auth;
using Parley.Server.Contracts;
using Parley.Server.Conversations;
using Parley.Server.Hosting;
using Parley.Server.Http;

namespace Parley.Server.Messaging;

/// <summary>
/// Scheduled sends (M8) are made by POST /conversations/{id}/messages with <c>sendAt</c>; these list, read and cancel
/// them. Only the sender sees their own: anyone else's id is "not found".
/// </summary>
public static class ScheduledEndpoints
{
    public static void MapScheduledEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/v1/conversations/{id}/scheduled", ListAsync).RequireAuthorization().WithTags("Messages").Produces<ScheduledPageView>()
            .WithName("listScheduledMessages").WithErrors(ErrorCodes.NotConversationMember, ErrorCodes.ConversationNotFound).WithPaging();
        var scheduled = app.MapGroup("/api/v1/scheduled/{id}").RequireAuthorization().WithTags("Messages");
        scheduled.MapGet("/", GetAsync).Produces<ScheduledMessageView>().WithName("getScheduledMessage").WithErrors(ErrorCodes.ScheduledNotFound);
        scheduled.MapDelete("/", CancelAsync).Produces(StatusCodes.Status204NoContent).WithName("cancelScheduledMessage")
            .WithErrors(ErrorCodes.ScheduledNotFound, ErrorCodes.ScheduledAlreadySent);
    }

    /// <summary>The caller's pending scheduled messages in the conversation, soonest first.</summary>
    private static async Task<IResult> ListAsync(string id, HttpRequest request, ScheduledSends scheduled, MembershipCache membership, IOptions<LimitsOptions> limits,
        CancellationToken ct)
    {
        var me = CurrentUser.Id(request.HttpContext.User);
        var conversationId = JsonRequest.RouteId(id, "conversationId");
        var limit = JsonRequest.QueryPageSize(request, "limit", limits.Value);
        var cursor = JsonRequest.QueryCursor(request, "cursor");
        await membership.RequireMemberAsync(conversationId, me, ct);
        var page = await scheduled.ListAsync(me, conversationId, cursor, limit, ct);
        return Results.Ok(new ScheduledPageView([.. page.Items.Select(ScheduledMessageView.From)], page.Next?.Encode()));
    }

    private static async Task<IResult> GetAsync(string id, HttpContext context, IScheduledMessageStore store, CancellationToken ct)
    {
        var scheduledId = JsonRequest.RouteId(id, "scheduledId");
        return await store.GetAsync(scheduledId, ct) is { } found && found.SenderId == CurrentUser.Id(context.User)
            ? Results.Ok(ScheduledMessageView.From(found))
            : throw Errors.ScheduledNotFound(scheduledId).ToException();
    }

    /// <summary>204 when it will not be sent: cancelled now, or before, or failed at its time.</summary>
    private static async Task<IResult> CancelAsync(string id, HttpContext context, ScheduledSends scheduled, CancellationToken ct)
    {
        await scheduled.CancelAsync(CurrentUser.Id(context.User), JsonRequest.RouteId(id, "scheduledId"), ct);
        return Results.NoContent();
    }
}
