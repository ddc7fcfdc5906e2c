using System.Diagnostics.Metrics;
using Parley.Server.Hosting;
using Polly.CircuitBreaker;

namespace Parley.Server.Push;

/// <summary>What push records (docs/metrics.md), on the Parley.Push meter; names from the reference set where it has them.</summary>
public sealed class PushMetrics
{
    private readonly Counter<long> _enqueued;
    private readonly Counter<long> _sent;
    private readonly Counter<long> _failed;
    private readonly Counter<long> _deadLettered;
    private readonly Counter<long> _breakerTransitions;
    private readonly Histogram<double> _sendDuration;
    private readonly Histogram<double> _latency;
    private Func<IEnumerable<(string Platform, CircuitState State)>>? _breakers;
    private long _queued;

    public PushMetrics(IMeterFactory meters)
    {
        var meter = meters.Create(Telemetry.PushMeter);
        _enqueued = meter.CreateCounter<long>("delivery_push_enqueued", description: "Push jobs made for offline recipients, by reason (offline: a new job; coalesced: folded into a waiting one)");
        _sent = meter.CreateCounter<long>("delivery_push_sent", description: "Pushes a provider accepted, by platform");
        _failed = meter.CreateCounter<long>("delivery_push_failed", description: "Failed push attempts, by platform and reason (retryable, permanent, gone, breaker_open, timeout)");
        _deadLettered = meter.CreateCounter<long>("push_dead_letter", description: "Push jobs moved to the push dead letters, by platform and reason");
        _breakerTransitions = meter.CreateCounter<long>("circuit_breaker_transitions", description: "Circuit breaker state changes, by breaker and state");
        _sendDuration = meter.CreateHistogram<double>("delivery_push_send_duration_ms", description: "One provider call, milliseconds, by platform",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = Telemetry.MillisecondBuckets });
        _latency = meter.CreateHistogram<double>("delivery_push_latency_ms", description: "From a job's first message to the provider accepting its push, milliseconds",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [.. Telemetry.MillisecondBuckets, 10_000, 30_000, 60_000] });
        meter.CreateObservableGauge("circuit_breaker_state", () => (_breakers?.Invoke() ?? []).Select(b =>
            new Measurement<int>(b.State switch { CircuitState.Closed => 0, CircuitState.HalfOpen => 1, _ => 2 },
                new KeyValuePair<string, object?>("breaker", $"push_{b.Platform}"))),
            description: "Each circuit breaker's state: 0 closed, 1 half-open, 2 open or isolated");
        meter.CreateObservableGauge("push_queue_depth", () => Interlocked.Read(ref _queued), description: "Push jobs queued and not yet finished (sampled by the dispatcher)");
    }

    public void Enqueued(int fresh, int coalesced)
    {
        if (fresh > 0)
        {
            _enqueued.Add(fresh, new KeyValuePair<string, object?>(Telemetry.Tags.Reason, "offline"));
        }

        if (coalesced > 0)
        {
            _enqueued.Add(coalesced, new KeyValuePair<string, object?>(Telemetry.Tags.Reason, "coalesced"));
        }
    }

    public void Sent(string platform, double latencyMs)
    {
        _sent.Add(1, new KeyValuePair<string, object?>("platform", platform));
        _latency.Record(latencyMs, new KeyValuePair<string, object?>("platform", platform));
    }

    public void Failed(string platform, string reason) =>
        _failed.Add(1, new KeyValuePair<string, object?>("platform", platform), new KeyValuePair<string, object?>(Telemetry.Tags.Reason, reason));

    public void DeadLettered(string platform, string reason) =>
        _deadLettered.Add(1, new KeyValuePair<string, object?>("platform", platform), new KeyValuePair<string, object?>(Telemetry.Tags.Reason, reason));

    public void SendDuration(string platform, double ms) => _sendDuration.Record(ms, new KeyValuePair<string, object?>("platform", platform));

    public void BreakerChanged(string platform, string state) =>
        _breakerTransitions.Add(1, new KeyValuePair<string, object?>("breaker", $"push_{platform}"), new KeyValuePair<string, object?>("state", state));

    public void ObserveBreakers(Func<IEnumerable<(string Platform, CircuitState State)>> breakers) => _breakers = breakers;

    public void QueueDepth(long depth) => Interlocked.Exchange(ref _queued, depth);
}
