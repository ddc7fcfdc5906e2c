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
using Parley.Core.Validation;
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
    IOptions<RealtimeOptions> realtimeOptions,
    IOptionsMonitor<JwtBearerOptions> jwt,
    TimeProvider time,
    ParleyMetrics metrics,
    ILogger<ChatHub> logger) : Hub
{
    public const string Path = "/hubs/chat";

    public override async Task OnConnectedAsync()
    {
        // Registered, and counted in presence, before the handshake (ChatHubEndpoint); SignalR has the connection now,
        // so the device may start writing what it queued meanwhile.
        var device = registry.Find(CurrentUser.Id(Context.User), Context.ConnectionId)
            ?? throw new InvalidOperationException($"Connection {Context.ConnectionId} reached the hub without a device; map the hub with MapChatHub");
        device.Activate(Context);
        await base.OnConnectedAsync();
    }

    public override async Task OnDisconnectedAsync(Exception? exception)
    {
        if (exception is InvalidDataException && exception.Message.Contains("maximum message size", StringComparison.OrdinalIgnoreCase))
        {
            metrics.OversizedFrames.Add(1);
            Log.OversizedFrame(logger, Context.ConnectionId);
        }

        // The device and presence entry go when the connection does (ChatHubEndpoint); stop writing now already.
        registry.Find(CurrentUser.Id(Context.User), Context.ConnectionId)?.Completed();
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
        var at = IsoTimestamp.Parse("since", since);
        var starts = await recovery.FromSinceAsync(CurrentUser.Id(Context.User), at, Context.ConnectionAborted);
        return await Device().ResumeAsync(starts);
    }

    /// <summary>Typing start (or refresh) and stop, relayed to the other members' devices; lapses after TypingTimeout.</summary>
    public async Task Typing(Guid conversationId, bool isTyping)
    {
        RequireConversation(conversationId);
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

    /// <summary>An absent or null conversation id arrives as the empty UUID.</summary>
    private static void RequireConversation(Guid conversationId)
    {
        if (conversationId == Guid.Empty)
        {
            throw Errors.MissingField("conversationId").ToException();
        }
    }

    private DeviceConnection Device() =>
        registry.Find(CurrentUser.Id(Context.User), Context.ConnectionId) ?? throw Errors.Unauthenticated("The connection is closing").ToException();

    /// <summary>Sends a message exactly as POST /conversations/{id}/messages does and returns the same ack.</summary>
    public Task<SendAck> SendMessage(HubSendMessage message)
    {
        if (message is null)
        {
            throw Errors.MissingField("message").ToException();
        }

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
        RequireConversation(conversationId);
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
/// <para>
/// A rejection is the client's mistake (bad argument, not a member, rate limited): logged here at Debug, without a
/// stack trace. SignalR logs every exception out of a hub method at Error ("Failed to invoke hub method"), a
/// HubException included; <see cref="HubClientMistakes"/> turns that line down for HubExceptions only, so an Error
/// from a hub call is a server fault.
/// </para>
/// </summary>
public sealed class ParleyHubFilter(TransientErrors transient, ILogger<ParleyHubFilter> logger) : IHubFilter
{
    public async ValueTask<object?> InvokeMethodAsync(HubInvocationContext invocationContext, Func<HubInvocationContext, ValueTask<object?>> next)
    {
        try
        {
            return await next(invocationContext);
        }
        catch (ParleyException ex)
        {
            Log.HubCallRefused(logger, invocationContext.HubMethodName, invocationContext.Context.ConnectionId, ex.Error.Code, ex.Error.Message);
            throw new HubException($"{ex.Error.Code}: {ex.Error.Message}");
        }
        catch (Exception ex) when (transient.IsTransient(ex))
        {
            Log.HubDependencyUnavailable(logger, ex, invocationContext.HubMethodName);
            var error = Errors.ServiceUnavailable("A backing service");
            throw new HubException($"{error.Code}: {error.Message}");
        }
    }
}

/// <summary>
/// SignalR's dispatcher logs a hub method's exception at Error with its stack trace, even a HubException, which is how
/// a hub answers a client's mistake. This logger, given to that dispatcher only, passes everything through except
/// that line for a HubException, which it writes at Debug without the trace.
/// </summary>
public static class HubClientMistakes
{
    /// <summary>SignalR's event id for "Failed to invoke hub method '{HubMethod}'." (DefaultHubDispatcherLog).</summary>
    public const int FailedInvokingHubMethod = 8;

    public static IServiceCollection AddQuietHubClientMistakes<THub>(this IServiceCollection services) where THub : Hub
    {
        // The dispatcher is internal to SignalR: found by name. Should a later SignalR rename it, this does nothing
        // and LoggingTests.A_client_mistake_on_the_hub_logs_nothing_at_Warning_or_above says so.
        var dispatcher = typeof(HubConnectionHandler<>).Assembly.GetType("Microsoft.AspNetCore.SignalR.Internal.DefaultHubDispatcher`1")?.MakeGenericType(typeof(THub));
        if (dispatcher is not null)
        {
            var loggerType = typeof(ILogger<>).MakeGenericType(dispatcher);
            var quiet = typeof(QuietLogger<>).MakeGenericType(dispatcher);
            services.AddSingleton(loggerType, sp => Activator.CreateInstance(quiet, sp.GetRequiredService<ILoggerFactory>())!);
        }

        return services;
    }

    private sealed class QuietLogger<T>(ILoggerFactory factory) : ILogger<T>
    {
        private readonly ILogger _inner = factory.CreateLogger<T>();

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => _inner.BeginScope(state);

        public bool IsEnabled(LogLevel logLevel) => _inner.IsEnabled(logLevel);

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (eventId.Id == FailedInvokingHubMethod && exception is HubException)
            {
                if (_inner.IsEnabled(LogLevel.Debug))
                {
                    _inner.Log(LogLevel.Debug, eventId, state, null, (s, _) => $"{formatter(s, null)} {exception.Message}");
                }

                return;
            }

            _inner.Log(logLevel, eventId, state, exception, formatter);
        }
    }
}
