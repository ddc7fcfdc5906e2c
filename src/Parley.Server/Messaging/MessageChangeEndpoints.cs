using Microsoft.Extensions.Options;
using Parley.Core.Errors;
using Parley.Core.Events;
using Parley.Core.Messaging;
using Parley.Core.Ports;
using Parley.Server.Auth;
using Parley.Server.Contracts;
using Parley.Server.Conversations;
using Parley.Server.Hosting;
using Parley.Server.Http;

namespace Parley.Server.Messaging;

/// <summary>
/// Changes to messages (M7, M8, M9): edits, deletes, reactions, and the reads that go with them (edit history, threads).
/// Every change to what others see goes through the ingress and the log (202, like a send); delete for me is the
/// caller's own and is written at once.
/// </summary>
public static class MessageChangeEndpoints
{
    public sealed record EditBody(string Content, string? Reason, string? ClientChangeId);

    public sealed record VoteBody(IReadOnlyList<int> OptionIds, string? ClientChangeId);

    public sealed record ForwardBody(IReadOnlyList<Guid> ConversationIds, string? ClientForwardId);

    /// <summary>Most conversations one forward reaches: each is a send of its own, with its own ack.</summary>
    public const int MaxForwardTargets = 10;

    public static void MapMessageChangeEndpoints(this IEndpointRouteBuilder app)
    {
        var message = app.MapGroup("/api/v1/messages/{id}").RequireAuthorization().WithTags("Messages");
        string[] change = [ErrorCodes.MessageNotFound, ErrorCodes.ForbiddenRole, ErrorCodes.ConversationInactive, ErrorCodes.RateLimited, ErrorCodes.EnqueueFailed];
        message.MapPatch("/", EditAsync).Accepts<EditBody>("application/json").Produces<ChangeAck>(StatusCodes.Status202Accepted).WithName("editMessage")
            .WithErrors(change).WithErrors(ErrorCodes.NotMessageSender, ErrorCodes.EditWindowClosed, ErrorCodes.MessageDeleted, ErrorCodes.UserBlocked);
        message.MapDelete("/", DeleteAsync).Produces<ChangeAck>(StatusCodes.Status202Accepted).Produces<HiddenView>().WithName("deleteMessage")
            .WithErrors(change)
            .WithQuery("for", "string", "me: hide it from your own history only (200, done at once); everyone: erase it for all members (202, through the log).",
                required: true)
            .WithQuery("clientChangeId", "string", "Your id for this delete: a retry with the same id is the same delete.");
        message.MapPut("/reactions/{key}", (string id, string key, HttpContext context, MessageIngress ingress, CancellationToken ct) => ReactAsync(id, key, true, context, ingress, ct))
            .Produces<ChangeAck>(StatusCodes.Status202Accepted).WithName("addReaction").WithErrors(change).WithErrors(ErrorCodes.MessageDeleted, ErrorCodes.UserBlocked);
        message.MapDelete("/reactions/{key}", (string id, string key, HttpContext context, MessageIngress ingress, CancellationToken ct) => ReactAsync(id, key, false, context, ingress, ct))
            .Produces<ChangeAck>(StatusCodes.Status202Accepted).WithName("removeReaction").WithErrors(change).WithErrors(ErrorCodes.MessageDeleted, ErrorCodes.UserBlocked);
        var pins = app.MapGroup("/api/v1/conversations/{id}/pins").RequireAuthorization().WithTags("Messages");
        pins.MapPut("/{messageId}", (string id, string messageId, HttpContext context, MessageIngress ingress, CancellationToken ct) => PinAsync(id, messageId, true, context, ingress, ct))
            .Produces<ChangeAck>(StatusCodes.Status202Accepted).WithName("pinMessage").WithErrors(change).WithErrors(ErrorCodes.MessageDeleted);
        pins.MapDelete("/{messageId}", (string id, string messageId, HttpContext context, MessageIngress ingress, CancellationToken ct) => PinAsync(id, messageId, false, context, ingress, ct))
            .Produces<ChangeAck>(StatusCodes.Status202Accepted).WithName("unpinMessage").WithErrors(change).WithErrors(ErrorCodes.MessageDeleted);
        pins.MapGet("/", PinsAsync).Produces<PinsView>().WithName("listPins").WithErrors(ErrorCodes.NotConversationMember, ErrorCodes.ConversationNotFound)
            .WithQuery("limit", "integer", "At most this many pins, most recently pinned first; the server's default when absent, capped at Parley:Limits:MaxPageSize.", minimum: 1, maximum: int.MaxValue);
        message.MapPost("/forward", ForwardAsync).Accepts<ForwardBody>("application/json").Produces<ForwardView>(StatusCodes.Status202Accepted).WithName("forwardMessage")
            .WithErrors(ErrorCodes.MessageNotFound, ErrorCodes.MessageDeleted, ErrorCodes.NotConversationMember, ErrorCodes.ConversationNotFound, ErrorCodes.ConversationInactive,
                ErrorCodes.ForbiddenRole, ErrorCodes.UserBlocked, ErrorCodes.RateLimited, ErrorCodes.EnqueueFailed);
        string[] vote = [.. change, ErrorCodes.MessageDeleted, ErrorCodes.UserBlocked, ErrorCodes.PollClosed, ErrorCodes.NotAPoll];
        message.MapPost("/votes", VoteAsync).Accepts<VoteBody>("application/json").Produces<ChangeAck>(StatusCodes.Status202Accepted).WithName("votePoll").WithErrors(vote);
        message.MapDelete("/votes", (string id, HttpContext context, MessageIngress ingress, CancellationToken ct) => RetractAsync(id, context, ingress, ct))
            .Produces<ChangeAck>(StatusCodes.Status202Accepted).WithName("retractVote").WithErrors(vote);
        message.MapGet("/votes", VotesAsync).Produces<PollResultsView>().WithName("getPollResults").WithErrors(ErrorCodes.MessageNotFound, ErrorCodes.NotAPoll);
        message.MapGet("/edits", EditsAsync).Produces<MessageEditsView>().WithName("getMessageEdits").WithErrors(ErrorCodes.MessageNotFound);
        message.MapGet("/thread", ThreadAsync).Produces<MessagePageView>().WithName("getThread").WithErrors(ErrorCodes.MessageNotFound)
            .WithQuery("before", "integer", "Only replies with a sequence below this (exclusive). Without after, the page is the newest replies below it.", minimum: 1, maximum: long.MaxValue)
            .WithQuery("after", "integer", "Only replies with a sequence above this (exclusive); the page then walks forward from it, oldest first.", minimum: 0, maximum: long.MaxValue)
            .WithQuery("limit", "integer", "Page size; the server's default when absent, capped at Parley:Limits:MaxPageSize.", minimum: 1, maximum: int.MaxValue);
    }

