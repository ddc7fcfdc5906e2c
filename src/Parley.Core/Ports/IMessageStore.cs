using Parley.Core.Messaging;

namespace Parley.Core.Ports;

/// <summary>Messages: the persist batch the delivery workers write, and the reads of history and status.</summary>
public interface IMessageStore
{
    /// <summary>
    /// Persists a batch from one partition in one transaction, in order, as <c>Persistence.PersistPlanner</c> plans it:
    /// an envelope whose message id or idempotency key is already stored is a <see cref="PersistOutcome.Duplicate"/>
    /// carrying the stored message; each new message gets the conversation's next sequence, moves last activity and
    /// the members' unread counts, and records <c>message.stored</c>.
    /// With a <paramref name="fence"/>, the batch is written only if no newer lease epoch was seen for its partition
    /// (else <see cref="PartitionFencedException"/> and nothing is written), and the partition's writes are serialized.
    /// </summary>
    Task<IReadOnlyList<PersistResult>> PersistBatchAsync(IReadOnlyList<MessageEnvelope> batch, PartitionFence? fence, CancellationToken cancellationToken);

    /// <summary>Unfenced: for tools and tests that write outside the partition workers.</summary>
    Task<IReadOnlyList<PersistResult>> PersistBatchAsync(IReadOnlyList<MessageEnvelope> batch, CancellationToken cancellationToken) =>
        PersistBatchAsync(batch, null, cancellationToken);

    Task<MessagePage> GetMessagesAsync(Guid conversationId, HistoryQuery query, CancellationToken cancellationToken);

    Task<StoredMessage?> GetMessageAsync(Guid messageId, CancellationToken cancellationToken);

    Task<StoredMessage?> FindByIdempotencyKeyAsync(string idempotencyKey, CancellationToken cancellationToken);

    /// <summary>
    /// The ids of the stored messages with any of these idempotency keys (keys not stored are absent), in one read:
    /// the ingress asks for every send in flight at once, so the check for forgotten keys costs a query per batch.
    /// </summary>
    Task<IReadOnlyDictionary<string, Guid>> FindIdsByIdempotencyKeysAsync(IReadOnlyCollection<string> idempotencyKeys, CancellationToken cancellationToken);

    Task<MessageStatusRecord?> GetMessageStatusAsync(Guid messageId, CancellationToken cancellationToken);

    /// <summary>
    /// The stored message with this idempotency key and its state, in one point read on the key's unique index: how a
    /// resend is resolved once the log's idempotency window has forgotten the key (the store keeps keys forever).
    /// </summary>
    Task<MessageStatusRecord?> GetMessageStatusByIdempotencyKeyAsync(string idempotencyKey, CancellationToken cancellationToken);
}
