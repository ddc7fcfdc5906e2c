using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Parley.Core.Ports;
using Parley.Server.Hosting;
using Parley.Server.Observability;
using Parley.Server.Tests.Infrastructure;
using Parley.Sqlite;

namespace Parley.Server.Tests;

/// <summary>O1: the instruments move when the things they count happen (asserted in memory, per server).</summary>
public sealed class MetricsTests
{
    [Fact]
    public async Task Sends_duplicates_persistence_fanout_and_dead_letters_are_counted()
    {
        await using var server = await TestServer.StartAsync(services: s =>
            s.AddSingleton<IMessageStore>(sp => new PoisonStore(sp.GetRequiredService<SqliteMessageStore>())));

        // Collectors bind to this server's IMeterFactory, so parallel servers in the process do not leak in.
        var meters = server.Services.GetRequiredService<IMeterFactory>();
        MetricCollector<long> Counter(string meter, string name) => new(meters, meter, name);
        MetricCollector<double> Histogram(string meter, string name) => new(meters, meter, name);
        using var enqueued = Counter(Telemetry.IngressMeter, "producer_enqueued");
        using var hits = Counter(Telemetry.IngressMeter, "idempotency_hit");
        using var rejected = Counter(Telemetry.IngressMeter, "producer_reject");
        using var ackLatency = Histogram(Telemetry.IngressMeter, "producer_enqueue_duration_ms");
        using var appended = Counter(Telemetry.LogMeter, "stream_enqueue");
        using var deadLettered = Counter(Telemetry.LogMeter, "stream_dead_letter");
        using var persisted = Counter(Telemetry.DeliveryMeter, "delivery_persist");
        using var fanout = Counter(Telemetry.DeliveryMeter, "delivery_fanout_attempted");
        using var steps = Histogram(Telemetry.DeliveryMeter, "delivery_pipeline_step_duration_ms");
        using var connections = Counter(Telemetry.RealtimeMeter, "realtime_connections");

        using var client = server.Client();
        var alice = await client.SignUpAsync();
        var bob = await client.SignUpAsync();
        var conversation = await client.DirectAsync(alice, bob.UserId);
        await using var bobDevice = await client.ConnectAsync(bob);

        await client.SendAsync(alice, conversation.Id, "hello", "same");
        await client.SendAsync(alice, conversation.Id, "hello", "same");
        await client.SendAsync(alice, conversation.Id, "poison");
        using (var bad = await client.SendRawAsync(HttpMethod.Post, $"/api/v1/conversations/{conversation.Id}/messages", alice, """{"content":" "}"""))
        {
            Assert.Equal(System.Net.HttpStatusCode.BadRequest, bad.StatusCode);
        }

        await bobDevice.WaitForMessagesAsync(m => m.Count >= 1);
        await deadLettered.WaitForMeasurementsAsync(1, TimeSpan.FromSeconds(30));

        Assert.Equal(3, enqueued.GetMeasurementSnapshot().EvaluateAsCounter());
        Assert.Equal(1, hits.GetMeasurementSnapshot().Where(m => Tag(m.Tags, "operation") == "ingress").Sum(m => m.Value));
        var reject = Assert.Single(rejected.GetMeasurementSnapshot());
        Assert.Equal(("invalid_value", "400"), (Tag(reject.Tags, "reason"), Tag(reject.Tags, "status_code")));
        Assert.Equal(4, ackLatency.GetMeasurementSnapshot().Count);
        Assert.Equal(2, appended.GetMeasurementSnapshot().EvaluateAsCounter());
        Assert.Equal(1, persisted.GetMeasurementSnapshot().Where(m => Tag(m.Tags, "status") == "inserted").Sum(m => m.Value));
        Assert.Equal(nameof(InvalidOperationException), Tag(Assert.Single(deadLettered.GetMeasurementSnapshot()).Tags, "reason"));
        Assert.Equal(2, fanout.GetMeasurementSnapshot().EvaluateAsCounter());
        Assert.Contains(steps.GetMeasurementSnapshot(), m => Tag(m.Tags, "step") == "persist");
        Assert.Equal(1, connections.GetMeasurementSnapshot().EvaluateAsCounter());
    }

    private static string? Tag(IReadOnlyDictionary<string, object?> tags, string key) => tags.TryGetValue(key, out var v) ? v?.ToString() : null;

    [Fact]
    public async Task Every_parley_instrument_is_documented_in_metrics_md_and_every_documented_metric_is_an_instrument()
    {
        var documented = MetricsDoc.Series();
        var published = new List<Instrument>();
        using (var listener = new MeterListener { InstrumentPublished = (instrument, _) => { lock (published) { if (Telemetry.Meters.Contains(instrument.Meter.Name)) { published.Add(instrument); } } } })
        {
            listener.Start();
            await using var server = await TestServer.StartAsync();
            _ = server.Services.GetRequiredService<Parley.Server.Realtime.RealtimeMetrics>();
            _ = server.Services.GetRequiredService<Parley.Server.Pipeline.DeliveryMetrics>();
            _ = server.Services.GetRequiredService<Parley.Server.Messaging.IngressMetrics>();
            _ = server.Services.GetRequiredService<Parley.Server.Push.PushResilience>();
            _ = server.Services.GetRequiredService<Parley.Server.Webhooks.WebhookMetrics>();
        }

        var exported = published.Select(MetricsDoc.ExportedName).ToHashSet(StringComparer.Ordinal);
        Assert.True(documented.Count >= 20, $"docs/metrics.md parsed to only {documented.Count} metrics");
        Assert.Empty(exported.Except(documented.Keys, StringComparer.Ordinal));
        Assert.Empty(documented.Keys.Except(exported, StringComparer.Ordinal));
    }