    private static async Task<IResult> EditAsync(string id, HttpRequest request, MessageIngress ingress, CancellationToken ct)
    {
        var me = CurrentUser.Id(request.HttpContext.User);
        var messageId = JsonRequest.RouteId(id, "messageId");
        var body = await JsonRequest.ReadAsync(request, ct);
        var ack = await ingress.ChangeAsync(me, () => new MessageChangeRequest(MessageChangeKinds.Edit, messageId)
        {
            Content = body.RequireString("content", int.MaxValue),
            Reason = body.OptionalString("reason", int.MaxValue),
        }, body.OptionalString("clientChangeId", int.MaxValue), ct);
        return Results.Json(ack, statusCode: StatusCodes.Status202Accepted);
    }

    private static async Task<IResult> DeleteAsync(string id, HttpRequest request, MessageIngress ingress, IMessageStore messages, IPersonalStore personal,
        MembershipCache membership, IRealtimeEvents realtime, TimeProvider time, CancellationToken ct)
    {
        var me = CurrentUser.Id(request.HttpContext.User);
        var messageId = JsonRequest.RouteId(id, "messageId");
        var scope = JsonRequest.QueryOneOf(request, "for", [DeleteScopes.Me, DeleteScopes.Everyone]) ?? throw Errors.MissingField("for").ToException();
        var clientChangeId = JsonRequest.QueryString(request, "clientChangeId");
        if (scope == DeleteScopes.Everyone)
        {
            var ack = await ingress.ChangeAsync(me, () => new MessageChangeRequest(MessageChangeKinds.Delete, messageId), clientChangeId, ct);
            return Results.Json(ack, statusCode: StatusCodes.Status202Accepted);
        }

        var message = await ReadableAsync(messageId, me, messages, membership, ct);
        var result = await personal.HideMessageAsync(me, message, time.GetUtcNow(), EventContext.New(me), ct);
        var hidden = new HiddenView(message.ConversationId, message.Id, result.UnreadCount);
        if (result.Hidden)
        {
            await realtime.PublishAsync(new AddressedEvent(new MessageHiddenEvent(hidden), [me]), ct);
        }

        return Results.Ok(hidden);
    }

