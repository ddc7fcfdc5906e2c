using Parley.Core.Events;

namespace Parley.Core.Ports;

/// <summary>
/// Webhooks (E5): admin-managed subscriptions and the delivery queue of the domain events they follow. Subscriptions
/// are written directly (admins only), each change with its domain event in the same transaction. Deliveries are
/// enqueued by the outbox consumer on every node (one row per subscription and event, whoever gets there first) and
/// worked off by claims, so several nodes share the work and one aggregate's deliveries go out one at a time, in order.
/// </summary>
public interface IWebhookStore
{
    Task<WebhookSubscription> CreateSubscriptionAsync(WebhookSubscription subscription, EventContext context, CancellationToken cancellationToken);

    Task<WebhookSubscription?> GetSubscriptionAsync(Guid id, CancellationToken cancellationToken);

    /// <summary>Every subscription, oldest first (an installation has a handful).</summary>
    Task<IReadOnlyList<WebhookSubscription>> ListSubscriptionsAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Applies <paramref name="change"/>; null when there is no such subscription. Enabling clears the run of failures
    /// and <see cref="WebhookSubscription.DisabledAt"/>; disabling sets it.
    /// </summary>
    Task<WebhookSubscription?> UpdateSubscriptionAsync(Guid id, WebhookSubscriptionChange change, DateTimeOffset now, EventContext context, CancellationToken cancellationToken);

    /// <summary>Deletes the subscription and its deliveries; false when there was none.</summary>
    Task<bool> DeleteSubscriptionAsync(Guid id, DateTimeOffset now, EventContext context, CancellationToken cancellationToken);

    /// <summary>
    /// Adds the deliveries that are not there yet (one per subscription and event id: a batch enqueued twice, by two
    /// nodes or after a crash, adds nothing the second time) and returns how many it added. A delivery of a deleted
    /// subscription is dropped.
    /// </summary>
    Task<int> EnqueueAsync(IReadOnlyList<WebhookDelivery> deliveries, CancellationToken cancellationToken);

    /// <summary>
    /// Claims up to <paramref name="limit"/> deliveries for <paramref name="claimant"/> until <paramref name="claimUntil"/>:
    /// pending, due at <paramref name="now"/>, of an enabled subscription, not claimed (or the claim expired), and the
    /// oldest pending one (by event order) of its subscription and aggregate, so at most one delivery per (subscription,
    /// aggregate) is ever in flight. A dead (failed) or discarded delivery no longer holds its aggregate back.
    /// </summary>
    Task<IReadOnlyList<WebhookDelivery>> ClaimDueAsync(DateTimeOffset now, string claimant, DateTimeOffset claimUntil, int limit, CancellationToken cancellationToken);

    /// <summary>Records an attempt's outcome and what it does to its subscription; null when the delivery is gone (its subscription deleted).</summary>
    Task<WebhookAttemptResult?> RecordAttemptAsync(WebhookAttempt attempt, EventContext context, CancellationToken cancellationToken);

    Task<WebhookDelivery?> GetDeliveryAsync(Guid id, CancellationToken cancellationToken);

    /// <summary>
    /// A subscription's deliveries, newest event first (a subscription has one delivery per event, so the event's order
    /// is the log's), optionally of one status, keyset-paged: <paramref name="before"/> is the previous page's last.
    /// </summary>
    Task<WebhookDeliveryPage> ListDeliveriesAsync(Guid subscriptionId, string? status, EventCursor? before, int limit, CancellationToken cancellationToken);

    /// <summary>
    /// A new attempt of the delivery, whatever its status: pending again, due now, attempts from zero, one more replay.
    /// It takes its place in its aggregate's order again (it is older than what came after it, so it goes first).
    /// Null when the subscription has no such delivery.
    /// </summary>
    Task<WebhookDelivery?> RedeliverAsync(Guid subscriptionId, Guid deliveryId, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>Dead (failed) deliveries, newest death first, after the delivery <paramref name="after"/> when given.</summary>
    Task<IReadOnlyList<WebhookDelivery>> ListDeadAsync(int limit, string? errorType, Guid? after, CancellationToken cancellationToken);

    /// <summary>A dead delivery becomes <see cref="WebhookDeliveryStatuses.Discarded"/> (kept in the log, never sent); false when it is not dead.</summary>
    Task<bool> DiscardAsync(Guid deliveryId, CancellationToken cancellationToken);

    /// <summary>Pending deliveries across all subscriptions (the <c>webhook_pending</c> gauge).</summary>
    Task<long> CountPendingAsync(CancellationToken cancellationToken);
}

public static class WebhookDeliveryStatuses
{
    public const string Pending = "pending";
    public const string Delivered = "delivered";

