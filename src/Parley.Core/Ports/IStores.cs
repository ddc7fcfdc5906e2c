using Parley.Core.Messaging;

namespace Parley.Core.Ports;

public interface IUserStore
{
    /// <summary>False when the (normalized) username is taken.</summary>
    Task<bool> CreateUserAsync(UserRecord user, CancellationToken cancellationToken);

    Task<UserRecord?> FindByUsernameAsync(string normalizedUsername, CancellationToken cancellationToken);

    Task<UserRecord?> GetUserAsync(Guid userId, CancellationToken cancellationToken);

    /// <summary>The subset of <paramref name="userIds"/> that exist.</summary>
    Task<IReadOnlySet<Guid>> ExistingUsersAsync(IReadOnlyCollection<Guid> userIds, CancellationToken cancellationToken);

    Task AddRefreshTokenAsync(RefreshTokenRecord token, CancellationToken cancellationToken);

    /// <summary>
    /// Atomically retires <paramref name="oldHash"/> and stores <paramref name="replacement"/>. Null when the old
    /// token is unknown, expired, revoked or already used, so a refresh token works exactly once.
    /// </summary>
    Task<Guid?> RotateRefreshTokenAsync(string oldHash, RefreshTokenRecord replacement, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>Revokes the token if it belongs to the user; true when it was live.</summary>
    Task<bool> RevokeRefreshTokenAsync(string tokenHash, Guid userId, DateTimeOffset now, CancellationToken cancellationToken);
}

public interface IConversationStore
{
    /// <summary>The one direct conversation of the pair, created when missing; Created says which.</summary>
    Task<(ConversationRecord Conversation, bool Created)> GetOrCreateDirectAsync(Guid conversationId, Guid creator, Guid other, DateTimeOffset now, CancellationToken cancellationToken);

    Task<ConversationRecord> CreateGroupAsync(Guid conversationId, Guid owner, string? title, IReadOnlyCollection<Guid> members, DateTimeOffset now, CancellationToken cancellationToken);

    Task<ConversationRecord?> GetConversationAsync(Guid conversationId, CancellationToken cancellationToken);

    Task<ParticipantRecord?> GetParticipantAsync(Guid conversationId, Guid userId, CancellationToken cancellationToken);

    Task<IReadOnlyList<Guid>> GetMemberIdsAsync(Guid conversationId, CancellationToken cancellationToken);

    /// <summary>The user's conversations, most recent activity first, with unread count and last message.</summary>
    Task<ConversationPage> ListConversationsAsync(Guid userId, ConversationCursor? after, int limit, CancellationToken cancellationToken);

    /// <summary>The sum of the user's unread counts over all their memberships (one indexed read, no message scan).</summary>
    Task<UnreadTotal> GetUnreadTotalAsync(Guid userId, CancellationToken cancellationToken);
}

public interface IMessageStore
{
    /// <summary>
    /// Persists a batch from one partition in one transaction, in order. Idempotent: an envelope whose
    /// message id or idempotency key is already stored is a <see cref="PersistOutcome.Duplicate"/>. Each new
    /// message gets the conversation's next sequence, moves last activity and the other members' unread counts.
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

    /// <summary>Moves a member's delivered or read watermark forward (capped at the conversation's last sequence).</summary>
    Task<ReceiptUpdate?> AdvanceReceiptAsync(Guid conversationId, Guid userId, ReceiptKind kind, long upToSequence, CancellationToken cancellationToken);

    Task<MessageStatusRecord?> GetMessageStatusAsync(Guid messageId, CancellationToken cancellationToken);

    /// <summary>
    /// The stored message with this idempotency key and its state, in one point read on the key's unique index: how a
    /// resend is resolved once the log's idempotency window has forgotten the key (the store keeps keys forever).
    /// </summary>
    Task<MessageStatusRecord?> GetMessageStatusByIdempotencyKeyAsync(string idempotencyKey, CancellationToken cancellationToken);
}