    /// <summary>Casts or changes the caller's vote: their whole choice, replacing what they chose before.</summary>
    private static async Task<IResult> VoteAsync(string id, HttpRequest request, MessageIngress ingress, CancellationToken ct)
    {
        var me = CurrentUser.Id(request.HttpContext.User);
        var messageId = JsonRequest.RouteId(id, "messageId");
        var body = await JsonRequest.ReadAsync(request, ct);
        var ack = await ingress.ChangeAsync(me, () =>
        {
            var options = body.RequireInt32Array("optionIds", PollDefinition.MaxOptions);
            return options.Count == 0
                ? throw Errors.InvalidValue("optionIds", "must name at least one option (DELETE retracts a vote)").ToException()
                : new MessageChangeRequest(MessageChangeKinds.Vote, messageId) { OptionIds = options };
        }, body.OptionalString("clientChangeId", int.MaxValue), ct);
        return Results.Json(ack, statusCode: StatusCodes.Status202Accepted);
    }

    private static async Task<IResult> RetractAsync(string id, HttpContext context, MessageIngress ingress, CancellationToken ct)
    {
        var me = CurrentUser.Id(context.User);
        var messageId = JsonRequest.RouteId(id, "messageId");
        var ack = await ingress.ChangeAsync(me, () => new MessageChangeRequest(MessageChangeKinds.Vote, messageId) { OptionIds = [] }, null, ct);
        return Results.Json(ack, statusCode: StatusCodes.Status202Accepted);
    }

    /// <summary>The poll's results as stored; who chose each option only when the poll is not anonymous.</summary>
    private static async Task<IResult> VotesAsync(string id, HttpContext context, IMessageStore messages, MembershipCache membership, TimeProvider time, CancellationToken ct)
    {
        var me = CurrentUser.Id(context.User);
        var message = await ReadableAsync(JsonRequest.RouteId(id, "messageId"), me, messages, membership, ct);
        var poll = message.Poll?.Definition ?? throw Errors.NotAPoll(message.Id).ToException();
        var votes = await messages.GetVotesAsync(message.Id, ct);
        var options = poll.Options.Select((text, i) =>
        {
            var voters = votes.Where(v => v.OptionId == i).Select(v => v.UserId).ToList();
            return new PollOptionResultView(i, text, voters.Count) { Voters = poll.Anonymous ? null : voters };
        }).ToList();
        return Results.Ok(new PollResultsView(message.Id, message.ConversationId, poll.IsClosed(time.GetUtcNow()), poll.Anonymous, poll.MultipleAnswers, poll.ClosesAt,
            votes.Select(v => v.UserId).Distinct().Count(), options, [.. votes.Where(v => v.UserId == me).Select(v => v.OptionId)]));
    }

    private static async Task<IResult> ReactAsync(string id, string key, bool added, HttpContext context, MessageIngress ingress, CancellationToken ct)
    {
        var me = CurrentUser.Id(context.User);
        var messageId = JsonRequest.RouteId(id, "messageId");
        var ack = await ingress.ChangeAsync(me, () => new MessageChangeRequest(MessageChangeKinds.Reaction, messageId) { ReactionKey = key, Added = added }, null, ct);
        return Results.Json(ack, statusCode: StatusCodes.Status202Accepted);
    }

