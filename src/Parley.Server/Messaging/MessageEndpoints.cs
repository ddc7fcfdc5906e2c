using Microsoft.Extensions.Options;
using Parley.Core.Errors;
using Parley.Core.Messaging;
using Parley.Core.Ports;
using Parley.Server.Auth;
using Parley.Server.Contracts;
using Parley.Server.Conversations;
using Parley.Server.Hosting;
using Parley.Server.Http;

namespace Parley.Server.Messaging;

public static class MessageEndpoints
{
    /// <param name="SendAt">Schedules the send for then instead of sending now: the answer is then a scheduled message (ScheduledMessageView), not a SendAck.</param>
    public sealed record SendMessageBody(string Content, string? Type, string? ClientMessageId, object? Metadata, Guid? ReplyTo, IReadOnlyList<Guid>? Mentions,
        DateTimeOffset? ExpiresAt, object? Poll, DateTimeOffset? SendAt);
    public sealed record ReadBody(long UpToSequence);

    public static void MapMessageEndpoints(this IEndpointRouteBuilder app)
    {
        var conversations = app.MapGroup("/api/v1/conversations/{id}").RequireAuthorization().WithTags("Messages");
        conversations.MapPost("/messages", SendAsync).Accepts<SendMessageBody>("application/json").Produces<SendAck>(StatusCodes.Status202Accepted)
            .WithName("sendMessage").WithErrors(ErrorCodes.NotConversationMember, ErrorCodes.ConversationNotFound, ErrorCodes.ConversationInactive,
                ErrorCodes.ForbiddenRole, ErrorCodes.RateLimited, ErrorCodes.EnqueueFailed)
            .WithErrors(ErrorCodes.UserBlocked);
        conversations.MapGet("/messages", HistoryAsync).Produces<MessagePageView>().WithName("getHistory")
            .WithErrors(ErrorCodes.NotConversationMember, ErrorCodes.ConversationNotFound, ErrorCodes.MessageNotFound)
            .WithQuery("before", "integer", "Only messages with a sequence below this (exclusive). Without after, the page is the newest messages below it.", minimum: 1, maximum: long.MaxValue)
            .WithQuery("after", "integer", "Only messages with a sequence above this (exclusive); the page then walks forward from it, oldest first.", minimum: 0, maximum: long.MaxValue)
            .WithQuery("limit", "integer", "Page size; the server's default when absent, capped at Parley:Limits:MaxPageSize.", minimum: 1, maximum: int.MaxValue)
            .WithQuery("around", "integer", "The page centred on this sequence, both ways. Not with before, after or aroundMessageId.", minimum: 1, maximum: long.MaxValue)
            .WithQuery("aroundMessageId", "string", "The page centred on this message (UUID) of the conversation. Not with before, after or around.");
        conversations.MapPost("/read", ReadAsync).Accepts<ReadBody>("application/json").Produces<ReceiptView>()
            .WithName("markRead").WithErrors(ErrorCodes.NotConversationMember, ErrorCodes.ConversationNotFound);
        app.MapGet("/api/v1/messages/{id}/status", StatusAsync).RequireAuthorization().WithTags("Messages").Produces<MessageStatusView>()
            .WithName("getMessageStatus").WithErrors(ErrorCodes.MessageNotFound);
        app.MapPost("/api/v1/sync", SyncAsync).RequireAuthorization().WithTags("Messages").Accepts<SyncBody>("application/json").Produces<SyncView>()
            .WithName("sync").WithErrors(ErrorCodes.ConversationNotFound);
    }

    public sealed record SyncBody(IReadOnlyList<ResumePosition>? Positions, DateTimeOffset? Since, int? Limit);

    /// <summary>Most messages one sync answer carries over all its conversations; the rest are "more".</summary>
    public const int MaxSyncMessages = 1000;

    /// <summary>
    /// Recovery over REST for a client that was offline long (same inputs as the hub's Resume and ResumeSince): per
    /// conversation the missed messages in order, up to <c>limit</c> each, "recovered" when that is all of them and
    /// "more" when the client should ask again from the last one it got.
    /// </summary>
    private static async Task<IResult> SyncAsync(HttpRequest request, IMessageStore messages, RecoveryPlanner recovery, IOptions<LimitsOptions> limits, CancellationToken ct)
    {
        var me = CurrentUser.Id(request.HttpContext.User);
        var body = await JsonRequest.ReadAsync(request, ct);
        var positions = body.OptionalObjectArray("positions", RecoveryPlanner.MaxConversations);
        var since = body.OptionalTimestamp("since");
        var limit = (int)(body.OptionalInt64("limit", 1, limits.Value.MaxPageSize) ?? limits.Value.DefaultPageSize);
        if ((positions is null) == (since is null))
        {
            throw Errors.InvalidValue("positions", "give either positions or since, not both").ToException();
        }

        var starts = positions is not null
            ? await recovery.FromPositionsAsync(me, positions.Select(p => new ResumePosition
            {
                ConversationId = p.RequireGuid("conversationId"),
                LastSequence = p.RequireInt64("lastSequence", long.MinValue, long.MaxValue),
                LastChangeSequence = p.OptionalInt64("lastChangeSequence", long.MinValue, long.MaxValue),
            }).ToList(), ct)
            : await recovery.FromSinceAsync(me, since!.Value, ct);

        var budget = MaxSyncMessages;
        var results = new List<SyncConversationView>(starts.Count);
        foreach (var start in starts)
        {
            var (conversation, from, latest) = start;
            var page = budget > 0 && latest > from
                ? await messages.GetMessagesAsync(conversation, new HistoryQuery(null, from, Math.Min(limit, budget)) { Viewer = me }, ct)
                : new Core.Ports.MessagePage([], latest > from);
            budget -= page.Items.Count;
            results.Add(new SyncConversationView(conversation, page.HasMore ? SyncStatuses.More : ResumeStatuses.Recovered, from, latest,
                page.Items.Select(MessageView.From).ToList())
            {
                Changes = start.ChangeFrom is { } changesFrom ? await SyncChangesAsync(conversation, changesFrom, start.ChangeLatest) : null,
            });
        }

        return BufferedJson.Ok(new SyncView(results));

        // The changes share the answer's budget with the messages; what does not fit is "more".
        async Task<SyncChangesView> SyncChangesAsync(Guid conversation, long from, long latest)
        {
            var changes = budget > 0 && latest > from ? await messages.GetChangesAsync(conversation, from, Math.Min(limit, budget), ct) : [];
            budget -= changes.Count;
            var last = changes.Count > 0 ? changes[^1].ChangeSequence : from;
            return new SyncChangesView(last < latest ? SyncStatuses.More : ResumeStatuses.Recovered, from, latest, [.. changes.Select(SyncChangeView.From)]);
        }
    }

