using System.Text.Json;
using Parley.Core.Events;
using Parley.Core.Ports;
using static Parley.Specification.MessageStoreSpecification;

namespace Parley.Specification;

/// <summary>
/// Webhooks (E5) on every engine: subscriptions and their events, idempotent enqueueing, claims that keep one delivery
/// per (subscription, aggregate) in flight in event order, attempts (delivered, retried, dead, disabling), redelivery,
/// the delivery log and the <c>webhook</c> dead-letter kind.
/// </summary>
public abstract class WebhookStoreSpecification
{
    protected abstract Task<IStoreHarness> CreateAsync();

    private static long s_position;

    private static WebhookSubscription Subscription(params string[] types) =>
        new(Guid.CreateVersion7(), "https://hooks.example/in", types.Length == 0 ? [WebhookSubscription.AllEvents] : types, "s3cret-s3cret-s3cret", true, null, Now);

    private static WebhookDelivery Delivery(WebhookSubscription s, string aggregate, Guid? eventId = null) =>
        new(Guid.CreateVersion7(), s.Id, eventId ?? Guid.CreateVersion7(), DomainEventTypes.MessageStored, aggregate, new EventCursor(7, Interlocked.Increment(ref s_position)),
            """{"id":"x","data":{"k":1}}""", Now);

    private static WebhookAttempt Failed(WebhookDelivery d, DateTimeOffset now, DateTimeOffset? next, int disableAfter = 100, int status = 500) =>
        new(d.Id, false, status, $"HTTP {status}", $"Http{status}", next, now, disableAfter);

    private static WebhookAttempt Succeeded(WebhookDelivery d, DateTimeOffset now) => new(d.Id, true, 200, null, null, null, now, 100);

    private static Task<IReadOnlyList<WebhookDelivery>> ClaimAsync(IStoreHarness h, DateTimeOffset now, string claimant = "node-a", int limit = 10) =>
        h.Webhooks.ClaimDueAsync(now, claimant, now.AddSeconds(30), limit, default);

    [Fact]
    public async Task Subscriptions_are_created_changed_and_deleted_with_their_events_and_never_put_the_secret_or_url_in_one()
    {
        await using var h = await CreateAsync();
        var created = await h.Webhooks.CreateSubscriptionAsync(Subscription(DomainEventTypes.MessageStored) with { Description = "crm" }, Ctx, default);
        var other = await h.Webhooks.CreateSubscriptionAsync(Subscription() with { CreatedAt = Now.AddSeconds(1) }, Ctx, default);
        Assert.Equal(created, (await h.Webhooks.GetSubscriptionAsync(created.Id, default))! with { EventTypes = created.EventTypes });
        Assert.Equal([DomainEventTypes.MessageStored], (await h.Webhooks.GetSubscriptionAsync(created.Id, default))!.EventTypes);
        Assert.Equal([created.Id, other.Id], (await h.Webhooks.ListSubscriptionsAsync(default)).Select(s => s.Id));

        var now = Now;
        var disabled = (await h.Webhooks.UpdateSubscriptionAsync(created.Id, new WebhookSubscriptionChange(Enabled: false, ClearDescription: true), now, Ctx, default))!;
        Assert.Equal((false, (string?)null, (DateTimeOffset?)now), (disabled.Enabled, disabled.Description, disabled.DisabledAt));
        var changed = (await h.Webhooks.UpdateSubscriptionAsync(created.Id,
            new WebhookSubscriptionChange(Url: "http://other.example/x", EventTypes: ["*"], Secret: "another-secret-1234", Enabled: true), now, Ctx, default))!;
        Assert.Equal(("http://other.example/x", "another-secret-1234", true, (DateTimeOffset?)null), (changed.Url, changed.Secret, changed.Enabled, changed.DisabledAt));
        Assert.Equal(changed, (await h.Webhooks.GetSubscriptionAsync(created.Id, default))! with { EventTypes = changed.EventTypes });
        Assert.Equal(changed, (await h.Webhooks.UpdateSubscriptionAsync(created.Id, new WebhookSubscriptionChange(Enabled: true), now, Ctx, default))! with { EventTypes = changed.EventTypes });
        Assert.Null(await h.Webhooks.UpdateSubscriptionAsync(Guid.NewGuid(), new WebhookSubscriptionChange(Enabled: true), now, Ctx, default));

        Assert.Equal(1, await h.Webhooks.EnqueueAsync([Delivery(created, "a")], default));
        Assert.True(await h.Webhooks.DeleteSubscriptionAsync(created.Id, now, Ctx, default));
        Assert.False(await h.Webhooks.DeleteSubscriptionAsync(created.Id, now, Ctx, default));
        Assert.Null(await h.Webhooks.GetSubscriptionAsync(created.Id, default));
        Assert.Empty((await h.Webhooks.ListDeliveriesAsync(created.Id, null, null, 10, default)).Items);

        var events = (await AllEventsAsync(h)).Where(e => e.AggregateType == AggregateTypes.Webhook).ToList();
        // An update that changes nothing (enabling an enabled subscription) records nothing.
        Assert.Equal([DomainEventTypes.WebhookCreated, DomainEventTypes.WebhookCreated, DomainEventTypes.WebhookUpdated, DomainEventTypes.WebhookUpdated, DomainEventTypes.WebhookDeleted],
            events.Select(e => e.Type));
        Assert.All(events, e => Assert.Contains(e.Type, DomainEventTypes.All));
        Assert.DoesNotContain(events, e => e.Data.Contains("secret", StringComparison.Ordinal) || e.Data.Contains("example", StringComparison.Ordinal));
        Assert.Equal(created.Id, JsonDocument.Parse(events[0].Data).RootElement.GetProperty("subscriptionId").GetGuid());
    }

