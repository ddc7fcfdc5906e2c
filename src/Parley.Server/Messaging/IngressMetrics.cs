using System.Diagnostics.Metrics;
using Parley.Server.Hosting;

namespace Parley.Server.Messaging;

/// <summary>What the ingress records (docs/metrics.md): one method per event, so the ingress reads as its steps.</summary>
public sealed class IngressMetrics
{
    private readonly Counter<long> _enqueued;
    private readonly Counter<long> _rejected;
    private readonly Histogram<double> _enqueueDuration;
    private readonly Counter<long> _idempotencyHits;
    private readonly Counter<long> _streamEnqueued;

    public IngressMetrics(IMeterFactory meters)
    {
        var ingress = meters.Create(Telemetry.IngressMeter);
        _enqueued = ingress.CreateCounter<long>("producer_enqueued", description: "Messages accepted into the log (202)");
        _rejected = ingress.CreateCounter<long>("producer_reject", description: "Sends rejected, by reason and HTTP status");
        _enqueueDuration = ingress.CreateHistogram<double>("producer_enqueue_duration_ms", description: "Ingress time from request to ack, milliseconds",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = Telemetry.MillisecondBuckets });
        _idempotencyHits = ingress.CreateCounter<long>("idempotency_hit", description: "Duplicates folded, by operation (ingress, persistence) and source");

        var log = meters.Create(Telemetry.LogMeter);
        _streamEnqueued = log.CreateCounter<long>("stream_enqueue", description: "Entries appended, by partition");
    }

    /// <summary>A send was acknowledged: a new entry appended to <paramref name="partition"/>, or a resend found in <paramref name="hitSource"/>.</summary>
    public void Accepted(string contentType, bool idempotentHit, string hitSource, int partition, TimeSpan elapsed)
    {
        _enqueued.Add(1, Tag(Telemetry.Tags.ContentType, contentType));
        if (idempotentHit)
        {
            IdempotencyHit("ingress", hitSource);
        }
        else
        {
            _streamEnqueued.Add(1, Tag(Telemetry.Tags.Partition, partition));
        }

        _enqueueDuration.Record(elapsed.TotalMilliseconds, Tag(Telemetry.Tags.Status, idempotentHit ? "duplicate" : "accepted"));
    }

    public void Rejected(string reason, int statusCode, TimeSpan elapsed)
    {
        _rejected.Add(1, Tag(Telemetry.Tags.Reason, reason), Tag(Telemetry.Tags.StatusCode, statusCode));
        _enqueueDuration.Record(elapsed.TotalMilliseconds, Tag(Telemetry.Tags.Status, "rejected"));
    }

    /// <summary>A duplicate folded by <paramref name="operation"/> (ingress, persistence), found in <paramref name="source"/>.</summary>
    public void IdempotencyHit(string operation, string source) =>
        _idempotencyHits.Add(1, Tag(Telemetry.Tags.Operation, operation), Tag(Telemetry.Tags.Source, source));

    private static KeyValuePair<string, object?> Tag(string key, object? value) => new(key, value);
}
