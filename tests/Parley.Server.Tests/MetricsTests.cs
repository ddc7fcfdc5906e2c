using Microsoft.Extensions.DependencyInjection;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Parley.Core.Ports;
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
            s.AddSingleton<IMessageStore>(sp => new PoisonStore(sp.GetRequiredService<SqliteStore>())));

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
    public async Task The_prometheus_endpoint_shows_the_documented_metrics_after_a_short_mixed_load()
    {
        await using var server = await TestServer.StartAsync(services: s =>
            s.AddSingleton<IMessageStore>(sp => new PoisonStore(sp.GetRequiredService<SqliteStore>())));
        using var client = server.Client();
        var alice = await client.SignUpAsync();
        var bob = await client.SignUpAsync();
        var conversation = await client.DirectAsync(alice, bob.UserId);
        await using var bobDevice = await client.ConnectAsync(bob);
        await client.SendAsync(alice, conversation.Id, "hello", "one");
        await client.SendAsync(alice, conversation.Id, "hello", "one");
        await client.SendAsync(alice, conversation.Id, "poison");
        using (await client.SendRawAsync(HttpMethod.Post, $"/api/v1/conversations/{conversation.Id}/messages", alice, "{}"))
        {
        }

        await client.WaitForStoredAsync(alice, conversation.Id, 1);
        var log = server.Services.GetRequiredService<IMessageLog>();
        for (var i = 0; i < 100 && (await log.ListDeadLettersAsync(1, default)).Count == 0; i++)
        {
            await Task.Delay(100);
        }

        var text = await client.Http.GetStringAsync("/metrics");
        foreach (var name in new[]
        {
            "producer_enqueued_total", "producer_enqueue_duration_ms_bucket", "stream_enqueue_total", "stream_dequeue_total",
            "stream_partition_lag", "stream_processing_duration_ms_bucket", "delivery_persist_total", "delivery_persist_duration_ms_bucket",
            "delivery_fanout_attempted_total", "delivery_pipeline_processed_total", "delivery_pipeline_duration_ms_bucket",
            "delivery_pipeline_step_duration_ms_bucket", "idempotency_hit_total", "producer_reject_total", "stream_dead_letter_total",
            "delivery_fanout_delivered_total", "realtime_connections",
        })
        {
            Assert.Contains(name, text, StringComparison.Ordinal);
        }
    }
}
