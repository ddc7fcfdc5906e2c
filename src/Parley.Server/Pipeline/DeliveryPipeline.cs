using Microsoft.Extensions.Options;
using Parley.Core.Messaging;
using Parley.Core.Ports;
using Parley.Server.Hosting;
using Parley.Server.Realtime;

namespace Parley.Server.Pipeline;

/// <summary>
/// P5 for one batch of one partition: persist (batched, idempotent) → fan out new messages → acknowledge.
/// The ack comes only after the store commit, so a crash anywhere before it replays the batch, and the
/// store's idempotency turns the replay into no-ops. Failures are retried per entry in place (keeping the
/// partition's order) until the delivery limit, then the entry is dead-lettered and the partition moves on.
/// </summary>
public sealed class DeliveryPipeline(
    IMessageLog log,
    IMessageStore store,
    RealtimeNotifier notifier,
    IOptions<LogOptions> options,
    TimeProvider time,
    ILogger<DeliveryPipeline> logger)
{
    private static readonly TimeSpan RetryDelay = TimeSpan.FromMilliseconds(200);

    /// <summary>Processes one batch to completion. Cancellation is not honoured mid-batch: shutdown drains it.</summary>
    public async Task ProcessAsync(int partition, IReadOnlyList<LogEntry> entries)
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

        IReadOnlyList<PersistResult> results;
        try
        {
            results = await store.PersistBatchAsync(work.Select(w => w.Envelope).ToList(), ct);
        }
        catch (Exception)
        {
            // Find the culprit (or wait out a store blip) one entry at a time, in order.
            foreach (var item in work)
            {
                await ProcessOneAsync(item.Entry, item.Envelope);
            }

            return;
        }

        await CompleteAsync(partition, work.Select(w => w.Entry).ToList(), results, ct);
    }

    private async Task ProcessOneAsync(LogEntry entry, MessageEnvelope envelope)
    {
        var ct = CancellationToken.None;
        while (true)
        {
            try
            {
                var results = await store.PersistBatchAsync([envelope], ct);
                await CompleteAsync(entry.Partition, [entry], results, ct);
                return;
            }
            catch (Exception ex)
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

    private async Task CompleteAsync(int partition, IReadOnlyList<LogEntry> entries, IReadOnlyList<PersistResult> results, CancellationToken ct)
    {
        var acks = new List<LogEntry>(entries.Count);
        for (var i = 0; i < results.Count; i++)
        {
            var result = results[i];
            switch (result.Outcome)
            {
                case PersistOutcome.Rejected:
                    await DeadLetterAsync(entries[i], result.Envelope, "Rejected", result.RejectReason ?? "rejected by the store", ct);
                    continue;
                case PersistOutcome.Duplicate:
                    Log.PersistDuplicate(logger, result.Envelope.MessageId, result.Envelope.CorrelationId);
                    break;
                case PersistOutcome.Inserted:
                    await notifier.MessageCreatedAsync(result.Message!, result.MemberIds, ct);
                    break;
            }

            acks.Add(entries[i]);
        }

        await log.AckAsync(partition, acks, ct);
    }

    private async Task DeadLetterAsync(LogEntry entry, MessageEnvelope? envelope, string errorType, string error, CancellationToken ct)
    {
        Log.DeadLettered(logger, entry.EntryId, entry.Partition, entry.DeliveryCount, errorType, error, envelope?.CorrelationId);
        await log.DeadLetterAsync(entry, errorType, error, ct);
    }
}