    [Fact]
    public async Task The_prometheus_endpoint_shows_every_documented_metric_after_a_short_mixed_load()
    {
        // A push gateway that takes one device's pushes and refuses the other's for good (a dead letter at once).
        await using var gateway = await PushReceiver.StartAsync();
        gateway.Respond = r => r.Text.Contains("refused-token", StringComparison.Ordinal) ? (400, "{}") : (200, "");
        await using var server = await TestServer.StartAsync(
            new Dictionary<string, string?>
            {
                ["Parley:Limits:MaxRealtimeFrameBytes"] = "4096",
                ["Parley:Push:Webhook:Url"] = new Uri(gateway.BaseAddress, "/gateway").AbsoluteUri,
                ["Parley:Push:Webhook:Secret"] = "gateway-secret-0123456789",
                ["Parley:Push:CoalesceWindow"] = "00:00:00",
            },
            services: s => s.AddSingleton<IMessageStore>(sp => new PoisonStore(sp.GetRequiredService<SqliteMessageStore>())));
        using var client = server.Client();
        var alice = await client.SignUpAsync();
        var bob = await client.SignUpAsync();
        var conversation = await client.DirectAsync(alice, bob.UserId);
        var (carol, dave) = (await client.SignUpAsync(), await client.SignUpAsync());
        await client.OkAsync<System.Text.Json.JsonElement>(HttpMethod.Post, "/api/v1/devices", carol, new { platform = "webhook", token = "taken-token" }, System.Net.HttpStatusCode.Created);
        await client.OkAsync<System.Text.Json.JsonElement>(HttpMethod.Post, "/api/v1/devices", dave, new { platform = "webhook", token = "refused-token" }, System.Net.HttpStatusCode.Created);
        var offline = await client.GroupAsync(alice, "offline", carol.UserId, dave.UserId);
        await client.SendAsync(alice, offline.Id, "to the offline ones");
        await using var bobDevice = await client.ConnectAsync(bob);
        await client.SendAsync(alice, conversation.Id, "hello", "one");
        await client.SendAsync(alice, conversation.Id, "hello", "one");
        await client.SendAsync(alice, conversation.Id, "poison");
        using (await client.SendRawAsync(HttpMethod.Post, $"/api/v1/conversations/{conversation.Id}/messages", alice, "{}"))
        {
        }

        // A disappearing message, for the expiry worker's metrics.
        await client.OkAsync<System.Text.Json.JsonElement>(HttpMethod.Post, $"/api/v1/conversations/{conversation.Id}/messages", alice,
            new { content = "gone soon", expiresAt = DateTimeOffset.UtcNow.AddMilliseconds(500) }, System.Net.HttpStatusCode.Accepted);

        await client.WaitForStoredAsync(alice, conversation.Id, 1);
        // realtime_outbound_wait_ms is recorded when a live message has been written to a device.
        await bobDevice.WaitForMessagesAsync(m => m.Count > 0);
        await bobDevice.Connection.InvokeAsync("Typing", conversation.Id, true);
        await bobDevice.Connection.InvokeAsync<List<object>>("Resume", new[] { new { conversationId = conversation.Id, lastSequence = 0L } });
        await using (var oversized = await client.ConnectAsync(alice))
        {
            var closed = new TaskCompletionSource();
            oversized.Connection.Closed += _ => { closed.TrySetResult(); return Task.CompletedTask; };
            _ = oversized.Connection.SendAsync("Typing", conversation.Id, true, new string('x', 8192));
            await closed.Task.WaitAsync(TimeSpan.FromSeconds(30));
        }

        await Eventually.TrueAsync(async () => (await client.HistoryAsync(alice, conversation.Id)).Items.Any(m => m.Content == "" ), "the disappearing message to expire");
        var log = server.Services.GetRequiredService<IMessageLog>();
        await Eventually.TrueAsync(async () => (await log.ListDeadLettersAsync(1, default)).Count > 0, "the poison message to be dead-lettered");
        var push = server.Services.GetRequiredService<IPushQueue>();
        await Eventually.TrueAsync(async () => gateway.Requests.Count == 2 && await push.CountAsync(default) == 0, "both pushes sent or dead-lettered");

        var documented = MetricsDoc.Series();
        var text = await client.Http.GetStringAsync("/metrics");
        var shown = text.Split('\n').Where(l => l.Length > 0 && l[0] != '#').Select(l => l.Split('{', ' ')[0]).ToHashSet(StringComparer.Ordinal);
        // Counters appear in /metrics at their first event. These three count failures this load does not cause
        // (a push that throws, a device that never reads, a token expiring mid-connection, a push provider down long
        // enough to open its breaker); RealtimeTests and PushTests cause them, and the instrument test above proves all
        // of them exist and are documented. The webhook ones need a subscription and a receiver, which WebhooksTests has
        // (and checks these three in); the reconciliation ones appear once a run has finished, which ReconciliationTests
        // starts and checks in /metrics.
        string[] notCausedHere = ["delivery_fanout_failed_total", "realtime_slow_consumer_disconnects_total", "realtime_token_expired_disconnects_total",
            "circuit_breaker_transitions_total", "webhook_deliveries_total", "webhook_delivery_duration_ms", "webhook_subscriptions_disabled_total",
            "reconciliation_drift", "reconciliation_runs_total"];
        Assert.All(notCausedHere, name => Assert.Contains(name, documented.Keys));
        var missing = documented.Where(d => !shown.Contains(d.Value) && !notCausedHere.Contains(d.Key)).Select(d => d.Key).ToList();
        Assert.True(missing.Count == 0, $"documented in docs/metrics.md but not in /metrics after the mixed load: {string.Join(", ", missing)}");
    }
}
