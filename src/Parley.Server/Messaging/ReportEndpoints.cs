using Microsoft.Extensions.Options;
using Parley.Core.Errors;
using Parley.Core.Events;
using Parley.Core.Membership;
using Parley.Core.Messaging;
using Parley.Core.Persistence;
using Parley.Core.Ports;
using Parley.Server.Auth;
using Parley.Server.Contracts;
using Parley.Server.Conversations;
using Parley.Server.Hosting;
using Parley.Server.Http;

namespace Parley.Server.Messaging;

/// <summary>
/// Reports (M9): a member reports a message with a reason; the conversation's moderators and the server admins
/// (<c>Parley:Admins</c>) see the queue and resolve a report with an action. A report is written directly (only
/// moderators see it); what a resolution does to others goes the usual way: a delete through the log, a removal
/// through the membership change.
/// </summary>
public static class ReportEndpoints
{
    public sealed record ReportBody(string Reason);

    public sealed record ResolveBody(string Action);

    public static void MapReportEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapPost("/api/v1/messages/{id}/reports", ReportAsync).RequireAuthorization().WithTags("Moderation").Accepts<ReportBody>("application/json")
            .Produces<ReportView>(StatusCodes.Status201Created).Produces<ReportView>().WithName("reportMessage")
            .WithErrors(ErrorCodes.MessageNotFound, ErrorCodes.MessageDeleted, ErrorCodes.RateLimited);
        var moderation = app.MapGroup("/api/v1/moderation/reports").RequireAuthorization().WithTags("Moderation");
        moderation.MapGet("/", ListAsync).Produces<ReportPageView>().WithName("listReports")
            .WithErrors(ErrorCodes.NotConversationMember, ErrorCodes.ConversationNotFound, ErrorCodes.ForbiddenRole)
            .WithQuery("status", "string", "open (the default) or resolved.")
            .WithQuery("conversationId", "string", "Only this conversation's reports; you must moderate it (or be a server admin).")
            .WithPaging();
        moderation.MapPost("/{id}/resolve", ResolveAsync).Accepts<ResolveBody>("application/json").Produces<ReportResolutionView>().WithName("resolveReport")
            .WithErrors(ErrorCodes.ReportNotFound, ErrorCodes.ReportAlreadyResolved, ErrorCodes.ForbiddenRole, ErrorCodes.ConversationInactive,
                ErrorCodes.RateLimited, ErrorCodes.EnqueueFailed);
    }

    /// <summary>201 with a new report; 200 with the reporter's open report on this message when there is one.</summary>
    private static async Task<IResult> ReportAsync(string id, HttpRequest request, IMessageStore messages, IReportStore reports, MembershipCache membership,
        SendRateLimiter rateLimiter, TimeProvider time, CancellationToken ct)
    {
        var me = CurrentUser.Id(request.HttpContext.User);
        var messageId = JsonRequest.RouteId(id, "messageId");
        rateLimiter.Acquire(me);
        var body = await JsonRequest.ReadAsync(request, ct);
        var reason = body.RequireString("reason", MessageChangeRequest.MaxReasonLength).Trim();
        var message = await messages.GetMessageAsync(messageId, ct) ?? throw Errors.MessageNotFound(messageId).ToException();
        await membership.RequireMessageAccessAsync(message.ConversationId, messageId, me, ct);
        if (message.Deleted)
        {
            throw Errors.MessageDeleted(messageId).ToException();
        }

        var now = time.GetUtcNow();
        var (report, created) = await reports.CreateAsync(new ReportRecord(Guid.CreateVersion7(now), message.Id, message.ConversationId, me, reason, now), EventContext.New(me), ct);
        return Results.Json(ReportView.From(report), statusCode: created ? StatusCodes.Status201Created : StatusCodes.Status200OK);
    }

    private static async Task<IResult> ListAsync(HttpRequest request, IReportStore reports, MembershipCache membership, ServerAdmins admins, IOptions<LimitsOptions> limits,
        CancellationToken ct)
    {
        var me = CurrentUser.Id(request.HttpContext.User);
        var status = JsonRequest.QueryOneOf(request, "status", ReportStatuses.All) ?? ReportStatuses.Open;
        var conversationId = JsonRequest.QueryString(request, "conversationId") is { } raw ? JsonRequest.RouteId(raw, "conversationId") : (Guid?)null;
        var cursor = JsonRequest.QueryCursor(request, "cursor");
        var limit = JsonRequest.QueryPageSize(request, "limit", limits.Value);
        var admin = await admins.IsAdminAsync(me, ct);
        if (conversationId is { } named && !admin)
        {
            await membership.RequireAsync(named, me, ConversationAction.ModerateReports, ct);
        }

        var page = await reports.ListAsync(new ReportQuery(status, limit) { ConversationId = conversationId, ModeratorId = admin ? null : me, After = cursor }, ct);
        return Results.Ok(new ReportPageView([.. page.Items.Select(i => ReportView.From(i.Report, i.Message))], page.Next?.Encode()));
    }

    /// <summary>
    /// The action first, then the resolution: a refused action (a moderator may not remove an admin, the conversation is
    /// archived) leaves the report open. Someone who may not see the conversation is told the report does not exist.
    /// </summary>
    private static async Task<IResult> ResolveAsync(string id, HttpRequest request, IReportStore reports, IMessageStore messages, MembershipCache membership,
        MembershipChanges changes, MessageIngress ingress, ServerAdmins admins, TimeProvider time, CancellationToken ct)
    {
        var me = CurrentUser.Id(request.HttpContext.User);
        var reportId = JsonRequest.RouteId(id, "reportId");
        var body = await JsonRequest.ReadAsync(request, ct);
        var action = body.RequireString("action", 64);
        if (!ReportActions.All.Contains(action, StringComparer.Ordinal))
        {
            throw Errors.InvalidValue("action", $"must be one of: {string.Join(", ", ReportActions.All)}").ToException();
        }

        var report = await reports.GetAsync(reportId, ct) ?? throw Errors.ReportNotFound(reportId).ToException();
        var admin = await admins.IsAdminAsync(me, ct);
        if (!admin)
        {
            ConversationAccess access;
            try
            {
                access = await membership.RequireMemberAsync(report.ConversationId, me, ct);
            }
            catch (ParleyException)
            {
                throw Errors.ReportNotFound(reportId).ToException();
            }

            if (MembershipPlanner.Refuse(access.Conversation, access.Role, ConversationAction.ModerateReports) is { } refused)
            {
                throw refused.ToException();
            }
        }

        if (report.Status != ReportStatuses.Open)
        {
            throw Errors.ReportAlreadyResolved(reportId, report.Action).ToException();
        }

        ChangeAck? change = null;
        switch (action)
        {
            case ReportActions.DeleteMessage:
                change = await ingress.ModerationDeleteAsync(me, report.MessageId, $"report:{reportId:N}", ct);
                break;
            case ReportActions.RemoveMember:
                var sender = (await messages.GetMessageAsync(report.MessageId, ct) ?? throw Errors.ReportNotFound(reportId).ToException()).SenderId;
                try
                {
                    await changes.ApplyAsync(report.ConversationId, new RemoveMemberCommand(me, sender) { AsServerAdmin = admin }, ct);
                }
                catch (ParleyException e) when (e.Error.Code == ErrorCodes.MemberNotFound)
                {
                    // The sender is already gone (left, or removed by someone else): what the action asks for holds.
                }

                break;
        }

        var result = await reports.ResolveAsync(reportId, me, action, time.GetUtcNow(), EventContext.New(me), ct);
        return result.Outcome switch
        {
            ReportResolution.Resolved => Results.Ok(new ReportResolutionView(ReportView.From(result.Report!), result.ResolvedCount, change)),
            ReportResolution.AlreadyResolved => throw Errors.ReportAlreadyResolved(reportId, result.Report?.Action).ToException(),
            _ => throw Errors.ReportNotFound(reportId).ToException(),
        };
    }
}
