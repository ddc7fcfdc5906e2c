using Parley.Core.Ports;

namespace Parley.Core.Persistence;

/// <summary>
/// The <c>webhook</c> dead-letter kind as every engine shows it: a dead (failed) delivery, its id the delivery's, its
/// subject the subscription, its payload the body that was POSTed. Replay is a redelivery; discard keeps the row as
/// <see cref="WebhookDeliveryStatuses.Discarded"/>, so the delivery log still shows what became of it.
/// </summary>
public static class WebhookDeadLetters
{
    public const string Kind = "webhook";

    public static async Task<IReadOnlyList<DeadLetterRecord>> ListAsync(IWebhookStore store, DeadLetterQuery query, CancellationToken cancellationToken)
    {
        if (query.After is not null && !Guid.TryParse(query.After, out _))
        {
            return [];
        }

        var after = query.After is null ? (Guid?)null : Guid.Parse(query.After);
        return [.. (await store.ListDeadAsync(query.Limit, query.ErrorType, after, cancellationToken)).Select(Record)];
    }

    public static async Task<DeadLetterRecord?> GetAsync(IWebhookStore store, string id, CancellationToken cancellationToken) =>
        Guid.TryParse(id, out var deliveryId) && await store.GetDeliveryAsync(deliveryId, cancellationToken) is { Status: WebhookDeliveryStatuses.Failed } dead
            ? Record(dead)
            : null;

    public static DeadLetterRecord Record(WebhookDelivery d) =>
        new(d.Id.ToString(), Kind, d.ErrorType ?? "Unknown", d.LastError ?? "", d.Attempts, d.Replays, d.DeadAt ?? d.NextAttemptAt, d.SubscriptionId.ToString(), d.Payload);
}
