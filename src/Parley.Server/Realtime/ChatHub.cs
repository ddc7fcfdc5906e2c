using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.SignalR;
using Parley.Core.Errors;
using Parley.Core.Messaging;
using Parley.Core.Ports;
using Parley.Core.Validation;
using Parley.Server.Auth;
using Parley.Server.Contracts;
using Parley.Server.Messaging;

namespace Parley.Server.Realtime;

/// <summary>
/// The realtime endpoint at /hubs/chat (X2). Every method is authenticated and translates to the service that does the
/// work, the same ones REST uses where REST has the operation (ingress, receipts, recovery).
/// </summary>
[Authorize]
public sealed class ChatHub(
    MessageIngress ingress,
    ScheduledSends scheduled,
    Receipts receipts,
    DeviceSessions sessions,
    DeviceRecovery recovery,
    TypingRelay typing,
    TokenRefresher tokens) : Hub
{
    public const string Path = "/hubs/chat";

    public override async Task OnConnectedAsync()
    {
        await sessions.ConnectedAsync(Context, Clients.Caller);
        await base.OnConnectedAsync();
    }

    public override async Task OnDisconnectedAsync(Exception? exception)
    {
        sessions.Disconnected(Context, exception);
        await base.OnDisconnectedAsync(exception);
    }

    /// <summary>
    /// Recovery after a reconnect: for each conversation, the last sequence this device has. Everything after it is
    /// sent as messageCreated events, in order, before this returns; live events follow with no gap and no duplicate.
    /// More than Parley:Realtime:RecoveryLimit missed messages answer "resync" instead (read history).
    /// </summary>
    public Task<IReadOnlyList<ResumeResult>> Resume(ResumePosition[] positions) => recovery.ResumeAsync(Context, positions);

    /// <summary>
    /// Recovery for a client that keeps one time instead of per-conversation sequences: every conversation with a
    /// message sent at or after <paramref name="since"/> (ISO 8601) is replayed from its first such message, with the
    /// same ordering and answers as <see cref="Resume"/>. Conversations with nothing since are not listed.
    /// </summary>
    public Task<IReadOnlyList<ResumeResult>> ResumeSince(string since) => recovery.ResumeSinceAsync(Context, since);

    /// <summary>Typing start (or refresh) and stop, relayed to the other members' devices; lapses after TypingTimeout.</summary>
    public Task Typing(Guid conversationId, bool isTyping) => typing.TypingAsync(Context, conversationId, isTyping);

    /// <summary>In-band token refresh: a new access token for the same user moves this connection's expiry forward.</summary>
    public Task<RefreshResult> RefreshToken(string accessToken) => tokens.RefreshAsync(Context, accessToken);

    /// <summary>Sends a message exactly as POST /conversations/{id}/messages does and returns the same ack.</summary>
    public Task<SendAck> SendMessage(HubSendMessage message) => message is null
        ? throw Errors.MissingField("message").ToException()
        : ingress.SendAsync(CurrentUser.Id(Context.User), () => ToRequest(message), Context.ConnectionAborted);

    /// <summary>
    /// Schedules a send for <paramref name="sendAt"/> (ISO 8601 with an offset) exactly as POST /conversations/{id}/messages
    /// with sendAt does, and returns the same scheduled message.
    /// </summary>
    public Task<ScheduledMessageView> ScheduleMessage(HubSendMessage message, string sendAt) => message is null
        ? throw Errors.MissingField("message").ToException()
        : scheduled.ScheduleAsync(CurrentUser.Id(Context.User), () => ToRequest(message), IsoTimestamp.Parse("sendAt", sendAt), Context.ConnectionAborted);

    /// <summary>Edits a message exactly as PATCH /messages/{id} does (the sender only) and returns the same ack.</summary>
    public Task<ChangeAck> EditMessage(Guid messageId, string content, string? reason, string? clientChangeId) =>
        ingress.ChangeAsync(CurrentUser.Id(Context.User), () => new MessageChangeRequest(MessageChangeKinds.Edit, RequireId(messageId))
        {
            Content = content ?? throw Errors.MissingField("content").ToException(),
            Reason = reason,
        }, clientChangeId, Context.ConnectionAborted);

    /// <summary>Deletes a message for everyone exactly as DELETE /messages/{id}?for=everyone does.</summary>
    public Task<ChangeAck> DeleteMessage(Guid messageId, string? clientChangeId) =>
        ingress.ChangeAsync(CurrentUser.Id(Context.User), () => new MessageChangeRequest(MessageChangeKinds.Delete, RequireId(messageId)), clientChangeId, Context.ConnectionAborted);

    /// <summary>Adds (<paramref name="added"/> true) or removes the caller's reaction, as PUT / DELETE /messages/{id}/reactions/{key} do.</summary>
    public Task<ChangeAck> SetReaction(Guid messageId, string key, bool added) =>
        ingress.ChangeAsync(CurrentUser.Id(Context.User), () => new MessageChangeRequest(MessageChangeKinds.Reaction, RequireId(messageId))
        {
            ReactionKey = key ?? throw Errors.MissingField("key").ToException(),
            Added = added,
        }, null, Context.ConnectionAborted);

    /// <summary>Votes in a poll as POST /messages/{id}/votes does; no options retracts the vote, as DELETE does.</summary>
    public Task<ChangeAck> Vote(Guid messageId, int[]? optionIds, string? clientChangeId) =>
        ingress.ChangeAsync(CurrentUser.Id(Context.User), () => new MessageChangeRequest(MessageChangeKinds.Vote, RequireId(messageId))
        {
            OptionIds = optionIds ?? throw Errors.MissingField("optionIds").ToException(),
        }, clientChangeId, Context.ConnectionAborted);

    private static Guid RequireId(Guid messageId) => messageId == Guid.Empty ? throw Errors.MissingField("messageId").ToException() : messageId;

    /// <summary>A device confirms it has everything in the conversation up to <paramref name="sequence"/>.</summary>
    public Task<ReceiptView> AckDelivered(Guid conversationId, long sequence) =>
        receipts.AdvanceAsync(CurrentUser.Id(Context.User), conversationId, ReceiptKind.Delivered, sequence, Context.ConnectionAborted);

    /// <summary>The user has read the conversation up to <paramref name="upToSequence"/>.</summary>
    public Task<ReceiptView> MarkRead(Guid conversationId, long upToSequence) =>
        receipts.AdvanceAsync(CurrentUser.Id(Context.User), conversationId, ReceiptKind.Read, upToSequence, Context.ConnectionAborted);

    /// <summary>Read inside the ingress, so a bad field counts as a rejected send as over REST. An absent or null conversation id arrives as the empty UUID.</summary>
    private static SendMessageRequest ToRequest(HubSendMessage message) => new(
        message.ConversationId == Guid.Empty ? throw Errors.MissingField("conversationId").ToException() : message.ConversationId,
        message.Content ?? throw Errors.MissingField("content").ToException(),
        message.Type ?? (message.Poll is null ? MessageTypes.Text : MessageTypes.Poll),
        message.ClientMessageId,
        message.Metadata)
    {
        ReplyTo = message.ReplyTo,
        Mentions = message.Mentions is null ? null
            : message.Mentions.Length > SendMessageRequest.MaxMentions ? throw Errors.TooLong("mentions", SendMessageRequest.MaxMentions, message.Mentions.Length, "items").ToException()
            : [.. message.Mentions.Distinct()],
        ExpiresAt = message.ExpiresAt,
        Poll = message.Poll is not { } poll ? null
            : new PollDefinition(poll.Options ?? throw Errors.MissingField("poll.options").ToException(), poll.MultipleAnswers, poll.Anonymous, poll.ClosesAt),
    };
}
