using Parley.Core.Ports;
using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Parley.Server.Hosting;
using Parley.Server.Messaging;

namespace Parley.Server.Pipeline;

/// <summary>
/// What the delivery side records (docs/metrics.md): the pipeline, partition ownership and the lag sampler, on the
/// Parley.Log and Parley.Delivery meters. One method per event, so the pipeline reads as its steps.
/// </summary>
public sealed class DeliveryMetrics
{
    private readonly IngressMetrics _ingress;
    private readonly ConcurrentDictionary<int, long> _lag = new();
    private Func<int>? _heldPartitions;

    private readonly Counter<long> _dequeued;
    private readonly Counter<long> _deadLettered;
    private readonly Histogram<double> _batchDuration;
    private readonly Counter<long> _leaseChanges;
    private readonly Counter<long> _persisted;
    private readonly Histogram<double> _persistDuration;
    private readonly Histogram<long> _persistGroup;
    private readonly Counter<long> _processed;
    private readonly Histogram<double> _endToEnd;
    private readonly Histogram<double> _stepDuration;
    private readonly Histogram<double> _queueWait;
    private readonly Counter<long> _expired;
    private readonly Histogram<double> _expiryLate;

    public DeliveryMetrics(IMeterFactory meters, IngressMetrics ingress)
    {
        // idempotency_hit counts the ingress's and the store's folds in one instrument; the ingress owns it.
        _ingress = ingress;

        var log = meters.Create(Telemetry.LogMeter);
        _dequeued = log.CreateCounter<long>("stream_dequeue", description: "Entries handed to a worker, by partition");
        _deadLettered = log.CreateCounter<long>("stream_dead_letter", description: "Entries moved to the dead-letter store, by partition and reason");
        _batchDuration = log.CreateHistogram<double>("stream_processing_duration_ms", description: "Time from read to ack of a batch, milliseconds",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = Telemetry.MillisecondBuckets });
        _leaseChanges = log.CreateCounter<long>("partition_lease_changes", description: "This node's partition lease changes, by status (acquired, released, lost, fenced)");
        log.CreateObservableGauge("partition_leases_held", () => _heldPartitions?.Invoke() ?? 0, description: "Partitions whose lease this node holds");
        log.CreateObservableGauge("stream_partition_lag", () => _lag.Select(l => new Measurement<long>(l.Value, Tag(Telemetry.Tags.Partition, l.Key))),
            description: "Entries appended but not yet finished, by partition (sampled)");