    [Fact]
    public async Task Enqueueing_an_event_twice_adds_one_delivery_and_a_deleted_subscriptions_delivery_is_dropped()
    {
        await using var h = await CreateAsync();
        var s = await h.Webhooks.CreateSubscriptionAsync(Subscription(), Ctx, default);
        var first = Delivery(s, "a");
        Assert.Equal(1, await h.Webhooks.EnqueueAsync([first], default));
        // Another node (or a replayed batch) enqueues the same event under a delivery id of its own.
        Assert.Equal(0, await h.Webhooks.EnqueueAsync([first with { Id = Guid.CreateVersion7() }], default));
        Assert.Equal(0, await h.Webhooks.EnqueueAsync([Delivery(s, "a") with { SubscriptionId = Guid.NewGuid() }], default));
        Assert.Equal(0, await h.Webhooks.EnqueueAsync([], default));

        var stored = Assert.Single((await h.Webhooks.ListDeliveriesAsync(s.Id, null, null, 10, default)).Items);
        Assert.Equal((first.Id, first.EventId, first.Order, first.Payload, WebhookDeliveryStatuses.Pending, 0), (stored.Id, stored.EventId, stored.Order, stored.Payload, stored.Status, stored.Attempts));
        Assert.Equal(1, await h.Webhooks.CountPendingAsync(default));
    }

    [Fact]
    public async Task A_claim_takes_only_the_oldest_pending_delivery_of_each_aggregate_and_the_next_one_once_it_is_delivered()
    {
        await using var h = await CreateAsync();
        var s = await h.Webhooks.CreateSubscriptionAsync(Subscription(), Ctx, default);
        var paused = await h.Webhooks.CreateSubscriptionAsync(Subscription(), Ctx, default);
        await h.Webhooks.UpdateSubscriptionAsync(paused.Id, new WebhookSubscriptionChange(Enabled: false), Now, Ctx, default);
        var (a1, a2, b1, a3) = (Delivery(s, "a"), Delivery(s, "a"), Delivery(s, "b"), Delivery(s, "a"));
        await h.Webhooks.EnqueueAsync([a1, a2, b1, a3, Delivery(paused, "a")], default);
        var now = Now;

        Assert.Equal([a1.Id], (await ClaimAsync(h, now, limit: 1)).Select(d => d.Id));
        Assert.Equal([b1.Id], (await ClaimAsync(h, now, "node-b")).Select(d => d.Id));
        Assert.Empty(await ClaimAsync(h, now, "node-c"));

        Assert.Equal(WebhookDeliveryStatuses.Delivered, (await h.Webhooks.RecordAttemptAsync(Succeeded(a1, now), Ctx, default))!.Delivery.Status);
        Assert.Equal([a2.Id], (await ClaimAsync(h, now)).Select(d => d.Id));

        // A claimant that died: once its claim expires another takes the same head again, and still not the one behind it.
        Assert.Equal([a2.Id, b1.Id], (await ClaimAsync(h, now.AddSeconds(31), "node-d")).Select(d => d.Id));
        Assert.Null(await h.Webhooks.RecordAttemptAsync(Succeeded(a1, now) with { DeliveryId = Guid.NewGuid() }, Ctx, default));
    }

