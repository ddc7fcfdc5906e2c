using Parley.Core.Messaging;
using Parley.Core.Ports;

namespace Parley.Server.Tests.Infrastructure;

/// <summary>Delegates to the real store but throws for any batch holding a "poison" message.</summary>
internal sealed class PoisonStore(IMessageStore inner) : IMessageStore
{
    public Task<IReadOnlyList<PersistResult>> PersistBatchAsync(IReadOnlyList<MessageEnvelope> batch, PartitionFence? fence, CancellationToken cancellationToken) =>
        batch.Any(e => e.Content == "poison")
            ? throw new InvalidOperationException("poisoned content")
            : inner.PersistBatchAsync(batch, fence, cancellationToken);

    public Task<Core.Ports.MessagePage> GetMessagesAsync(Guid conversationId, HistoryQuery query, CancellationToken cancellationToken) => inner.GetMessagesAsync(conversationId, query, cancellationToken);

    public Task<StoredMessage?> GetMessageAsync(Guid messageId, CancellationToken cancellationToken) => inner.GetMessageAsync(messageId, cancellationToken);

    public Task<StoredMessage?> FindByIdempotencyKeyAsync(string idempotencyKey, CancellationToken cancellationToken) => inner.FindByIdempotencyKeyAsync(idempotencyKey, cancellationToken);

    public Task<IReadOnlyDictionary<string, Guid>> FindIdsByIdempotencyKeysAsync(IReadOnlyCollection<string> idempotencyKeys, CancellationToken cancellationToken) =>
        inner.FindIdsByIdempotencyKeysAsync(idempotencyKeys, cancellationToken);

    public Task<ReceiptUpdate?> AdvanceReceiptAsync(Guid conversationId, Guid userId, ReceiptKind kind, long upToSequence, CancellationToken cancellationToken) =>
        inner.AdvanceReceiptAsync(conversationId, userId, kind, upToSequence, cancellationToken);

    public Task<MessageStatusRecord?> GetMessageStatusAsync(Guid messageId, CancellationToken cancellationToken) => inner.GetMessageStatusAsync(messageId, cancellationToken);

    public Task<MessageStatusRecord?> GetMessageStatusByIdempotencyKeyAsync(string idempotencyKey, CancellationToken cancellationToken) =>
        inner.GetMessageStatusByIdempotencyKeyAsync(idempotencyKey, cancellationToken);
}
