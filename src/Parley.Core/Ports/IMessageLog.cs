using Parley.Core.Messaging;

namespace Parley.Core.Ports;

/// <summary>
/// The partitioned durable log between the ingress and the delivery workers (P4). An append that returns
/// has been made durable; an entry stays pending for its consumer until it is acknowledged or
/// dead-lettered, and is handed out again after a crash. Implementations: the embedded SQLite-file log
/// and (production) Redis Streams. Both pass tests/Parley.Specification's MessageLogSpecification.
/// </summary>
public interface IMessageLog
{
    int PartitionCount { get; }

    /// <summary>
    /// Appends the envelope to partition Murmur3(conversationId) mod N, unless an entry with the same
    /// idempotency key is still within the idempotency window: then nothing is appended and the original
    /// acceptance is returned with <see cref="AppendResult.Duplicate"/> set.
    /// </summary>
    ValueTask<AppendResult> AppendAsync(MessageEnvelope envelope, CancellationToken cancellationToken);

    /// <summary>
    /// Entries for this consumer: first those left pending by a crashed run, a failed read or a read whose
    /// reply was lost to a log outage (or idle past the reclaim time), then new ones, in partition order:
    /// after a failed read or a reconnect, nothing new is handed out while this consumer's own pending entries remain. Each read durably increments the entry's delivery count
    /// before it is returned, so an entry that crashes its worker still reaches the dead-letter limit.
    /// Waits up to <paramref name="wait"/> for an entry when none is ready.
    /// </summary>
    ValueTask<IReadOnlyList<LogEntry>> ReadAsync(int partition, string consumer, int maxCount, TimeSpan wait, CancellationToken cancellationToken);

    /// <summary>
    /// This consumer has just taken the partition's lease: entries still pending for earlier holders become its own
    /// at once (no waiting for them to idle), to be handed out first and in log order by the next reads. Does not
    /// count as a delivery.
    /// </summary>
    ValueTask TakeOverAsync(int partition, string consumer, CancellationToken cancellationToken);

    /// <summary>Marks entries processed; they are never handed out again.</summary>
    ValueTask AckAsync(int partition, IReadOnlyList<LogEntry> entries, CancellationToken cancellationToken);

    /// <summary>
    /// This consumer is still working on these entries (e.g. waiting out a store outage): no other consumer may
    /// reclaim them as abandoned. Does not count as a delivery.
    /// </summary>
    ValueTask KeepAsync(int partition, string consumer, IReadOnlyList<LogEntry> entries, CancellationToken cancellationToken);

    /// <summary>Records a failed attempt (durably increments the delivery count) and returns the entry as it now stands.</summary>
    ValueTask<LogEntry> RecordFailedAttemptAsync(LogEntry entry, CancellationToken cancellationToken);

    /// <summary>Moves the entry to the dead-letter store with its error (written before the entry is acknowledged).</summary>
    ValueTask DeadLetterAsync(LogEntry entry, string errorType, string errorMessage, CancellationToken cancellationToken);

    /// <summary>Per-partition lag: entries appended but not yet acknowledged or dead-lettered.</summary>
    ValueTask<IReadOnlyList<PartitionLag>> GetLagAsync(CancellationToken cancellationToken);

    ValueTask<IReadOnlyList<DeadLetter>> ListDeadLettersAsync(int limit, CancellationToken cancellationToken);

    /// <summary>The log's dead letters as every dead-letter kind shows them (<see cref="IDeadLetterKind"/>, kind <c>message</c>).</summary>
    IDeadLetterKind DeadLetters { get; }

    /// <summary>An accepted message the store does not have yet: pending in the log, or dead-lettered.</summary>
    ValueTask<LoggedMessage?> FindAsync(Guid messageId, CancellationToken cancellationToken);
}

public sealed record AppendResult(Guid MessageId, Guid CorrelationId, DateTimeOffset AcceptedAt, int Partition, bool Duplicate);

public sealed record LogEntry(int Partition, string EntryId, MessageEnvelopeBytes Payload, int DeliveryCount, DateTimeOffset AppendedAt);

/// <summary>The serialized envelope; decoded lazily so a corrupt payload is a per-entry failure, not a read failure.</summary>
public sealed record MessageEnvelopeBytes(byte[] Bytes)
{
    private MessageEnvelope? _decoded;

    /// <summary>
    /// Decoded once per entry: the pipeline and the log's ack both need the envelope, and a JSON parse of the whole
    /// message per use was measurable on the persist path. The envelope is immutable, so sharing it is safe; a payload
    /// that fails to decode throws on every call.
    /// </summary>
    public MessageEnvelope Decode() => _decoded ??= MessageEnvelope.Deserialize(Bytes);

    // The cache is not part of the value: two payloads are equal as before, by their bytes array.
    public bool Equals(MessageEnvelopeBytes? other) => other is not null && ReferenceEquals(Bytes, other.Bytes);

    public override int GetHashCode() => Bytes.GetHashCode();
}

public sealed record PartitionLag(int Partition, long Pending, DateTimeOffset? OldestAppendedAt);

public sealed record DeadLetter(int Partition, string EntryId, Guid MessageId, string ErrorType, string ErrorMessage, int Attempts, DateTimeOffset DeadAt, byte[] Payload);

/// <summary>The message log's kind of dead letter (E2): entries the delivery pipeline gave up on.</summary>
public static class LogDeadLetters
{
    public const string Kind = "message";

    /// <summary>A log dead letter as the admin API shows it; the payload (an envelope, JSON) as text, or base64 when it is not UTF-8 JSON.</summary>
    public static DeadLetterRecord Record(string id, int partition, string messageId, string errorType, string error, int attempts, DateTimeOffset deadAt, byte[] payload, int replays)
    {
        string text;
        try
        {
            using var json = System.Text.Json.JsonDocument.Parse(payload);
            text = System.Text.Encoding.UTF8.GetString(payload);
        }
        catch (System.Text.Json.JsonException)
        {
            text = System.Text.Json.JsonSerializer.Serialize(Convert.ToBase64String(payload));
        }

        return new DeadLetterRecord(id, Kind, errorType, error, attempts, replays, deadAt, $"partition {partition}, message {messageId}", text);
    }
}

public enum LoggedMessageState
{
    Pending,
    DeadLettered,
}

public sealed record LoggedMessage(Guid MessageId, Guid ConversationId, Guid SenderId, DateTimeOffset AcceptedAt, LoggedMessageState State);
