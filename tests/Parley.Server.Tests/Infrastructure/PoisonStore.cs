using Parley.Core.Messaging;
using Parley.Core.Ports;

namespace Parley.Server.Tests.Infrastructure;

/// <summary>
/// The real store with every call passed through; a test double overrides only the call it makes fail, so a new port
/// method is one line here instead of one in every double.
/// </summary>
internal abstract class DelegatingMessageStore(IMessageStore inner) : IMessageStore
{
    public virtual Task<IReadOnlyList<PersistResult>> PersistBatchAsync(IReadOnlyList<MessageEnvelope> batch, IReadOnlyList<PartitionFence> fences, CancellationToken cancellationToken) =>
        inner.PersistBatchAsync(batch, fences, cancellationToken);

    public virtual Task<Core.Ports.MessagePage> GetMessagesAsync(Guid conversationId, HistoryQuery query, CancellationToken cancellationToken) => inner.GetMessagesAsync(conversationId, query, cancellationToken);

    public virtual Task<StoredMessage?> GetMessageAsync(Guid messageId, CancellationToken cancellationToken) => inner.GetMessageAsync(messageId, cancellationToken);

    public virtual Task<StoredMessage?> FindByIdempotencyKeyAsync(string idempotencyKey, CancellationToken cancellationToken) => inner.FindByIdempotencyKeyAsync(idempotencyKey, cancellationToken);

    public virtual Task<IReadOnlyDictionary<string, Guid>> FindIdsByIdempotencyKeysAsync(IReadOnlyCollection<string> idempotencyKeys, CancellationToken cancellationToken) =>
        inner.FindIdsByIdempotencyKeysAsync(idempotencyKeys, cancellationToken);

    public virtual Task<MessageStatusRecord?> GetMessageStatusAsync(Guid messageId, CancellationToken cancellationToken) => inner.GetMessageStatusAsync(messageId, cancellationToken);

    public virtual Task<MessageStatusRecord?> GetMessageStatusByIdempotencyKeyAsync(string idempotencyKey, CancellationToken cancellationToken) =>
        inner.GetMessageStatusByIdempotencyKeyAsync(idempotencyKey, cancellationToken);

    public virtual Task<IReadOnlyList<StoredChange>> GetChangesAsync(Guid conversationId, long afterChangeSequence, int limit, CancellationToken cancellationToken) =>
        inner.GetChangesAsync(conversationId, afterChangeSequence, limit, cancellationToken);

    public virtual Task<IReadOnlyList<StoredMessage>> GetPinsAsync(Guid conversationId, int limit, CancellationToken cancellationToken) =>
        inner.GetPinsAsync(conversationId, limit, cancellationToken);

    public virtual Task<IReadOnlyList<MessageEditRecord>> GetEditsAsync(Guid messageId, CancellationToken cancellationToken) => inner.GetEditsAsync(messageId, cancellationToken);

    public virtual Task<Core.Ports.MessagePage> GetThreadAsync(Guid rootId, HistoryQuery query, CancellationToken cancellationToken) => inner.GetThreadAsync(rootId, query, cancellationToken);

    public virtual Task<IReadOnlyList<PollVote>> GetVotesAsync(Guid messageId, CancellationToken cancellationToken) => inner.GetVotesAsync(messageId, cancellationToken);

    public virtual Task<IReadOnlyList<ExpiringMessage>> GetExpiredAsync(DateTimeOffset now, int limit, CancellationToken cancellationToken) => inner.GetExpiredAsync(now, limit, cancellationToken);
}

/// <summary>Delegates to the real store but throws for any batch holding a "poison" message.</summary>
internal sealed class PoisonStore(IMessageStore inner) : DelegatingMessageStore(inner)
{
    public override Task<IReadOnlyList<PersistResult>> PersistBatchAsync(IReadOnlyList<MessageEnvelope> batch, IReadOnlyList<PartitionFence> fences, CancellationToken cancellationToken) =>
        batch.Any(e => e.Content == "poison")
            ? throw new InvalidOperationException("poisoned content")
            : base.PersistBatchAsync(batch, fences, cancellationToken);
}