    [Fact]
    public async Task Claimants_at_once_never_take_one_delivery_twice_nor_anything_but_the_head_of_an_aggregate()
    {
        await using var h = await CreateAsync();
        var s = await h.Webhooks.CreateSubscriptionAsync(Subscription(), Ctx, default);
        var rows = Enumerable.Range(0, 48).Select(i => Delivery(s, $"agg-{i % 6}")).ToList();
        await h.Webhooks.EnqueueAsync(rows, default);
        var heads = rows.GroupBy(r => r.AggregateId).Select(g => g.First().Id).ToHashSet();
        var now = Now;

        var claims = await Task.WhenAll(Enumerable.Range(0, 6).Select(i => Task.Run(() => ClaimAsync(h, now, $"node-{i}", limit: 2))));
        var claimed = claims.SelectMany(c => c).Select(d => d.Id).ToList();
        Assert.Equal(claimed.Count, claimed.Distinct().Count());
        Assert.Subset(heads, claimed.ToHashSet());
        var late = (await ClaimAsync(h, now, "node-late")).Select(d => d.Id);
        Assert.Equal(heads, claimed.Concat(late).ToHashSet());
    }

    [Fact]
    public async Task A_failed_attempt_waits_for_its_backoff_holding_its_aggregate_and_a_dead_delivery_no_longer_holds_it()
    {
        await using var h = await CreateAsync();
        var s = await h.Webhooks.CreateSubscriptionAsync(Subscription(), Ctx, default);
        var (a1, a2) = (Delivery(s, "a"), Delivery(s, "a"));
        await h.Webhooks.EnqueueAsync([a1, a2], default);
        var now = Now;
        Assert.Single(await ClaimAsync(h, now));

        var retry = (await h.Webhooks.RecordAttemptAsync(Failed(a1, now, now.AddSeconds(5)), Ctx, default))!;
        Assert.Equal((WebhookDeliveryStatuses.Pending, 1, now.AddSeconds(5), (int?)500, "Http500", 1),
            (retry.Delivery.Status, retry.Delivery.Attempts, retry.Delivery.NextAttemptAt, retry.Delivery.LastStatusCode, retry.Delivery.ErrorType, retry.Subscription.ConsecutiveFailures));
        Assert.Empty(await ClaimAsync(h, now.AddSeconds(4)));
        Assert.Equal([a1.Id], (await ClaimAsync(h, now.AddSeconds(5))).Select(d => d.Id));

        var dead = (await h.Webhooks.RecordAttemptAsync(Failed(a1, now, null, status: 400), Ctx, default))!;
        Assert.Equal((WebhookDeliveryStatuses.Failed, 2, (DateTimeOffset?)now, 2), (dead.Delivery.Status, dead.Delivery.Attempts, dead.Delivery.DeadAt, dead.Subscription.ConsecutiveFailures));
        Assert.Equal([a2.Id], (await ClaimAsync(h, now.AddSeconds(6))).Select(d => d.Id));
        Assert.Equal(0, (await h.Webhooks.RecordAttemptAsync(Succeeded(a2, now), Ctx, default))!.Subscription.ConsecutiveFailures);

        var failed = await h.Webhooks.ListDeliveriesAsync(s.Id, WebhookDeliveryStatuses.Failed, null, 10, default);
        Assert.Equal([a1.Id], failed.Items.Select(d => d.Id));
        Assert.Equal([a2.Id], (await h.Webhooks.ListDeliveriesAsync(s.Id, WebhookDeliveryStatuses.Delivered, null, 10, default)).Items.Select(d => d.Id));
    }

    [Fact]
    public async Task A_run_of_failures_disables_the_subscription_once_with_its_event_and_enabling_it_starts_a_new_run()
    {
        await using var h = await CreateAsync();
        var s = await h.Webhooks.CreateSubscriptionAsync(Subscription(), Ctx, default);
        var deliveries = new[] { Delivery(s, "a"), Delivery(s, "b"), Delivery(s, "c") };
        await h.Webhooks.EnqueueAsync(deliveries, default);
        var now = Now;
        var results = new List<WebhookAttemptResult>();
        foreach (var d in deliveries)
        {
            results.Add((await h.Webhooks.RecordAttemptAsync(Failed(d, now, now, disableAfter: 2), Ctx, default))!);
        }

        Assert.Equal([false, true, false], results.Select(r => r.Disabled));
        var disabled = (await h.Webhooks.GetSubscriptionAsync(s.Id, default))!;
        Assert.Equal((false, 3, (DateTimeOffset?)now), (disabled.Enabled, disabled.ConsecutiveFailures, disabled.DisabledAt));
        Assert.Empty(await ClaimAsync(h, now));
        Assert.Single(await AllEventsAsync(h), e => e.Type == DomainEventTypes.WebhookDisabled);

        var enabled = (await h.Webhooks.UpdateSubscriptionAsync(s.Id, new WebhookSubscriptionChange(Enabled: true), now, Ctx, default))!;
        Assert.Equal((true, 0, (DateTimeOffset?)null), (enabled.Enabled, enabled.ConsecutiveFailures, enabled.DisabledAt));
        Assert.Equal(3, (await ClaimAsync(h, now)).Count);
    }

