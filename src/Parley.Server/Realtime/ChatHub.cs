using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Authorization;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using Parley.Hosting;
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

        await Context.SendUnreadTotalAsync(Clients.Caller);
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
/// stack trace. SignalR's dispatcher logs every exception out of a hub method at Error ("Failed to invoke hub
/// method"), a HubException included, and cannot be told apart by level; <see cref="HubClientMistakes"/> keeps its
/// Errors out and this filter logs a real fault at Error itself.
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
        catch (HubException ex)
        {
            Log.HubCallRefused(logger, invocationContext.HubMethodName, invocationContext.Context.ConnectionId, "-", ex.Message);
            throw;
        }
        catch (OperationCanceledException) when (invocationContext.Context.ConnectionAborted.IsCancellationRequested)
        {
            throw; // the connection went away mid-call: nobody to answer, nothing wrong
        }
        catch (Exception ex) when (transient.IsTransient(ex))
        {
            Log.HubDependencyUnavailable(logger, ex, invocationContext.HubMethodName);
            var error = Errors.ServiceUnavailable("A backing service");
            throw new HubException($"{error.Code}: {error.Message}");
        }
        catch (Exception ex)
        {
            Log.HubMethodFailed(logger, ex, invocationContext.HubMethodName, invocationContext.Context.ConnectionId);
            throw;
        }
    }
}

/// <summary>
/// Keeps Error out of SignalR's hub dispatcher log category, where its only Error is "Failed to invoke hub method"
/// for any exception, a HubException answering a client's mistake included (<see cref="ParleyHubFilter"/> logs the
/// real faults). Every other level of that category keeps the level configured for it.
/// </summary>
public static class HubClientMistakes
{
    public const string DispatcherCategory = "Microsoft.AspNetCore.SignalR.Internal.DefaultHubDispatcher";

    public static IServiceCollection AddQuietHubClientMistakes(this IServiceCollection services) =>
        services.AddSingleton<IPostConfigureOptions<LoggerFilterOptions>, QuietDispatcher>();

    /// <summary>
    /// One rule per provider for the dispatcher's category, carrying the level the configured rules would have given it
    /// (a rule replaces, not adds to, the ones it beats) plus a filter that drops Error and above.
    /// </summary>
    private sealed class QuietDispatcher : IPostConfigureOptions<LoggerFilterOptions>
    {
        public void PostConfigure(string? name, LoggerFilterOptions options)
        {
            var configured = options.Rules.ToList();
            foreach (var provider in configured.Select(r => r.ProviderName).Append(null).Distinct())
            {
                LoggerFilterRule? best = null;
                foreach (var rule in configured)
                {
                    if (Better(rule, best, provider))
                    {
                        best = rule;
                    }
                }

                options.Rules.Add(new LoggerFilterRule(provider, DispatcherCategory, best?.LogLevel ?? options.MinLevel, static (_, _, level) => level < LogLevel.Error));
            }
        }

        // As Microsoft.Extensions.Logging picks a rule: the provider's own rules before general ones, then the longest
        // matching category, the later rule on a tie.
        private static bool Better(LoggerFilterRule rule, LoggerFilterRule? current, string? provider)
        {
            if (rule.ProviderName is not null && rule.ProviderName != provider || !Matches(rule.CategoryName))
            {
                return false;
            }

            if (current?.ProviderName is not null)
            {
                if (rule.ProviderName is null)
                {
                    return false;
                }
            }
            else if (rule.ProviderName is not null)
            {
                return true;
            }

            return current?.CategoryName is null || rule.CategoryName is not null && rule.CategoryName.Length >= current.CategoryName.Length;
        }

        private static bool Matches(string? category)
        {
            if (category is null)
            {
                return true;
            }

            var star = category.IndexOf('*', StringComparison.Ordinal);
            return star < 0
                ? DispatcherCategory.StartsWith(category, StringComparison.OrdinalIgnoreCase)
                : DispatcherCategory.StartsWith(category[..star], StringComparison.OrdinalIgnoreCase) && DispatcherCategory.EndsWith(category[(star + 1)..], StringComparison.OrdinalIgnoreCase);
        }
    }
}
