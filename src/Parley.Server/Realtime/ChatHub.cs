using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Authorization;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using Parley.Server.Hosting;
using Microsoft.AspNetCore.SignalR;
using Parley.Core.Errors;
using Parley.Core.Messaging;
using Parley.Core.Ports;
using Parley.Server.Auth;
using Parley.Server.Conversations;
using Parley.Server.Messaging;
using Parley.Server.Observability;

namespace Parley.Server.Realtime;

/// <summary>The realtime endpoint at /hubs/chat (X2). Every method is authenticated and membership-checked.</summary>
[Authorize]
public sealed class ChatHub(
    MessageIngress ingress,
    IMessageStore messages,
    MembershipCache membership,
    RecoveryPlanner recovery,
    RealtimeNotifier notifier,
    ConnectionRegistry registry,
    TypingTracker typing,
    IPresenceStore presence,
    IHubContext<ChatHub> hubContext,
    IOptions<RealtimeOptions> realtimeOptions,
    IOptionsMonitor<JwtBearerOptions> jwt,
    TimeProvider time,
    ParleyMetrics metrics,
    ILogger<ChatHub> logger) : Hub
{
    public const string Path = "/hubs/chat";

    public override async Task OnConnectedAsync()
    {
        metrics.Connections.Add(1);
        var me = CurrentUser.Id(Context.User);
        var resume = string.Equals(Context.GetHttpContext()?.Request.Query["resume"], "true", StringComparison.OrdinalIgnoreCase);
        var device = new DeviceConnection(Context, me, TokenExpiry(Context.User), resume, hubContext, messages, realtimeOptions.Value, metrics, logger);
        registry.Add(device);
        if (await presence.ConnectedAsync(me, Context.ConnectionId, time.GetUtcNow() + RealtimeSweeper.PresenceTtl, Context.ConnectionAborted))
        {
            _ = notifier.PresenceAsync(new PresenceEvent(me, true, null), CancellationToken.None);
        }

        await Context.SendUnreadTotalAsync(Clients.Caller);
        await base.OnConnectedAsync();
    }

    public override async Task OnDisconnectedAsync(Exception? exception)
    {
        metrics.Connections.Add(-1);
        if (exception is InvalidDataException && exception.Message.Contains("maximum message size", StringComparison.OrdinalIgnoreCase))
        {
            metrics.OversizedFrames.Add(1);
            Log.OversizedFrame(logger, Context.ConnectionId);
        }

        var me = CurrentUser.Id(Context.User);
        registry.Remove(me, Context.ConnectionId)?.Completed();
        var now = time.GetUtcNow();
        if (await presence.DisconnectedAsync(me, Context.ConnectionId, now, CancellationToken.None))
        {
            _ = notifier.PresenceAsync(new PresenceEvent(me, false, now), CancellationToken.None);
        }

        await base.OnDisconnectedAsync(exception);
    }

    /// <summary>
    /// Recovery after a reconnect: for each conversation, the last sequence this device has. Everything after it is
    /// sent as messageCreated events, in order, before this returns; live events follow with no gap and no duplicate.
    /// More than Parley:Realtime:RecoveryLimit missed messages answer "resync" instead (read history).
    /// </summary>
    public async Task<IReadOnlyList<ResumeResult>> Resume(ResumePosition[] positions)
    {
        var starts = await recovery.FromPositionsAsync(CurrentUser.Id(Context.User), positions ?? [], Context.ConnectionAborted);
        return await Device().ResumeAsync(starts);
    }

    /// <summary>
    /// Recovery for a client that keeps one time instead of per-conversation sequences: every conversation with a
    /// message sent at or after <paramref name="since"/> (ISO 8601) is replayed from its first such message, with the
    /// same ordering and answers as <see cref="Resume"/>. Conversations with nothing since are not listed.
    /// </summary>
    public async Task<IReadOnlyList<ResumeResult>> ResumeSince(string since)
    {
        if (string.IsNullOrWhiteSpace(since))
        {
            throw Errors.MissingField("since").ToException();
        }

        if (!DateTimeOffset.TryParse(since, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.RoundtripKind, out var at))
        {
            throw Errors.InvalidValue("since", "must be an ISO 8601 timestamp with an offset, such as 2026-11-23T08:00:00Z").ToException();
        }

        var starts = await recovery.FromSinceAsync(CurrentUser.Id(Context.User), at, Context.ConnectionAborted);
        return await Device().ResumeAsync(starts);
    }

    /// <summary>Typing start (or refresh) and stop, relayed to the other members' devices; lapses after TypingTimeout.</summary>
    public async Task Typing(Guid conversationId, bool isTyping)
    {
        var me = CurrentUser.Id(Context.User);
        var device = Device();
        var now = time.GetUtcNow();
        var window = device.TypingWindow;
        window = now - window.WindowStart >= TimeSpan.FromSeconds(10) ? (now, 1) : (window.WindowStart, window.Count + 1);
        device.TypingWindow = window;
        if (window.Count > realtimeOptions.Value.TypingPer10Seconds)
        {
            metrics.TypingEvents.Add(1, ParleyMetrics.Tag(Telemetry.Tags.Status, "rate_limited"));
            throw Errors.RateLimited(window.WindowStart + TimeSpan.FromSeconds(10) - now).ToException();
        }

        await membership.RequireMemberAsync(conversationId, me, Context.ConnectionAborted);
        var members = await membership.MembersAsync(conversationId, Context.ConnectionAborted);
        var timeout = realtimeOptions.Value.TypingTimeout;
        if (isTyping)
        {
            typing.Start(conversationId, me, members, now + timeout);
        }
        else if (!typing.Stop(conversationId, me))
        {
            return; // nothing was showing
        }

        metrics.TypingEvents.Add(1, ParleyMetrics.Tag(Telemetry.Tags.Status, "relayed"));
        await notifier.TypingAsync(members, new TypingEvent(conversationId, me, isTyping, isTyping ? (int)timeout.TotalMilliseconds : 0), Context.ConnectionAborted);
    }

    /// <summary>In-band token refresh: a new access token for the same user moves this connection's expiry forward.</summary>
    public async Task<RefreshResult> RefreshToken(string accessToken)
    {
        if (string.IsNullOrWhiteSpace(accessToken))
        {
            throw Errors.MissingField("accessToken").ToException();
        }

        var parameters = jwt.Get(JwtBearerDefaults.AuthenticationScheme).TokenValidationParameters;
        var result = await new JsonWebTokenHandler().ValidateTokenAsync(accessToken, parameters);
        if (!result.IsValid)
        {
            throw Errors.Unauthenticated(result.Exception is SecurityTokenExpiredException ? "The access token has expired" : "The access token is not valid").ToException();
        }

        if (!string.Equals(result.ClaimsIdentity.FindFirst(JwtRegisteredClaimNames.Sub)?.Value, CurrentUser.Id(Context.User).ToString(), StringComparison.OrdinalIgnoreCase))
        {
            throw Errors.Forbidden("The new access token belongs to another user").ToException();
        }

        var device = Device();
        device.TokenExpiresAt = result.SecurityToken.ValidTo == DateTime.MinValue ? DateTimeOffset.MaxValue : new DateTimeOffset(result.SecurityToken.ValidTo, TimeSpan.Zero);
        return new RefreshResult(device.TokenExpiresAt);
    }

    private DeviceConnection Device() =>
        registry.Find(CurrentUser.Id(Context.User), Context.ConnectionId) ?? throw Errors.Unauthenticated("The connection is closing").ToException();

    private static DateTimeOffset TokenExpiry(System.Security.Claims.ClaimsPrincipal? user) =>
        long.TryParse(user?.FindFirst(JwtRegisteredClaimNames.Exp)?.Value, System.Globalization.CultureInfo.InvariantCulture, out var exp)
            ? DateTimeOffset.FromUnixTimeSeconds(exp)
            : DateTimeOffset.MaxValue;

    /// <summary>Sends a message exactly as POST /conversations/{id}/messages does and returns the same ack.</summary>
    public Task<SendAck> SendMessage(HubSendMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        return ingress.SendAsync(CurrentUser.Id(Context.User), () => new SendMessageRequest(
            message.ConversationId == Guid.Empty ? throw Errors.MissingField("conversationId").ToException() : message.ConversationId,
            message.Content ?? throw Errors.MissingField("content").ToException(),
            message.Type ?? MessageTypes.Text,
            message.ClientMessageId,
            message.Metadata), Context.ConnectionAborted);
    }

    /// <summary>A device confirms it has everything in the conversation up to <paramref name="sequence"/>.</summary>
    public Task<ReceiptView> AckDelivered(Guid conversationId, long sequence) => AdvanceAsync(conversationId, ReceiptKind.Delivered, sequence);

    /// <summary>The user has read the conversation up to <paramref name="upToSequence"/>.</summary>
    public Task<ReceiptView> MarkRead(Guid conversationId, long upToSequence) => AdvanceAsync(conversationId, ReceiptKind.Read, upToSequence);

    private async Task<ReceiptView> AdvanceAsync(Guid conversationId, ReceiptKind kind, long upTo)
    {
        if (upTo < 0)
        {
            throw Errors.InvalidValue(kind == ReceiptKind.Read ? "upToSequence" : "sequence", "must not be negative").ToException();
        }

        var me = CurrentUser.Id(Context.User);
        await membership.RequireMemberAsync(conversationId, me, Context.ConnectionAborted);
        var update = await messages.AdvanceReceiptAsync(conversationId, me, kind, upTo, Context.ConnectionAborted)
            ?? throw Errors.NotMember(conversationId).ToException();
        await notifier.ReceiptAsync(update, Context.ConnectionAborted);
        return ReceiptView.From(update);
    }
}

/// <summary>
/// Turns Parley rejections into HubExceptions carrying "CODE: message". SignalR puts its own sentence in
/// front, so clients see "... HubException: CODE: message" (docs/realtime.md).
/// </summary>
public sealed class ParleyHubFilter(TransientErrors transient) : IHubFilter
{
    public async ValueTask<object?> InvokeMethodAsync(HubInvocationContext invocationContext, Func<HubInvocationContext, ValueTask<object?>> next)
    {
        try
        {
            return await next(invocationContext);
        }
        catch (ParleyException ex)
        {
            throw new HubException($"{ex.Error.Code}: {ex.Error.Message}");
        }
        catch (Exception ex) when (transient.IsTransient(ex))
        {
            var error = Errors.ServiceUnavailable("A backing service");
            throw new HubException($"{error.Code}: {error.Message}");
        }
    }
}