    [Fact]
    public async Task A_delivered_or_dead_delivery_is_redelivered_and_the_dead_ones_are_the_webhook_dead_letters()
    {
        await using var h = await CreateAsync();
        var s = await h.Webhooks.CreateSubscriptionAsync(Subscription(), Ctx, default);
        var (delivered, dead, discarded) = (Delivery(s, "a"), Delivery(s, "b"), Delivery(s, "c"));
        await h.Webhooks.EnqueueAsync([delivered, dead, discarded], default);
        var now = Now;
        await h.Webhooks.RecordAttemptAsync(Succeeded(delivered, now), Ctx, default);
        await h.Webhooks.RecordAttemptAsync(Failed(dead, now, null, status: 400), Ctx, default);
        await h.Webhooks.RecordAttemptAsync(Failed(discarded, now.AddSeconds(1), null, status: 422), Ctx, default);

        var kind = Assert.IsAssignableFrom<IDeadLetterKind>(h.Webhooks);
        Assert.Equal("webhook", kind.Kind);
        var letters = await kind.ListAsync(new DeadLetterQuery(10), default);
        Assert.Equal([discarded.Id.ToString(), dead.Id.ToString()], letters.Select(l => l.Id));
        Assert.Equal([dead.Id.ToString()], (await kind.ListAsync(new DeadLetterQuery(10, After: discarded.Id.ToString()), default)).Select(l => l.Id));
        Assert.Equal([dead.Id.ToString()], (await kind.ListAsync(new DeadLetterQuery(10, ErrorType: "Http400"), default)).Select(l => l.Id));
        var letter = (await kind.GetAsync(dead.Id.ToString(), default))!;
        Assert.Equal(("Http400", "HTTP 400", 1, 0, s.Id.ToString(), dead.Payload), (letter.ErrorType, letter.Error, letter.Attempts, letter.Replays, letter.Subject, letter.Payload));
        Assert.Null(await kind.GetAsync(delivered.Id.ToString(), default));
        Assert.Null(await kind.GetAsync("not-an-id", default));

        Assert.True(await kind.DiscardAsync(discarded.Id.ToString(), default));
        Assert.False(await kind.DiscardAsync(discarded.Id.ToString(), default));
        Assert.Equal(WebhookDeliveryStatuses.Discarded, (await h.Webhooks.GetDeliveryAsync(discarded.Id, default))!.Status);
        Assert.True(await kind.ReplayAsync(dead.Id.ToString(), now, default));
        Assert.False(await kind.ReplayAsync(dead.Id.ToString(), now, default));
        Assert.Empty(await kind.ListAsync(new DeadLetterQuery(10), default));

        var again = (await h.Webhooks.RedeliverAsync(s.Id, delivered.Id, now, default))!;
        Assert.Equal((WebhookDeliveryStatuses.Pending, 0, 1, (DateTimeOffset?)null), (again.Status, again.Attempts, again.Replays, again.DeliveredAt));
        Assert.Null(await h.Webhooks.RedeliverAsync(Guid.NewGuid(), delivered.Id, now, default));
        Assert.Equal([delivered.Id, dead.Id], (await ClaimAsync(h, now)).Select(d => d.Id));
        var replayed = (await h.Webhooks.GetDeliveryAsync(dead.Id, default))!;
        Assert.Equal((WebhookDeliveryStatuses.Pending, 0, 1), (replayed.Status, replayed.Attempts, replayed.Replays));
    }

    [Fact]
    public async Task The_delivery_log_is_newest_event_first_in_pages_and_filtered_by_status()
    {
        await using var h = await CreateAsync();
        var s = await h.Webhooks.CreateSubscriptionAsync(Subscription(), Ctx, default);
        var now = Now;
        var rows = Enumerable.Range(0, 5).Select(i => Delivery(s, $"agg-{i}")).ToList();
        await h.Webhooks.EnqueueAsync(rows, default);
        await h.Webhooks.RecordAttemptAsync(Succeeded(rows[1], now), Ctx, default);

        var first = await h.Webhooks.ListDeliveriesAsync(s.Id, null, null, 2, default);
        var second = await h.Webhooks.ListDeliveriesAsync(s.Id, null, first.Next, 2, default);
        var third = await h.Webhooks.ListDeliveriesAsync(s.Id, null, second.Next, 2, default);
        Assert.Equal(rows.Select(r => r.Id).Reverse(), first.Items.Concat(second.Items).Concat(third.Items).Select(d => d.Id));
        Assert.Null(third.Next);
        Assert.Equal(4, (await h.Webhooks.ListDeliveriesAsync(s.Id, WebhookDeliveryStatuses.Pending, null, 10, default)).Items.Count);
        Assert.Equal(4, await h.Webhooks.CountPendingAsync(default));
    }
}
