using Parley.Core.Events;
using Parley.Core.Ports;

namespace Parley.Core.Persistence;

/// <summary>
/// What a subscription change and a delivery attempt do to the rows, the same on every engine: the engine reads the
/// rows in its transaction, asks here, and writes back what it gets (and the event, when there is one).
/// </summary>
public static class WebhookPlanner
{
    /// <summary>The subscription after <paramref name="change"/>; the event type to record, or null when nothing changed.</summary>
    public static (WebhookSubscription Subscription, string? EventType) Apply(WebhookSubscription current, WebhookSubscriptionChange change, DateTimeOffset now)
    {
        var next = current with
        {
            Url = change.Url ?? current.Url,
            EventTypes = change.EventTypes ?? current.EventTypes,
            Secret = change.Secret ?? current.Secret,
            Description = change.ClearDescription ? null : change.Description ?? current.Description,
        };
        if (change.Enabled is { } enabled && enabled != current.Enabled)
        {
            // Enabling starts a fresh run: the failures that disabled it are behind it (the receiver is fixed).
            next = enabled
                ? next with { Enabled = true, ConsecutiveFailures = 0, DisabledAt = null }
                : next with { Enabled = false, DisabledAt = StoreTime.Truncate(now) };
        }

        var changed = next.Url != current.Url || !next.EventTypes.SequenceEqual(current.EventTypes, StringComparer.Ordinal) || next.Secret != current.Secret
            || next.Description != current.Description || next.Enabled != current.Enabled;
        return changed ? (next with { UpdatedAt = StoreTime.Truncate(now) }, DomainEventTypes.WebhookUpdated) : (current, null);
    }

    /// <summary>
    /// The delivery and its subscription after <paramref name="attempt"/>: delivered, or failed once more (pending again
    /// at its next attempt, or dead), the subscription's run of failures reset or one longer, and disabled when the run
    /// reaches the limit.
    /// </summary>
    public static WebhookAttemptResult Apply(WebhookDelivery delivery, WebhookSubscription subscription, WebhookAttempt attempt)
    {
        var now = StoreTime.Truncate(attempt.Now);
        var tried = delivery with { Attempts = delivery.Attempts + 1, LastStatusCode = attempt.StatusCode };
        if (attempt.Succeeded)
        {
            return new WebhookAttemptResult(
                tried with { Status = WebhookDeliveryStatuses.Delivered, DeliveredAt = now, LastError = null, ErrorType = null },
                subscription with { ConsecutiveFailures = 0 }, false);
        }

        tried = attempt.NextAttemptAt is { } next
            ? tried with { Status = WebhookDeliveryStatuses.Pending, NextAttemptAt = StoreTime.Truncate(next), LastError = attempt.Error, ErrorType = attempt.ErrorType }
            : tried with { Status = WebhookDeliveryStatuses.Failed, DeadAt = now, LastError = attempt.Error, ErrorType = attempt.ErrorType };
        var failures = subscription.ConsecutiveFailures + 1;
        var disable = subscription.Enabled && attempt.DisableAfterFailures > 0 && failures >= attempt.DisableAfterFailures;
        var after = subscription with { ConsecutiveFailures = failures };
        return new WebhookAttemptResult(tried, disable ? after with { Enabled = false, DisabledAt = now, UpdatedAt = now } : after, disable);
    }

    /// <summary>A new attempt of <paramref name="delivery"/>, due at <paramref name="now"/>, whatever its status.</summary>
    public static WebhookDelivery Redeliver(WebhookDelivery delivery, DateTimeOffset now) =>
        delivery with
        {
            Status = WebhookDeliveryStatuses.Pending,
            Attempts = 0,
            NextAttemptAt = StoreTime.Truncate(now),
            DeliveredAt = null,
            DeadAt = null,
            Replays = delivery.Replays + 1,
        };
}