    /// <summary>
    /// A copy of a message the caller may read, sent to each named conversation as the caller's own send (with
    /// <c>forwardedFrom</c>). Every target is checked before anything is sent, so a refusal sends nothing; with a
    /// <c>clientForwardId</c> a retry is the same sends.
    /// </summary>
    private static async Task<IResult> ForwardAsync(string id, HttpRequest request, MessageIngress ingress, IMessageStore messages, MembershipCache membership,
        Social.SocialGate social, IOptions<LimitsOptions> limits, CancellationToken ct)
    {
        var me = CurrentUser.Id(request.HttpContext.User);
        var messageId = JsonRequest.RouteId(id, "messageId");
        var body = await JsonRequest.ReadAsync(request, ct);
        var targets = body.RequireGuidArray("conversationIds", MaxForwardTargets).Distinct().ToList();
        if (targets.Count == 0)
        {
            throw Errors.InvalidValue("conversationIds", "must name at least one conversation").ToException();
        }

        var clientForwardId = body.OptionalString("clientForwardId", int.MaxValue);
        // The per-target id adds a prefix and the target; what the client may send is shorter by that much.
        SendMessageRequest.RequireClientId("clientForwardId", clientForwardId, limits.Value.MaxClientMessageIdLength - 40);
        var source = await ReadableAsync(messageId, me, messages, membership, ct);
        if (source.Deleted)
        {
            throw Errors.MessageDeleted(messageId).ToException();
        }

        foreach (var target in targets)
        {
            var conversation = (await membership.RequireAsync(target, me, Core.Membership.ConversationAction.Send, ct)).Conversation;
            if (!string.Equals(conversation.Status, Core.Membership.ConversationStatuses.Active, StringComparison.Ordinal))
            {
                throw Errors.ConversationInactive(conversation.Id, conversation.Status).ToException();
            }

            await social.RequireNotBlockedAsync(conversation, me, ct);
        }

        var origin = source.ForwardedFrom ?? new ForwardSource(source.Id, source.ConversationId, source.SenderId);
        var acks = new List<SendAck>(targets.Count);
        foreach (var target in targets)
        {
            acks.Add(await ingress.SendAsync(me, new SendMessageRequest(target, source.Content, source.Type,
                clientForwardId is null ? null : $"fwd:{target:N}:{clientForwardId}", source.Metadata) { ForwardedFrom = origin }, ct));
        }

        return Results.Json(new ForwardView(messageId, acks), statusCode: StatusCodes.Status202Accepted);
    }

    private static async Task<IResult> PinAsync(string id, string messageId, bool pinned, HttpContext context, MessageIngress ingress, CancellationToken ct)
    {
        var me = CurrentUser.Id(context.User);
        var conversationId = JsonRequest.RouteId(id, "conversationId");
        var message = JsonRequest.RouteId(messageId, "messageId");
        var ack = await ingress.ChangeAsync(me, () => new MessageChangeRequest(MessageChangeKinds.Pin, message) { Added = pinned, ConversationId = conversationId }, null, ct);
        return Results.Json(ack, statusCode: StatusCodes.Status202Accepted);
    }

    private static async Task<IResult> PinsAsync(string id, HttpRequest request, IMessageStore messages, MembershipCache membership, IOptions<LimitsOptions> limits, CancellationToken ct)
    {
        var me = CurrentUser.Id(request.HttpContext.User);
        var conversationId = JsonRequest.RouteId(id, "conversationId");
        var limit = JsonRequest.QueryPageSize(request, "limit", limits.Value);
        await membership.RequireMemberAsync(conversationId, me, ct);
        var pins = await messages.GetPinsAsync(conversationId, limit, ct);
        return Results.Ok(new PinsView(conversationId, [.. pins.Select(MessageView.From)]));
    }

    private static async Task<IResult> EditsAsync(string id, HttpContext context, IMessageStore messages, MembershipCache membership, CancellationToken ct)
    {
        var me = CurrentUser.Id(context.User);
        var message = await ReadableAsync(JsonRequest.RouteId(id, "messageId"), me, messages, membership, ct);
        var edits = await messages.GetEditsAsync(message.Id, ct);
        return Results.Ok(new MessageEditsView(message.Id, message.EditCount, [.. edits.Select(MessageEditView.From)]));
    }

    private static async Task<IResult> ThreadAsync(string id, HttpRequest request, IMessageStore messages, MembershipCache membership, IOptions<LimitsOptions> limits, CancellationToken ct)
    {
        var me = CurrentUser.Id(request.HttpContext.User);
        var root = await ReadableAsync(JsonRequest.RouteId(id, "messageId"), me, messages, membership, ct);
        var before = JsonRequest.QueryInt64(request, "before", 1, long.MaxValue);
        var after = JsonRequest.QueryInt64(request, "after", 0, long.MaxValue);
        var limit = JsonRequest.QueryPageSize(request, "limit", limits.Value);
        var page = await messages.GetThreadAsync(root.Id, new HistoryQuery(before, after, limit) { Viewer = me }, ct);
        return BufferedJson.Ok(MessageEndpoints.PageView(page, after is not null));
    }

    /// <summary>A stored message of a conversation the caller is a member of; anyone else's is "not found", as for its status.</summary>
    private static async Task<StoredMessage> ReadableAsync(Guid messageId, Guid me, IMessageStore messages, MembershipCache membership, CancellationToken ct)
    {
        var message = await messages.GetMessageAsync(messageId, ct) ?? throw Errors.MessageNotFound(messageId).ToException();
        await membership.RequireMessageAccessAsync(message.ConversationId, messageId, me, ct);
        return message;
    }
}
