using System.Diagnostics;
using Microsoft.Extensions.Options;
using Parley.Core.Messaging;
using Parley.Core.Ports;
using Parley.Hosting;
using Parley.Server.Hosting;
using Parley.Server.Observability;
using Parley.Server.Realtime;

namespace Parley.Server.Pipeline;

/// <summary>
/// P5 for one batch of one partition: persist (batched, idempotent) → fan out new messages → acknowledge.
/// The ack comes only after the store commit, so a crash anywhere before it replays the batch, and the
/// store's idempotency turns the replay into no-ops. Failures are retried per entry in place (keeping the
/// partition's order) until the delivery limit, then the entry is dead-lettered and the partition moves on.
/// A transient failure (the store or the log unreachable) is different: the batch is held and retried in
/// place, without spending its retry budget, until the dependency is back (E3).
/// </summary>
public sealed class DeliveryPipeline(
    IMessageLog log,
    IMessageStore store,
    RealtimeNotifier notifier,
    PartitionOwnership ownership,
    TransientErrors transient,
    PipelineStatus status,
    ParleyMetrics metrics,
    IOptions<LogOptions> options,
    TimeProvider time,
    ILogger<DeliveryPipeline> logger)
{
    private static readonly TimeSpan RetryDelay = TimeSpan.FromMilliseconds(200);
    private static readonly TimeSpan MaxTransientDelay = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Processes one batch to completion. Shutdown does not interrupt a batch that is making progress; it only
    /// ends a wait for an unavailable dependency (the batch then stays pending and is replayed on the next start).
    /// </summary>
    public async Task ProcessAsync(int partition, IReadOnlyList<LogEntry> entries, PartitionFence fence, CancellationToken stopping)
    {
        var started = time.GetTimestamp();
        metrics.StreamDequeued.Add(entries.Count, ParleyMetrics.Tag(Telemetry.Tags.Partition, partition));
        try
        {
            await ProcessBatchAsync(partition, entries, fence, stopping);
        }
        catch (PartitionFencedException)
        {
            // Nothing of this batch was written or acked: it stays pending and the new holder takes it over.
            await ownership.FencedAsync(partition, fence.Epoch, CancellationToken.None);
        }
        finally
        {
            metrics.StreamProcessingDuration.Record(time.GetElapsedTime(started).TotalMilliseconds, ParleyMetrics.Tag(Telemetry.Tags.Partition, partition));
        }
    }

    private async Task ProcessBatchAsync(int partition, IReadOnlyList<LogEntry> entries, PartitionFence fence, CancellationToken stopping)
    {
        var ct = CancellationToken.None;
        var work = new List<(LogEntry Entry, MessageEnvelope Envelope)>(entries.Count);
        foreach (var entry in entries)
        {
            if (entry.DeliveryCount > options.Value.MaxDeliveries)
            {
                // It has been handed out too often without finishing: it probably crashes the process.
                await DeadLetterAsync(entry, null, "DeliveryLimitExceeded", "The entry was delivered more times than allowed without completing", ct);
                continue;
            }

            try
            {
                work.Add((entry, entry.Payload.Decode()));
            }
            catch (Exception ex)
            {
                await DeadLetterAsync(entry, null, "UndecodableEnvelope", ex.Message, ct);
            }
        }

        if (work.Count == 0)
        {
            return;
        }

        PersistedBatch results;
        try
        {
            var batch = work.Select(w => w.Envelope).ToList();
            results = await HoldThroughOutagesAsync("Persist", partition, entries, () => PersistAsync(batch, fence), stopping);
        }
        catch (Exception ex) when (ex is not OperationCanceledException and not PartitionFencedException)
        {
            // Find the culprit one entry at a time, in order.
            foreach (var item in work)
            {
                await ProcessOneAsync(item.Entry, item.Envelope, entries, fence, stopping);
            }

            return;
        }

        await CompleteAsync(partition, work.Select(w => w.Entry).ToList(), results, stopping);
    }

    private async Task ProcessOneAsync(LogEntry entry, MessageEnvelope envelope, IReadOnlyList<LogEntry> held, PartitionFence fence, CancellationToken stopping)
    {
        using var scope = Log.MessageScope(logger, envelope.MessageId, envelope.CorrelationId, envelope.TraceParent);
        var ct = CancellationToken.None;
        while (true)
        {
            try
            {
                var results = await HoldThroughOutagesAsync("Persist", entry.Partition, held, () => PersistAsync([envelope], fence), stopping);
                await CompleteAsync(entry.Partition, [entry], results, stopping);
                return;
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                throw;
            }
            catch (Exception ex) when (ex is not PartitionFencedException)
            {
                Log.PersistAttemptFailed(logger, ex, entry.EntryId, entry.Partition, entry.DeliveryCount, envelope.CorrelationId);
                if (entry.DeliveryCount >= options.Value.MaxDeliveries)
                {
                    await DeadLetterAsync(entry, envelope, ex.GetType().Name, ex.Message, ct);
                    return;
                }

                await Task.Delay(RetryDelay * entry.DeliveryCount, time, ct);
                entry = await log.RecordFailedAttemptAsync(entry, ct);
            }
        }
    }

    /// <summary>
    /// A span in the message's own trace for its share of the batch transaction. The batch is shared by many
    /// traces, so each message gets a span covering the persist step, parented by its envelope's traceparent.
    /// </summary>
    private static Activity? TracePersisted(StoredMessage message, string? traceParent, int partition, DateTimeOffset persistStarted)
    {
        var activity = ParleyActivities.Delivery.StartActivity(ParleyActivities.Names.Persist, ActivityKind.Consumer,
            ParleyActivities.ParentOf(traceParent), startTime: persistStarted);
        activity?.SetTag(ParleyActivities.Tags.MessageId, message.Id)
            .SetTag(ParleyActivities.Tags.CorrelationId, message.CorrelationId)
            .SetTag(ParleyActivities.Tags.ConversationId, message.ConversationId)
            .SetTag(ParleyActivities.Tags.Sequence, message.Sequence)
            .SetTag(ParleyActivities.Tags.Partition, partition);
        return activity;
    }

    private async Task<PersistedBatch> PersistAsync(IReadOnlyList<MessageEnvelope> batch, PartitionFence fence)
    {
        var started = time.GetTimestamp();
        var startedAt = time.GetUtcNow();
        var status = "ok";
        try
        {
            return new PersistedBatch(await store.PersistBatchAsync(batch, fence, CancellationToken.None), startedAt);
        }
        catch
        {
            status = "error";
            throw;
        }
        finally
        {
            var elapsed = time.GetElapsedTime(started).TotalMilliseconds;
            metrics.PersistDuration.Record(elapsed, ParleyMetrics.Tag(Telemetry.Tags.Status, status));
            metrics.PipelineStepDuration.Record(elapsed, ParleyMetrics.Tag(Telemetry.Tags.Step, "persist"));
        }
    }

    private sealed record PersistedBatch(IReadOnlyList<PersistResult> Results, DateTimeOffset StartedAt);

    private async Task CompleteAsync(int partition, IReadOnlyList<LogEntry> entries, PersistedBatch persistedBatch, CancellationToken stopping)
    {
        var results = persistedBatch.Results;
        var ct = CancellationToken.None;
        var fanoutStarted = time.GetTimestamp();
        var acks = new List<LogEntry>(entries.Count);
        for (var i = 0; i < results.Count; i++)
        {
            var result = results[i];
            using var scope = Log.MessageScope(logger, result.Envelope.MessageId, result.Envelope.CorrelationId, result.Envelope.TraceParent);
            switch (result.Outcome)
            {
                case PersistOutcome.Rejected:
                    await DeadLetterAsync(entries[i], result.Envelope, "Rejected", result.RejectReason ?? "rejected by the store", ct);
                    continue;
                case PersistOutcome.Duplicate:
                    Log.PersistDuplicate(logger, result.Envelope.MessageId, result.Envelope.CorrelationId);
                    metrics.PersistCount.Add(1, ParleyMetrics.Tag(Telemetry.Tags.Status, "duplicate"), ParleyMetrics.Tag(Telemetry.Tags.IdempotentHit, true));
                    metrics.IdempotencyHits.Add(1, ParleyMetrics.Tag(Telemetry.Tags.Operation, "persistence"), ParleyMetrics.Tag(Telemetry.Tags.Source, "store"));
                    // A replay after a crash between the store commit and the fanout: push it again. Devices drop what
                    // they already got (per-connection sequence tracking), and the ones that missed it get it now.
                    if (await store.FindByIdempotencyKeyAsync(result.Envelope.IdempotencyKey, ct) is { } stored)
                    {
                        await notifier.MessageCreatedAsync(stored, result.MemberIds, ct);
                    }

                    break;
                case PersistOutcome.Inserted:
                    metrics.PersistCount.Add(1, ParleyMetrics.Tag(Telemetry.Tags.Status, "inserted"), ParleyMetrics.Tag(Telemetry.Tags.IdempotentHit, false));
                    using (var persisted = TracePersisted(result.Message!, result.Envelope.TraceParent, partition, persistedBatch.StartedAt))
                    using (ParleyActivities.Delivery.StartActivity(ParleyActivities.Names.Fanout, ActivityKind.Internal, persisted?.Context ?? default)?
                        .SetTag(ParleyActivities.Tags.MessageId, result.Message!.Id))
                    {
                        await notifier.MessageCreatedAsync(result.Message!, result.MemberIds, ct);
                    }

                    break;
            }

            acks.Add(entries[i]);
        }

        metrics.PipelineStepDuration.Record(time.GetElapsedTime(fanoutStarted).TotalMilliseconds, ParleyMetrics.Tag(Telemetry.Tags.Step, "fanout"));
        var ackStarted = time.GetTimestamp();
        await HoldThroughOutagesAsync("Ack", partition, acks, async () =>
        {
            await log.AckAsync(partition, acks, ct);
            return true;
        }, stopping);
        metrics.PipelineStepDuration.Record(time.GetElapsedTime(ackStarted).TotalMilliseconds, ParleyMetrics.Tag(Telemetry.Tags.Step, "ack"));

        var now = time.GetUtcNow();
        foreach (var result in results.Where(r => r.Outcome != PersistOutcome.Rejected))
        {
            var inserted = result.Outcome == PersistOutcome.Inserted;
            metrics.PipelineProcessed.Add(1, ParleyMetrics.Tag(Telemetry.Tags.Partition, partition), ParleyMetrics.Tag(Telemetry.Tags.Status, inserted ? "stored" : "duplicate"));
            if (inserted)
            {
                metrics.PipelineDuration.Record((now - result.Envelope.AcceptedAt).TotalMilliseconds, ParleyMetrics.Tag(Telemetry.Tags.Partition, partition));
            }
        }
    }

    /// <summary>
    /// Retries <paramref name="operation"/> for as long as its failures are transient, with capped backoff,
    /// telling the log meanwhile that the <paramref name="held"/> entries are still being worked on, so another
    /// node does not reclaim them (and count a delivery) during a long outage.
    /// </summary>
    private async Task<T> HoldThroughOutagesAsync<T>(string name, int partition, IReadOnlyList<LogEntry> held, Func<Task<T>> operation, CancellationToken stopping)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                var result = await operation();
                if (attempt > 1)
                {
                    status.Recovered(partition);
                    Log.TransientRecovered(logger, name, attempt, partition);
                }

                return result;
            }
            catch (Exception ex) when (transient.IsTransient(ex))
            {
                var delay = TimeSpan.FromMilliseconds(Math.Min(MaxTransientDelay.TotalMilliseconds, 100 * Math.Pow(2, Math.Min(attempt, 10))));
                status.Unavailable(partition, name, ex, time.GetUtcNow());
                Log.TransientFailure(logger, ex, name, attempt, partition, delay);
                await Task.Delay(delay, time, stopping);
                try
                {
                    await log.KeepAsync(partition, options.Value.ConsumerName, held, CancellationToken.None);
                }
                catch (Exception keepFailure) when (transient.IsTransient(keepFailure))
                {
                    // The log itself is the outage; nobody else can reclaim from it either.
                }
            }
        }
    }

    private async Task DeadLetterAsync(LogEntry entry, MessageEnvelope? envelope, string errorType, string error, CancellationToken ct)
    {
        Log.DeadLettered(logger, entry.EntryId, entry.Partition, entry.DeliveryCount, errorType, error, envelope?.CorrelationId);
        await log.DeadLetterAsync(entry, errorType, error, ct);
        metrics.StreamDeadLettered.Add(1, ParleyMetrics.Tag(Telemetry.Tags.Partition, entry.Partition), ParleyMetrics.Tag(Telemetry.Tags.Reason, errorType));
        metrics.PipelineProcessed.Add(1, ParleyMetrics.Tag(Telemetry.Tags.Partition, entry.Partition), ParleyMetrics.Tag(Telemetry.Tags.Status, "dead_lettered"));
    }
}