    /// <summary>A send now (SendAck), or with <c>sendAt</c> a scheduled send (ScheduledMessageView); both 202.</summary>
    private static async Task<IResult> SendAsync(string id, HttpRequest request, MessageIngress ingress, ScheduledSends scheduled, CancellationToken ct)
    {
        var sender = CurrentUser.Id(request.HttpContext.User);
        var conversationId = JsonRequest.RouteId(id, "conversationId");
        var body = await JsonRequest.ReadAsync(request, ct);
        if (body.OptionalTimestamp("sendAt") is { } sendAt)
        {
            var view = await scheduled.ScheduleAsync(sender, () => SendMessageRequest.FromJson(conversationId, body), sendAt, ct);
            return Results.Json(view, statusCode: StatusCodes.Status202Accepted);
        }

        var ack = await ingress.SendAsync(sender, () => SendMessageRequest.FromJson(conversationId, body), ct);
        return Results.Json(ack, statusCode: StatusCodes.Status202Accepted);
    }

    private static async Task<IResult> HistoryAsync(string id, HttpRequest request, IMessageStore messages, MembershipCache membership, IOptions<LimitsOptions> limits, CancellationToken ct)
    {
        var me = CurrentUser.Id(request.HttpContext.User);
        var conversationId = JsonRequest.RouteId(id, "conversationId");
        var before = JsonRequest.QueryInt64(request, "before", 1, long.MaxValue);
        var after = JsonRequest.QueryInt64(request, "after", 0, long.MaxValue);
        var limit = JsonRequest.QueryPageSize(request, "limit", limits.Value);
        var around = HistoryAround.Read(request, before, after);
        await membership.RequireMemberAsync(conversationId, me, ct);
        if (around is not null)
        {
            return BufferedJson.Ok(await HistoryAround.PageAsync(messages, conversationId, around.Value, limit, me, ct));
        }

        return BufferedJson.Ok(PageView(await messages.GetMessagesAsync(conversationId, new HistoryQuery(before, after, limit) { Viewer = me }, ct), after is not null));
    }

    /// <summary>A history or thread page: the cursor for the next page in the walking direction.</summary>
    public static MessagePageView PageView(Core.Ports.MessagePage page, bool forward)
    {
        var items = page.Items.Select(MessageView.From).ToList();
        return new MessagePageView(
            items,
            page.HasMore,
            NextBefore: !forward && page.HasMore && items.Count > 0 ? items[0].Sequence : null,
            NextAfter: forward && page.HasMore && items.Count > 0 ? items[^1].Sequence : null);
    }

    private static async Task<IResult> ReadAsync(string id, HttpRequest request, Receipts receipts, CancellationToken ct)
    {
        var me = CurrentUser.Id(request.HttpContext.User);
        var conversationId = JsonRequest.RouteId(id, "conversationId");
        var body = await JsonRequest.ReadAsync(request, ct);
        var upTo = body.RequireInt64("upToSequence", 0, long.MaxValue);
        return Results.Ok(await receipts.AdvanceAsync(me, conversationId, ReceiptKind.Read, upTo, ct));
    }

    private static async Task<IResult> StatusAsync(string id, HttpContext context, IMessageStore messages, IMessageLog log, MembershipCache membership, CancellationToken ct)
    {
        var me = CurrentUser.Id(context.User);
        var messageId = JsonRequest.RouteId(id, "messageId");
        var status = await messages.GetMessageStatusAsync(messageId, ct);
        if (status is not null)
        {
            await membership.RequireMessageAccessAsync(status.Message.ConversationId, messageId, me, ct);
            var m = status.Message;
            return Results.Ok(new MessageStatusView(m.Id, m.ConversationId, status.State.ToWire(), m.Sequence, m.AcceptedAt, m.StoredAt,
                status.RecipientCount, status.DeliveredCount, status.ReadCount));
        }

        var logged = await log.FindAsync(messageId, ct) ?? throw Errors.MessageNotFound(messageId).ToException();
        await membership.RequireMessageAccessAsync(logged.ConversationId, messageId, me, ct);
        var state = logged.State == LoggedMessageState.DeadLettered ? MessageState.Failed : MessageState.Pending;
        return Results.Ok(new MessageStatusView(logged.MessageId, logged.ConversationId, state.ToWire(), null, logged.AcceptedAt, null, 0, 0, 0));
    }
}