        var delivery = meters.Create(Telemetry.DeliveryMeter);
        _persisted = delivery.CreateCounter<long>("delivery_persist", description: "Messages persisted, by status and idempotent_hit");
        _persistDuration = delivery.CreateHistogram<double>("delivery_persist_duration_ms", description: "Store transaction time per batch, milliseconds",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = Telemetry.MillisecondBuckets });
        _persistGroup = delivery.CreateHistogram<long>("delivery_persist_group_batches", description: "Partition batches stored by one store transaction (the group commit)",
            advice: new InstrumentAdvice<long> { HistogramBucketBoundaries = [1, 2, 4, 8, 16, 32, 64] });
        _processed = delivery.CreateCounter<long>("delivery_pipeline_processed", description: "Entries finished by the pipeline, by partition and status");
        _endToEnd = delivery.CreateHistogram<double>("delivery_pipeline_duration_ms", description: "Acceptance to ack for each message, milliseconds",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = Telemetry.MillisecondBuckets });
        _queueWait = delivery.CreateHistogram<double>("delivery_queue_wait_ms", description: "A message's time from acceptance to being read by a delivery worker, milliseconds",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = Telemetry.MillisecondBuckets });
        _expired = delivery.CreateCounter<long>("message_expiry_appended", description: "Deletes of disappearing messages the expiry worker appended to the log");
        _expiryLate = delivery.CreateHistogram<double>("message_expiry_delay_ms", description: "How long after its expiry a disappearing message's delete was appended, milliseconds",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = Telemetry.MillisecondBuckets });
        _stepDuration = delivery.CreateHistogram<double>("delivery_pipeline_step_duration_ms", description: "Time per pipeline step (persist, fanout, ack), milliseconds",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = Telemetry.MillisecondBuckets });
    }

    /// <summary>The expiry worker appended the delete of a disappearing message <paramref name="late"/> after its expiry.</summary>
    public void MessageExpired(TimeSpan late)
    {
        _expired.Add(1);
        _expiryLate.Record(Math.Max(0, late.TotalMilliseconds));
    }

    /// <summary>A worker read a batch of <paramref name="count"/> entries.</summary>
    public void Dequeued(int partition, int count) => _dequeued.Add(count, Tag(Telemetry.Tags.Partition, partition));

    /// <summary>A worker read a message <paramref name="sinceAccepted"/> after the ingress accepted it (the append included).</summary>
    public void Waited(TimeSpan sinceAccepted) => _queueWait.Record(Math.Max(0, sinceAccepted.TotalMilliseconds));

    /// <summary>A batch went from read to ack (or was given up) in <paramref name="elapsed"/>.</summary>
    public void BatchFinished(int partition, TimeSpan elapsed) =>
        _batchDuration.Record(elapsed.TotalMilliseconds, Tag(Telemetry.Tags.Partition, partition));

    /// <summary>One store transaction for <paramref name="batches"/> partitions' batches, <c>ok</c> or <c>error</c>.</summary>
    public void PersistTransaction(string status, int batches, TimeSpan elapsed)
    {
        _persistDuration.Record(elapsed.TotalMilliseconds, Tag(Telemetry.Tags.Status, status));
        if (status == "ok")
        {
            _persistGroup.Record(batches);
        }
    }

    /// <summary>A message stored for the first time.</summary>
    public void Inserted() => _persisted.Add(1, Tag(Telemetry.Tags.Status, "inserted"), Tag(Telemetry.Tags.IdempotentHit, false));

    /// <summary>A replayed message the store already had.</summary>
    public void Duplicate()
    {
        _persisted.Add(1, Tag(Telemetry.Tags.Status, "duplicate"), Tag(Telemetry.Tags.IdempotentHit, true));
        _ingress.IdempotencyHit("persistence", "store");
    }

    /// <summary>A pipeline step (persist, fanout, ack) took <paramref name="elapsed"/> for a batch.</summary>
    public void Step(string step, TimeSpan elapsed) => _stepDuration.Record(elapsed.TotalMilliseconds, Tag(Telemetry.Tags.Step, step));

    /// <summary>An entry done: a message stored, a change applied ("changed"), a change that changed nothing ("unchanged"), or a duplicate.</summary>
    public void Finished(int partition, PersistResult result, TimeSpan sinceAccepted)
    {
        var inserted = result.Outcome == PersistOutcome.Inserted && result.Change is null;
        var status = result.Outcome switch
        {
            PersistOutcome.Inserted => inserted ? "stored" : "changed",
            PersistOutcome.Unchanged => "unchanged",
            _ => "duplicate",
        };
        _processed.Add(1, Tag(Telemetry.Tags.Partition, partition), Tag(Telemetry.Tags.Status, status));
        if (inserted)
        {
            _endToEnd.Record(sinceAccepted.TotalMilliseconds, Tag(Telemetry.Tags.Partition, partition));
        }
    }

    public void DeadLettered(int partition, string reason)
    {
        _deadLettered.Add(1, Tag(Telemetry.Tags.Partition, partition), Tag(Telemetry.Tags.Reason, reason));
        _processed.Add(1, Tag(Telemetry.Tags.Partition, partition), Tag(Telemetry.Tags.Status, "dead_lettered"));
    }

    /// <summary>This node's lease on a partition changed: acquired, released, lost or fenced.</summary>
    public void LeaseChanged(string status) => _leaseChanges.Add(1, Tag(Telemetry.Tags.Status, status));

    public void ObserveHeldPartitions(Func<int> count) => _heldPartitions = count;

    public void SetLag(int partition, long pending) => _lag[partition] = pending;

    private static KeyValuePair<string, object?> Tag(string key, object? value) => new(key, value);
}
