using System.Text.Json;
using Parley.Core.Events;
using Parley.Core.Ports;
using Parley.Server.Contracts;
using Parley.Server.Events;

namespace Parley.Server.Webhooks;

/// <summary>
/// Follows the outbox and puts each event on the queue of every subscription that wants it, with the body it will be
/// POSTed with (the event as <c>GET /api/v1/admin/events</c> shows it). Every node runs it from the shared position,
/// so a batch may be enqueued twice; the store keeps one delivery per subscription and event. Disabled subscriptions
/// keep receiving deliveries (sent once they are enabled again); events that occurred before a subscription was
/// created are not its to receive.
/// </summary>
public sealed class WebhookEnqueuer(IWebhookStore store, TimeProvider time) : IDomainEventConsumer
{
    public const string ConsumerName = "webhooks";

    public string Name => ConsumerName;

    public async Task HandleAsync(IReadOnlyList<DomainEvent> events, CancellationToken cancellationToken)
    {
        var subscriptions = await store.ListSubscriptionsAsync(cancellationToken);
        if (subscriptions.Count == 0)
        {
            return;
        }

        var now = time.GetUtcNow();
        var deliveries = new List<WebhookDelivery>();
        foreach (var e in events)
        {
            string? payload = null;
            foreach (var subscription in subscriptions.Where(s => s.Wants(e.Type) && e.OccurredAt >= s.CreatedAt))
            {
                payload ??= Payload(e);
                deliveries.Add(new WebhookDelivery(Guid.CreateVersion7(now), subscription.Id, e.Id, e.Type, e.AggregateId, e.Cursor, payload, now));
            }
        }

        await store.EnqueueAsync(deliveries, cancellationToken);
    }

    public static string Payload(DomainEvent e) => JsonSerializer.Serialize(EventView.From(e), RestJsonContext.Default.EventView);
}
