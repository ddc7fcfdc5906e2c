using Parley.Core.Messaging;

namespace Parley.Core.Ports;

/// <summary>Messages: the persist batch the delivery workers write, and the reads of history and status.</summary>
public interface IMessageStore
{
    /// <summary>
    /// Persists a batch in one transaction, in order, as <c>Persistence.PersistPlanner</c> plans it: an envelope whose
    /// message id or idempotency key is already stored is a <see cref="PersistOutcome.Duplicate"/> carrying the stored
    /// message; each new message gets the conversation's next sequence, moves last activity and the members' unread
    /// counts, and records <c>message.stored</c>.
    /// The batch may hold several partitions' batches (one group commit), each under its own <paramref name="fences"/>
    /// entry: it is written only if no newer lease epoch was seen for any of them (else
    /// <see cref="PartitionFencedException"/> for the lowest stale partition, and nothing is written), and each
    /// fenced partition's writes are serialized. Fences are taken in partition order, so concurrent groups cannot deadlock.
    /// </summary>
    Task<IReadOnlyList<PersistResult>> PersistBatchAsync(IReadOnlyList<MessageEnvelope> batch, IReadOnlyList<PartitionFence> fences, CancellationToken cancellationToken);

    /// <summary>One partition's batch under its lease, or unfenced (null) for tools and tests that write outside the partition workers.</summary>
    Task<IReadOnlyList<PersistResult>> PersistBatchAsync(IReadOnlyList<MessageEnvelope> batch, PartitionFence? fence, CancellationToken cancellationToken) =>
        PersistBatchAsync(batch, fence is null ? [] : [fence], cancellationToken);

    /// <summary>Unfenced: for tools and tests that write outside the partition workers.</summary>
    Task<IReadOnlyList<PersistResult>> PersistBatchAsync(IReadOnlyList<MessageEnvelope> batch, CancellationToken cancellationToken) =>
        PersistBatchAsync(batch, [], cancellationToken);

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

    /// <summary>
    /// The conversation's changes after <paramref name="afterChangeSequence"/>, in change order, at most
    /// <paramref name="limit"/>, each with its message as it is now: how a device fills a gap in the changes it got.
    /// </summary>
    Task<IReadOnlyList<StoredChange>> GetChangesAsync(Guid conversationId, long afterChangeSequence, int limit, CancellationToken cancellationToken);

    /// <summary>The message's earlier versions, oldest first; none once it is deleted for everyone.</summary>
    Task<IReadOnlyList<MessageEditRecord>> GetEditsAsync(Guid messageId, CancellationToken cancellationToken);

    /// <summary>The conversation's pinned messages, most recently pinned first, at most <paramref name="limit"/>.</summary>
    Task<IReadOnlyList<StoredMessage>> GetPinsAsync(Guid conversationId, int limit, CancellationToken cancellationToken);

    /// <summary>The replies in the thread <paramref name="rootId"/> starts, paged by sequence as history is.</summary>
    Task<MessagePage> GetThreadAsync(Guid rootId, HistoryQuery query, CancellationToken cancellationToken);

    /// <summary>
    /// Messages not yet deleted whose expiry is at or before <paramref name="now"/>, soonest first, at most
    /// <paramref name="limit"/>: what the expiry worker deletes for everyone next.
    /// </summary>
    Task<IReadOnlyList<ExpiringMessage>> GetExpiredAsync(DateTimeOffset now, int limit, CancellationToken cancellationToken);

    /// <summary>Every vote in the poll <paramref name="messageId"/>: one per voter and chosen option, by option then time.</summary>
    Task<IReadOnlyList<PollVote>> GetVotesAsync(Guid messageId, CancellationToken cancellationToken);
}

public sealed record PollVote(Guid UserId, int OptionId, DateTimeOffset VotedAt);

public sealed record ExpiringMessage(Guid MessageId, Guid ConversationId, DateTimeOffset ExpiresAt);
