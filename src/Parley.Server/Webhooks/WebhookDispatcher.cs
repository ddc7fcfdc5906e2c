using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text;
using Microsoft.Extensions.Options;
using Parley.Core.Events;
using Parley.Core.Ports;
using Parley.Hosting;
using Parley.Server.Hosting;

namespace Parley.Server.Webhooks;

/// <summary>
/// Sends webhook deliveries in the consumer loop <c>webhook-dispatch</c> on every node: claim due deliveries (at most one
/// per subscription and aggregate, the oldest), POST each signed body, and record the outcome: delivered; failed and due
/// again after a backoff; or dead (a permanent failure, or out of attempts). At least once: a node that dies after a
/// receiver answered but before the outcome is written leaves the claim to expire, and the delivery is sent again.
/// </summary>
public sealed class WebhookDispatcher(
    IWebhookStore store,
    IHttpClientFactory httpClients,
    ConsumerLoopRegistry loops,
    WebhookMetrics metrics,
    TransientErrors transient,
    IOptions<WebhooksOptions> options,
    TimeProvider time,
    ILogger<WebhookDispatcher> logger)
    : SlottedDispatcher<(WebhookDelivery Delivery, WebhookSubscription? Subscription)>(LoopName, options.Value.BatchSize, options.Value.BatchSize, options.Value.PollInterval, loops, time, logger)
{
    public const string LoopName = "webhook-dispatch";
    public const string HttpClientName = "parley-webhooks";

    public const string EventIdHeader = "Parley-Event-Id";
    public const string EventTypeHeader = "Parley-Event-Type";
    public const string DeliveryIdHeader = "Parley-Delivery-Id";

    /// <summary>How often the pending count behind <c>webhook_pending</c> is read (a COUNT per poll would be wasted work).</summary>
    public static readonly TimeSpan PendingSampleInterval = TimeSpan.FromSeconds(5);

    private const int MaxErrorLength = 500;

    private readonly string _claimant = $"{Environment.MachineName}/{Guid.NewGuid():N}";
    private DateTimeOffset _nextPendingSample;

    /// <summary>
    /// Up to <paramref name="max"/> due deliveries (only each aggregate's head, so order holds while they are in flight),
    /// each with its subscription as it is now (read after the claim: a URL or secret changed a moment ago is the one
    /// used); none for a subscription deleted meanwhile, and that delivery is not sent.
    /// </summary>
    protected override async Task<IReadOnlyList<(WebhookDelivery Delivery, WebhookSubscription? Subscription)>> ClaimAsync(int max, CancellationToken cancellationToken)
    {
        var now = Time.GetUtcNow();
        if (now >= _nextPendingSample)
        {
            metrics.Pending(await store.CountPendingAsync(cancellationToken));
            _nextPendingSample = now + PendingSampleInterval;
        }

        var due = await store.ClaimDueAsync(now, _claimant, now + options.Value.ClaimTimeout, max, cancellationToken);
        if (due.Count == 0)
        {
            return [];
        }

        var subscriptions = (await store.ListSubscriptionsAsync(cancellationToken)).ToDictionary(s => s.Id);
        return [.. due.Select(d => (d, subscriptions.GetValueOrDefault(d.SubscriptionId)))];
    }

    protected override Task SendAsync((WebhookDelivery Delivery, WebhookSubscription? Subscription) work, CancellationToken cancellationToken) =>
        work.Subscription is { } subscription ? SendAsync(work.Delivery, subscription, cancellationToken) : Task.CompletedTask;

    // The delivery stays claimed and is sent again when its claim runs out: at least once, never lost.
    protected override void FinishFailed((WebhookDelivery Delivery, WebhookSubscription? Subscription) work, Exception exception) =>
        Log.WebhookFinishFailed(Logger, exception, work.Delivery.Id, options.Value.ClaimTimeout);

    private async Task SendAsync(WebhookDelivery delivery, WebhookSubscription subscription, CancellationToken cancellationToken)
    {
        var o = options.Value;
        var started = Stopwatch.GetTimestamp();
        var (statusCode, failure, errorType, error) = await PostAsync(delivery, subscription, cancellationToken);
        var elapsed = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        var now = Time.GetUtcNow();
        var attempt = delivery.Attempts + 1;
        var retryIn = failure == FailureKind.Retryable && attempt < o.MaxAttempts ? o.Backoff(attempt) : (TimeSpan?)null;
        var result = await store.RecordAttemptAsync(
            new WebhookAttempt(delivery.Id, failure is null, statusCode, error, errorType, now + retryIn, now, o.DisableAfterFailures),
            EventContext.New(), cancellationToken);
        if (result is null)
        {
            return; // The subscription was deleted while the POST was out: nothing left to record.
        }

        if (failure is null)
        {
            metrics.Attempted(WebhookMetrics.Delivered, elapsed);
            Log.WebhookDelivered(Logger, delivery.Id, delivery.EventId, subscription.Id, statusCode!.Value, attempt);
        }
        else if (retryIn is { } wait)
        {
            metrics.Attempted(WebhookMetrics.Retried, elapsed);
            Log.WebhookAttemptFailed(Logger, delivery.Id, subscription.Id, attempt, errorType!, error!, wait);
        }
        else
        {
            metrics.Attempted(WebhookMetrics.Dead, elapsed);
            Log.WebhookDeliveryDead(Logger, delivery.Id, delivery.EventId, subscription.Id, attempt, errorType!, error!);
        }

        if (result.Disabled)
        {
            metrics.SubscriptionDisabled();
            Log.WebhookSubscriptionDisabled(Logger, subscription.Id, result.Subscription.ConsecutiveFailures);
        }
    }

    /// <summary>One POST; a failure is classified by <see cref="Failures"/> (a 404 or 410 is as final for a delivery as any other 4xx).</summary>
    private async Task<(int? StatusCode, FailureKind? Failure, string? ErrorType, string? Error)> PostAsync(WebhookDelivery delivery, WebhookSubscription subscription,
        CancellationToken cancellationToken)
    {
        var body = Encoding.UTF8.GetBytes(delivery.Payload);
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, subscription.Url) { Content = new ByteArrayContent(body) };
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };
            request.Headers.Add(WebhookSignature.Header, WebhookSignature.Sign(subscription.Secret, Time.GetUtcNow(), body));
            request.Headers.Add(EventIdHeader, delivery.EventId.ToString());
            request.Headers.Add(EventTypeHeader, delivery.EventType);
            request.Headers.Add(DeliveryIdHeader, delivery.Id.ToString());
            using var response = await httpClients.CreateClient(HttpClientName).SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
            var status = (int)response.StatusCode;
            return response.IsSuccessStatusCode
                ? (status, null, null, null)
                : (status, Failures.OfStatus(response.StatusCode) == FailureKind.Retryable ? FailureKind.Retryable : FailureKind.Permanent,
                    Failures.ErrorType(response.StatusCode), $"HTTP {status} {response.ReasonPhrase}".TrimEnd());
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested && ex is not OutOfMemoryException)
        {
            var kind = Failures.OfException(ex, transient) == FailureKind.Retryable ? FailureKind.Retryable : FailureKind.Permanent;
            var message = ex.Message.Length > MaxErrorLength ? ex.Message[..MaxErrorLength] : ex.Message;
            return (null, kind, ex.GetType().Name, message);
        }
    }
}
