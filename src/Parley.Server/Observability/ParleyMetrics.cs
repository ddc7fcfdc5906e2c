using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace Parley.Server.Observability;

/// <summary>Meter names, instrument names and tag keys (docs/metrics.md). Names follow the reference set.</summary>
public static class Telemetry
{
    public const string IngressMeter = "Parley.Ingress";
    public const string LogMeter = "Parley.Log";
    public const string DeliveryMeter = "Parley.Delivery";
    public const string RealtimeMeter = "Parley.Realtime";

    public static readonly string[] Meters = [IngressMeter, LogMeter, DeliveryMeter, RealtimeMeter];

    public static class Tags
    {
        public const string ContentType = "content_type";
        public const string Reason = "reason";
        public const string StatusCode = "status_code";
        public const string Status = "status";
        public const string Operation = "operation";
        public const string Source = "source";
        public const string Partition = "partition";
        public const string IdempotentHit = "idempotent_hit";
        public const string Step = "step";
    }

    /// <summary>Bucket bounds in milliseconds, from sub-millisecond acks to multi-second stalls.</summary>
    public static readonly double[] MillisecondBuckets = [0.5, 1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000];
}

/// <summary>Every instrument Parley records, created once from the host's <see cref="IMeterFactory"/>.</summary>
public sealed class ParleyMetrics
{
    private readonly ConcurrentDictionary<int, long> _lag = new();
    private Func<int>? _heldPartitions;

    public ParleyMetrics(IMeterFactory meters)
    {
        var ingress = meters.Create(Telemetry.IngressMeter);
        ProducerEnqueued = ingress.CreateCounter<long>("producer_enqueued", description: "Messages accepted into the log (202)");
        ProducerRejected = ingress.CreateCounter<long>("producer_reject", description: "Sends rejected, by reason and HTTP status");
        ProducerEnqueueDuration = ingress.CreateHistogram<double>("producer_enqueue_duration_ms", description: "Ingress time from request to ack, milliseconds",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = Telemetry.MillisecondBuckets });
        IdempotencyHits = ingress.CreateCounter<long>("idempotency_hit", description: "Duplicates folded, by operation (ingress, persistence) and source");

        var log = meters.Create(Telemetry.LogMeter);
        StreamEnqueued = log.CreateCounter<long>("stream_enqueue", description: "Entries appended, by partition");
        StreamDequeued = log.CreateCounter<long>("stream_dequeue", description: "Entries handed to a worker, by partition");
        StreamDeadLettered = log.CreateCounter<long>("stream_dead_letter", description: "Entries moved to the dead-letter store, by partition and reason");
        StreamProcessingDuration = log.CreateHistogram<double>("stream_processing_duration_ms", description: "Time from read to ack of a batch, milliseconds",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = Telemetry.MillisecondBuckets });
        LeaseChanges = log.CreateCounter<long>("partition_lease_changes", description: "This node's partition lease changes, by status (acquired, released, lost, fenced)");
        log.CreateObservableGauge("partition_leases_held", () => _heldPartitions?.Invoke() ?? 0, description: "Partitions whose lease this node holds");
        log.CreateObservableGauge("stream_partition_lag", () => _lag.Select(l => new Measurement<long>(l.Value, new KeyValuePair<string, object?>(Telemetry.Tags.Partition, l.Key))),
            description: "Entries appended but not yet finished, by partition (sampled)");

        var delivery = meters.Create(Telemetry.DeliveryMeter);
        PersistCount = delivery.CreateCounter<long>("delivery_persist", description: "Messages persisted, by status and idempotent_hit");
        PersistDuration = delivery.CreateHistogram<double>("delivery_persist_duration_ms", description: "Store transaction time per batch, milliseconds",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = Telemetry.MillisecondBuckets });
        FanoutAttempted = delivery.CreateCounter<long>("delivery_fanout_attempted", description: "Recipients a new message was pushed to");
        FanoutDelivered = delivery.CreateCounter<long>("delivery_fanout_delivered", description: "Pushes handed to the realtime layer");
        FanoutFailed = delivery.CreateCounter<long>("delivery_fanout_failed", description: "Pushes that failed, by reason");
        PipelineProcessed = delivery.CreateCounter<long>("delivery_pipeline_processed", description: "Entries finished by the pipeline, by partition and status");
        PipelineDuration = delivery.CreateHistogram<double>("delivery_pipeline_duration_ms", description: "Acceptance to ack for each message, milliseconds",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = Telemetry.MillisecondBuckets });
        PipelineStepDuration = delivery.CreateHistogram<double>("delivery_pipeline_step_duration_ms", description: "Time per pipeline step (persist, fanout, ack), milliseconds",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = Telemetry.MillisecondBuckets });

        var realtime = meters.Create(Telemetry.RealtimeMeter);
        Connections = realtime.CreateUpDownCounter<long>("realtime_connections", description: "Connected realtime clients on this node");
        SlowConsumerDisconnects = realtime.CreateCounter<long>("realtime_slow_consumer_disconnects", description: "Connections closed because their outbound queue was full");
        OversizedFrames = realtime.CreateCounter<long>("realtime_oversized_frames", description: "Connections closed for sending a frame over Parley:Limits:MaxRealtimeFrameBytes");
        RecoveryResults = realtime.CreateCounter<long>("realtime_recovery", description: "Resume answers per conversation, by status (recovered, resync)");
        TypingEvents = realtime.CreateCounter<long>("realtime_typing_events", description: "Typing calls, by status (relayed, rate_limited)");
        TokenExpiredDisconnects = realtime.CreateCounter<long>("realtime_token_expired_disconnects", description: "Connections closed because their access token expired without an in-band refresh");
    }

    public Counter<long> SlowConsumerDisconnects { get; }
    public Counter<long> OversizedFrames { get; }
    public Counter<long> RecoveryResults { get; }
    public Counter<long> TypingEvents { get; }
    public Counter<long> TokenExpiredDisconnects { get; }

    public Counter<long> ProducerEnqueued { get; }
    public Counter<long> ProducerRejected { get; }
    public Histogram<double> ProducerEnqueueDuration { get; }
    public Counter<long> IdempotencyHits { get; }
    public Counter<long> StreamEnqueued { get; }
    public Counter<long> StreamDequeued { get; }
    public Counter<long> StreamDeadLettered { get; }

    public Counter<long> LeaseChanges { get; }

    public void ObserveHeldPartitions(Func<int> count) => _heldPartitions = count;
    public Histogram<double> StreamProcessingDuration { get; }
    public Counter<long> PersistCount { get; }
    public Histogram<double> PersistDuration { get; }
    public Counter<long> FanoutAttempted { get; }
    public Counter<long> FanoutDelivered { get; }
    public Counter<long> FanoutFailed { get; }
    public Counter<long> PipelineProcessed { get; }
    public Histogram<double> PipelineDuration { get; }
    public Histogram<double> PipelineStepDuration { get; }
    public UpDownCounter<long> Connections { get; }

    public void SetLag(int partition, long pending) => _lag[partition] = pending;

    public static KeyValuePair<string, object?> Tag(string key, object? value) => new(key, value);
}