    /// <summary>Dead: a permanent failure, or out of attempts. A dead letter of kind <c>webhook</c>.</summary>
    public const string Failed = "failed";

    /// <summary>A dead delivery an operator discarded.</summary>
    public const string Discarded = "discarded";

    public static readonly IReadOnlyList<string> All = [Pending, Delivered, Failed, Discarded];
}

/// <param name="EventTypes">Domain event types (<see cref="DomainEventTypes.All"/>) or <c>*</c> for every one.</param>
/// <param name="Secret">The HMAC key of <see cref="WebhookSignature"/>; the store keeps it as given (it must sign with it).</param>
public sealed record WebhookSubscription(Guid Id, string Url, IReadOnlyList<string> EventTypes, string Secret, bool Enabled, string? Description, DateTimeOffset CreatedAt)
{
    public const string AllEvents = "*";

    /// <summary>Failed attempts since the last success; at <c>Parley:Webhooks:DisableAfterFailures</c> the subscription is disabled.</summary>
    public int ConsecutiveFailures { get; init; }

    public DateTimeOffset? DisabledAt { get; init; }

    public DateTimeOffset? UpdatedAt { get; init; }

    public bool Wants(string eventType) => EventTypes.Any(t => t == AllEvents || string.Equals(t, eventType, StringComparison.Ordinal));
}

/// <summary>A PATCH: null leaves a field as it is; <see cref="ClearDescription"/> removes the description.</summary>
public sealed record WebhookSubscriptionChange(string? Url = null, IReadOnlyList<string>? EventTypes = null, string? Secret = null, bool? Enabled = null,
    string? Description = null, bool ClearDescription = false);

/// <param name="Order">The event's outbox position, (transaction, position): the order of one aggregate's deliveries.</param>
/// <param name="Payload">The JSON body POSTed, exactly as signed.</param>
public sealed record WebhookDelivery(Guid Id, Guid SubscriptionId, Guid EventId, string EventType, string AggregateId, EventCursor Order, string Payload, DateTimeOffset CreatedAt)
{
    public string Status { get; init; } = WebhookDeliveryStatuses.Pending;

    public int Attempts { get; init; }

    public DateTimeOffset NextAttemptAt { get; init; } = CreatedAt;

    public int? LastStatusCode { get; init; }

    public string? LastError { get; init; }

    /// <summary>The failure's type as the failure classifier names it (<c>Http500</c>, <c>HttpRequestException</c>), once an attempt failed.</summary>
    public string? ErrorType { get; init; }

    public DateTimeOffset? DeliveredAt { get; init; }

    public DateTimeOffset? DeadAt { get; init; }

    /// <summary>How often it was redelivered by hand or replayed as a dead letter.</summary>
    public int Replays { get; init; }
}

public sealed record WebhookDeliveryPage(IReadOnlyList<WebhookDelivery> Items, EventCursor? Next);

/// <summary>
/// One attempt's outcome. <paramref name="NextAttemptAt"/> null with <paramref name="Succeeded"/> false means dead
/// (permanent, or out of attempts).
/// </summary>
public sealed record WebhookAttempt(Guid DeliveryId, bool Succeeded, int? StatusCode, string? Error, string? ErrorType, DateTimeOffset? NextAttemptAt, DateTimeOffset Now,
    int DisableAfterFailures);

/// <param name="Disabled">This attempt's failure disabled the subscription (it reached the configured run of failures).</param>
public sealed record WebhookAttemptResult(WebhookDelivery Delivery, WebhookSubscription Subscription, bool Disabled);
