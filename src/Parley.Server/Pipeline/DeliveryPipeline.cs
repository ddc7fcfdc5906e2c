using Microsoft.Extensions.Options;
using Parley.Core.Messaging;
using Parley.Core.Ports;
using Parley.Hosting;
using Parley.Server.Hosting;

namespace Parley.Server.Pipeline;

/// <summary>
/// P5 for one batch of one partition: persist (batched, idempotent) → fan out new messages → acknowledge.
/// The ack comes only after the store commit, so a crash anywhere before it replays the batch, and the
/// store's idempotency turns the replay into no-ops. Failures are retried per entry in place (keeping the
/// partition's order) until the delivery limit, then the entry is dead-lettered and the partition moves on.
/// A transient failure (the store or the log unreachable) is different: the batch is held and retried in
/// place, without spending its retry budget, until the dependency is back (E3). A fenced batch
/// (<see cref="PartitionFencedException"/>) is left to the caller: the worker owns the lease.
/// </summary>
public sealed class DeliveryPipeline(
    IMessageLog log,
    PersistGroupCommit store,
    IRealtimeFanout fanout,
    Messaging.RecentTargets recentTargets,
    TransientErrors transient,
    PipelineStatus status,
    DeliveryMetrics metrics,
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
        metrics.Dequeued(partition, entries.Count);
        try
        {
            await ProcessBatchAsync(partition, entries, fence, stopping);
        }
        finally
        {
            metrics.BatchFinished(partition, time.GetElapsedTime(started));
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
                var envelope = entry.Payload.Decode();
                metrics.Waited(time.GetUtcNow() - envelope.AcceptedAt);
                work.Add((entry, envelope));
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

    /// <summary>The batch's wait for a store transaction (shared with other partitions' batches) and the transaction itself.</summary>
    private async Task<PersistedBatch> PersistAsync(IReadOnlyList<MessageEnvelope> batch, PartitionFence fence)
    {
        var started = time.GetTimestamp();
        var startedAt = time.GetUtcNow();
        try
        {
            return new PersistedBatch(await store.PersistAsync(batch, fence), startedAt);
        }
        finally
        {
            metrics.Step("persist", time.GetElapsedTime(started));
        }
    }

    private sealed record PersistedBatch(IReadOnlyList<PersistResult> Results, DateTimeOffset StartedAt);

    /// <summary>After the commit: dead-letter what the store rejected, fan out the rest, then acknowledge it.</summary>
    private async Task CompleteAsync(int partition, IReadOnlyList<LogEntry> entries, PersistedBatch batch, CancellationToken stopping)
    {
        var fanoutStarted = time.GetTimestamp();
        var acks = new List<LogEntry>(entries.Count);
        // Started in order and awaited together: each hands to this node's devices before its first await, and the
        // bus publishes go out in order on one connection, so a batch costs one bus round trip instead of one per
        // message. (Devices put messages in sequence order themselves in any case.)
        var fanouts = new List<Task>(batch.Results.Count);
        for (var i = 0; i < batch.Results.Count; i++)
        {
            var result = batch.Results[i];
            using var scope = Log.MessageScope(logger, result.Envelope.MessageId, result.Envelope.CorrelationId, result.Envelope.TraceParent);
            if (result.Outcome == PersistOutcome.Rejected)
            {
                await DeadLetterAsync(entries[i], result.Envelope, "Rejected", result.RejectReason ?? "rejected by the store", CancellationToken.None);
                continue;
            }

            if (result.Envelope is { Kind: Core.Messaging.MessageChangeKinds.Delete, TargetId: { } deleted })
            {
                // The ingress here answers MESSAGE_DELETED from now on instead of a recent read that says otherwise.
                recentTargets.Forget(deleted);
            }

            if (result.Outcome != PersistOutcome.Unchanged)
            {
                fanouts.Add(FanOutAsync(partition, result, batch.StartedAt));
            }

            acks.Add(entries[i]);
        }

        await Task.WhenAll(fanouts);
        metrics.Step("fanout", time.GetElapsedTime(fanoutStarted));
        await AckAsync(partition, acks, stopping);

        var now = time.GetUtcNow();
        foreach (var result in batch.Results.Where(r => r.Outcome != PersistOutcome.Rejected))
        {
            metrics.Finished(partition, result, now - result.Envelope.AcceptedAt);
        }
    }

    private async Task FanOutAsync(int partition, PersistResult result, DateTimeOffset persistStarted)
    {
        if (result.Change is { } change)
        {
            // Applied now, or (a replay) before: either way the members get it; devices drop a change position they had.
            await fanout.MessageChangedAsync(change, result.MemberIds, CancellationToken.None);
            return;
        }

        if (result.Outcome == PersistOutcome.Duplicate)
        {
            Log.PersistDuplicate(logger, result.Envelope.MessageId, result.Envelope.CorrelationId);
            metrics.Duplicate();
            // A replay after a crash between the store commit and the fanout: push it again. Devices drop what they
            // already got (per-connection sequence tracking), and the ones that missed it get it now. The store's
            // duplicate carries the stored message, so this costs no read.
            await fanout.MessageStoredAsync(result.Message!, result.MemberIds, CancellationToken.None);

            return;
        }

        metrics.Inserted();
        using (PipelineTracing.StoredAndFanout(result.Message!, result.Envelope.TraceParent, partition, persistStarted))
        {
            await fanout.MessageStoredAsync(result.Message!, result.MemberIds, CancellationToken.None);
        }
    }

    private async Task AckAsync(int partition, IReadOnlyList<LogEntry> acks, CancellationToken stopping)
    {
        var started = time.GetTimestamp();
        await HoldThroughOutagesAsync("Ack", partition, acks, async () =>
        {
            await log.AckAsync(partition, acks, CancellationToken.None);
            return true;
        }, stopping);
        metrics.Step("ack", time.GetElapsedTime(started));
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
        metrics.DeadLettered(entry.Partition, errorType);
    }
}
