using System.Text;
using Parley.Core.Events;
using Parley.Core.Messaging;
using Parley.Core.Ports;

namespace Parley.Core.Persistence;

/// <summary>What an engine loads before planning a batch: the state of the batch's conversations and what is already stored.</summary>
/// <param name="Conversations">Each existing conversation of the batch; one that is absent does not exist.</param>
/// <param name="Existing">Stored messages whose id or idempotency key matches an envelope of the batch, with their keys.</param>
public sealed record PersistState(IReadOnlyDictionary<Guid, ConversationSnapshot> Conversations, IReadOnlyList<(StoredMessage Message, string IdempotencyKey)> Existing);

/// <param name="Members">In join order (joined_at, user id): the order fanout and the API list them in.</param>
public sealed record ConversationSnapshot(long LastSequence, IReadOnlyList<Guid> Members)
{
    /// <summary>The sides of the members that have one (context conversations); each message records its sender's.</summary>
    public IReadOnlyDictionary<Guid, string> Sides { get; init; } = NoSides;

    public static readonly IReadOnlyDictionary<Guid, string> NoSides = new Dictionary<Guid, string>();
}

/// <summary>What the engine writes for a batch, set-based, in one transaction; and what it returns.</summary>
public sealed record PersistPlan(
    IReadOnlyList<PersistResult> Results,
    IReadOnlyList<PlannedMessage> Inserts,
    IReadOnlyList<ConversationAdvance> Conversations,
    IReadOnlyList<ParticipantEffect> Participants,
    IReadOnlyList<DomainEvent> Events);

public sealed record PlannedMessage(StoredMessage Message, string IdempotencyKey);

/// <summary>The conversation's new last sequence and last message; last activity moves to <see cref="LastActivityAt"/> only if that is later.</summary>
public readonly record struct ConversationAdvance(Guid ConversationId, long LastSequence, DateTimeOffset LastActivityAt, Guid LastMessageId);

/// <summary>
/// What a batch does to one member: with <see cref="Reset"/> the unread count becomes <see cref="Added"/>, otherwise it
/// grows by it; the read and delivered watermarks move up to <see cref="ReadTo"/> (never down).
/// </summary>
public readonly record struct ParticipantEffect(Guid ConversationId, Guid UserId, bool Reset, long Added, long ReadTo);

/// <summary>
/// The rules of a persist batch, once for every engine: duplicates by message id or idempotency key (against the
/// store and within the batch), sequences in batch order per conversation, last activity and last message, and the
/// members' effects: the sender has read everything up to their own message, every other member has one more unread.
/// </summary>
public static class PersistPlanner
{
    public const string MissingConversation = "conversation does not exist";

    public static PersistPlan Plan(IReadOnlyList<MessageEnvelope> batch, PersistState state, DateTimeOffset storedAt)
    {
        storedAt = StoreTime.Truncate(storedAt);
        var byId = new Dictionary<Guid, StoredMessage>();
        var byKey = new Dictionary<string, StoredMessage>(StringComparer.Ordinal);
        foreach (var (message, key) in state.Existing)
        {
            byId[message.Id] = message;
            byKey[key] = message;
        }

        var conversations = new Dictionary<Guid, ConversationAdvance>();
        var effects = new Dictionary<(Guid Conversation, Guid User), ParticipantEffect>();
        var results = new List<PersistResult>(batch.Count);
        var inserts = new List<PlannedMessage>();
        var events = new List<DomainEvent>();
        foreach (var envelope in batch)
        {
            if (!state.Conversations.TryGetValue(envelope.ConversationId, out var conversation))
            {
                results.Add(PersistResult.Rejected(envelope, MissingConversation));
                continue;
            }

            if ((byId.GetValueOrDefault(envelope.MessageId) ?? byKey.GetValueOrDefault(envelope.IdempotencyKey)) is { } stored)
            {
                results.Add(new PersistResult(envelope, PersistOutcome.Duplicate, stored, conversation.Members, null));
                continue;
            }

            // The batch's earlier messages of this conversation already moved it: continue from there.
            var advanced = conversations.TryGetValue(envelope.ConversationId, out var previous);
            var sequence = (advanced ? previous.LastSequence : conversation.LastSequence) + 1;
            var message = new StoredMessage(envelope.MessageId, envelope.ConversationId, sequence, envelope.SenderId, envelope.Type,
                envelope.Content, envelope.Metadata, envelope.ClientMessageId, IdempotencyKeys.ContentHash(envelope.Content),
                Encoding.UTF8.GetByteCount(envelope.Content), envelope.CorrelationId, StoreTime.Truncate(envelope.AcceptedAt), storedAt)
            {
                SenderSide = conversation.Sides.GetValueOrDefault(envelope.SenderId),
            };
            byId[message.Id] = message;
            byKey[envelope.IdempotencyKey] = message;
            inserts.Add(new PlannedMessage(message, envelope.IdempotencyKey));
            events.Add(ChangeEvents.MessageStored(message, envelope.TraceParent));

            var lastActivity = advanced && previous.LastActivityAt > message.AcceptedAt ? previous.LastActivityAt : message.AcceptedAt;
            conversations[message.ConversationId] = new ConversationAdvance(message.ConversationId, sequence, lastActivity, message.Id);
            foreach (var member in conversation.Members)
            {
                var effect = effects.TryGetValue((message.ConversationId, member), out var e) ? e : new ParticipantEffect(message.ConversationId, member, false, 0, 0);
                effects[(message.ConversationId, member)] = member == message.SenderId
                    ? effect with { Reset = true, Added = 0, ReadTo = sequence }
                    : effect with { Added = effect.Added + 1 };
            }

            results.Add(new PersistResult(envelope, PersistOutcome.Inserted, message, conversation.Members, null));
        }

        return new PersistPlan(results, inserts, [.. conversations.Values], [.. effects.Values], events);
    }
}
