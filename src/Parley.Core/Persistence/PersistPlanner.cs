using System.Text;
using Parley.Core.Events;
using Parley.Core.Messaging;
using Parley.Core.Ports;

namespace Parley.Core.Persistence;

/// <summary>What an engine loads before planning a batch: the state of the batch's conversations and what is already stored.</summary>
/// <param name="Conversations">Each existing conversation of the batch; one that is absent does not exist.</param>
/// <param name="Existing">Stored messages whose id or idempotency key matches an envelope of the batch, with their keys.</param>
public sealed record PersistState(IReadOnlyDictionary<Guid, ConversationSnapshot> Conversations, IReadOnlyList<(StoredMessage Message, string IdempotencyKey)> Existing)
{
    /// <summary>The stored messages the batch's changes and replies name (<see cref="PersistPlanner.Referenced"/>), by id.</summary>
    public IReadOnlyDictionary<Guid, StoredMessage> Targets { get; init; } = new Dictionary<Guid, StoredMessage>();

    /// <summary>Which of the batch's reactions (message, user, key) are stored already.</summary>
    public IReadOnlySet<(Guid MessageId, Guid UserId, string Key)> Reacted { get; init; } = new HashSet<(Guid, Guid, string)>();

    /// <summary>The stored choice of each voter the batch's votes name (<see cref="PersistPlanner.VotersOf"/>); absent: no vote.</summary>
    public IReadOnlyDictionary<(Guid MessageId, Guid UserId), IReadOnlyList<int>> Votes { get; init; } = new Dictionary<(Guid, Guid), IReadOnlyList<int>>();

    /// <summary>Stored changes whose idempotency key matches a change of the batch, by key.</summary>
    public IReadOnlyDictionary<string, StoredChange> ExistingChanges { get; init; } = new Dictionary<string, StoredChange>();
}

/// <param name="Members">In join order (joined_at, user id): the order fanout and the API list them in.</param>
public sealed record ConversationSnapshot(long LastSequence, IReadOnlyList<Guid> Members)
{
    /// <summary>The sides of the members that have one (context conversations); each message records its sender's.</summary>
    public IReadOnlyDictionary<Guid, string> Sides { get; init; } = NoSides;

    public static readonly IReadOnlyDictionary<Guid, string> NoSides = new Dictionary<Guid, string>();

    /// <summary>The conversation's last change position (<see cref="StoredChange.ChangeSequence"/>).</summary>
    public long LastChangeSequence { get; init; }

    /// <summary>The conversation's message TTL (<see cref="ConversationRecord.MessageTtlSeconds"/>) when the batch is stored.</summary>
    public int? MessageTtlSeconds { get; init; }
}

/// <summary>What the engine writes for a batch, set-based, in one transaction; and what it returns.</summary>
public sealed record PersistPlan(
    IReadOnlyList<PersistResult> Results,
    IReadOnlyList<PlannedMessage> Inserts,
    IReadOnlyList<ConversationAdvance> Conversations,
    IReadOnlyList<ParticipantEffect> Participants,
    IReadOnlyList<DomainEvent> Events)
{
    /// <summary>Stored messages a change altered, as they end the batch (only the columns a change writes).</summary>
    public IReadOnlyList<StoredMessage> Updates { get; init; } = [];

    public IReadOnlyList<MessageEditRecord> Edits { get; init; } = [];

    public IReadOnlyList<ReactionWrite> Reactions { get; init; } = [];

    /// <summary>Each voter's choice as the batch leaves it: the engine replaces that voter's rows with these (none: retracted).</summary>
    public IReadOnlyList<VoteWrite> Votes { get; init; } = [];

    public IReadOnlyList<PlannedChange> Changes { get; init; } = [];

    /// <summary>Each conversation's new last change position.</summary>
    public IReadOnlyList<(Guid ConversationId, long LastChangeSequence)> ChangeAdvances { get; init; } = [];

    /// <summary>Messages deleted for everyone: their edit history and reactions are erased (their rows are in <see cref="Updates"/> or the inserts as tombstones).</summary>
    public IReadOnlyList<Guid> Purges { get; init; } = [];

    /// <summary>Replies to <c>MessageId</c> show <c>Preview</c> from now on (null: the message was deleted), in this order.</summary>
    public IReadOnlyList<(Guid MessageId, string? Preview)> ReplyPreviews { get; init; } = [];

    /// <summary>Thread roots and how many replies the batch added to each, applied after the inserts and updates.</summary>
    public IReadOnlyList<(Guid RootId, int Added)> ReplyCounts { get; init; } = [];

    /// <summary>
    /// Messages deleted for everyone: each member but the sender who has not read it (read watermark below its sequence)
    /// and has not deleted it for themselves has one unread fewer, and one unread mention fewer if it mentioned them.
    /// Applied after <see cref="PersistPlan.Participants"/>.
    /// </summary>
    public IReadOnlyList<UnreadDrop> UnreadDrops { get; init; } = [];

    public bool HasWrites => Inserts.Count > 0 || Changes.Count > 0;
}

public sealed record UnreadDrop(Guid ConversationId, long Sequence, Guid SenderId, Guid MessageId, IReadOnlyList<Guid> Mentions);

/// <summary>A voter's whole choice in a poll from now on; empty deletes their vote.</summary>
public sealed record VoteWrite(Guid MessageId, Guid UserId, IReadOnlyList<int> OptionIds, DateTimeOffset At);

/// <summary>A reaction row to insert (<see cref="Added"/>) or delete.</summary>
public sealed record ReactionWrite(Guid MessageId, Guid UserId, string Key, bool Added, DateTimeOffset At);

public sealed record PlannedChange(StoredChange Change, string IdempotencyKey);

public sealed record PlannedMessage(StoredMessage Message, string IdempotencyKey);

/// <summary>The conversation's new last sequence and last message; last activity moves to <see cref="LastActivityAt"/> only if that is later.</summary>
public readonly record struct ConversationAdvance(Guid ConversationId, long LastSequence, DateTimeOffset LastActivityAt, Guid LastMessageId);

/// <summary>
/// What a batch does to one member: with <see cref="Reset"/> the unread count becomes <see cref="Added"/> (and the unread
/// mentions <see cref="MentionsAdded"/>), otherwise they grow by those; the read and delivered watermarks move up to
/// <see cref="ReadTo"/> (never down). The lines below describe the count alone:
/// grows by it; the read and delivered watermarks move up to <see cref="ReadTo"/> (never down).
/// </summary>
public readonly record struct ParticipantEffect(Guid ConversationId, Guid UserId, bool Reset, long Added, long ReadTo)
{
    /// <summary>Messages of the batch that mention this member (after the member's own last one, with <see cref="Reset"/>).</summary>
    public long MentionsAdded { get; init; }
}

/// <summary>
/// The rules of a persist batch, once for every engine: duplicates by message id or idempotency key (against the
/// store and within the batch), sequences in batch order per conversation, last activity and last message, and the
/// members' effects: the sender has read everything up to their own message, every other member has one more unread.
/// </summary>
public static class PersistPlanner
{
    public const string MissingConversation = "conversation does not exist";

    public const string MissingTarget = "the message to change does not exist in this conversation";

    public const string NotSender = "only the sender may edit a message";

    public const string NotAPoll = "the message is not a poll";

    public const string PollClosed = "the poll was closed when the vote was accepted";

    public const string BadVote = "the vote does not fit the poll";

    /// <summary>The message ids a batch's changes and replies name: the engine loads these as <see cref="PersistState.Targets"/>.</summary>
    public static IReadOnlyList<Guid> Referenced(IReadOnlyList<MessageEnvelope> batch) =>
        [.. batch.Select(e => e.TargetId ?? e.ReplyTo).OfType<Guid>().Distinct()];

    /// <summary>The reactions a batch adds or removes: the engine loads which of these are stored as <see cref="PersistState.Reacted"/>.</summary>
    public static IReadOnlyList<(Guid MessageId, Guid UserId, string Key)> ReactionsOf(IReadOnlyList<MessageEnvelope> batch) =>
        [.. batch.Where(e => e.Kind == MessageChangeKinds.Reaction && e.TargetId is not null && e.ReactionKey is not null)
            .Select(e => (e.TargetId!.Value, e.SenderId, e.ReactionKey!)).Distinct()];

    /// <summary>The voters a batch's votes name: the engine loads their stored choices as <see cref="PersistState.Votes"/>.</summary>
    public static IReadOnlyList<(Guid MessageId, Guid UserId)> VotersOf(IReadOnlyList<MessageEnvelope> batch) =>
        [.. batch.Where(e => e.Kind == MessageChangeKinds.Vote && e.TargetId is not null).Select(e => (e.TargetId!.Value, e.SenderId)).Distinct()];

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

        foreach (var (id, target) in state.Targets)
        {
            byId.TryAdd(id, target);
        }

        var changes = new ChangeBuilder(state, storedAt);
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

            if (envelope.IsChange)
            {
                results.Add(changes.Apply(envelope, conversation, byId, events));
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
                ForwardedFrom = envelope.ForwardedFrom,
                // Members when stored: one who left since the send was accepted is not mentioned (nor counted).
                Mentions = envelope.Mentions is { Count: > 0 } mentioned ? [.. mentioned.Where(conversation.Members.Contains)] : [],
                ExpiresAt = ExpiryOf(envelope, conversation),
                Poll = envelope.Poll is { } poll ? PollState.Open(poll) : null,
            };

            // A reply names a message of its conversation; the ingress checked that it exists (stored or in the log),
            // so it is here unless it was dead-lettered since: then the message is kept without the link, not lost.
            if (envelope.ReplyTo is { } replyTo && byId.GetValueOrDefault(replyTo) is { } repliedTo && repliedTo.ConversationId == envelope.ConversationId)
            {
                var root = repliedTo.ThreadRootId ?? repliedTo.Id;
                message = message with { ReplyTo = ReplyPreview.From(repliedTo), ThreadRootId = root };
                changes.ReplyAdded(root);
            }

            byId[message.Id] = message;
            changes.Inserted(inserts.Count, results.Count, message);
            byKey[envelope.IdempotencyKey] = message;
            inserts.Add(new PlannedMessage(message, envelope.IdempotencyKey));
            events.Add(ChangeEvents.MessageStored(message, envelope.TraceParent));

            var lastActivity = advanced && previous.LastActivityAt > message.AcceptedAt ? previous.LastActivityAt : message.AcceptedAt;
            conversations[message.ConversationId] = new ConversationAdvance(message.ConversationId, sequence, lastActivity, message.Id);
            foreach (var member in conversation.Members)
            {
                var effect = effects.TryGetValue((message.ConversationId, member), out var e) ? e : new ParticipantEffect(message.ConversationId, member, false, 0, 0);
                effects[(message.ConversationId, member)] = member == message.SenderId
                    ? effect with { Reset = true, Added = 0, ReadTo = sequence, MentionsAdded = 0 }
                    : effect with { Added = effect.Added + 1, MentionsAdded = effect.MentionsAdded + (message.Mentions.Contains(member) ? 1 : 0) };
            }

            results.Add(new PersistResult(envelope, PersistOutcome.Inserted, message, conversation.Members, null));
        }

        return changes.Complete(new PersistPlan(results, inserts, [.. conversations.Values], [.. effects.Values], events), inserts, results);
    }

    /// <summary>The sooner of the sender's expiry and the conversation's TTL counted from acceptance; null when neither.</summary>
    public static DateTimeOffset? ExpiryOf(MessageEnvelope envelope, ConversationSnapshot conversation)
    {
        var byTtl = conversation.MessageTtlSeconds is { } ttl ? envelope.AcceptedAt.AddSeconds(ttl) : (DateTimeOffset?)null;
        var expiry = envelope.ExpiresAt is { } own && (byTtl is null || own < byTtl) ? own : byTtl;
        return expiry is { } at ? StoreTime.Truncate(at) : null;
    }

    /// <summary>
    /// The changes of a batch (edits, deletes for everyone, reactions), each applied to its target as the batch left it:
    /// a target inserted earlier in the batch is changed in its insert, a stored one is written once with its final state.
    /// </summary>
    private sealed class ChangeBuilder(PersistState state, DateTimeOffset storedAt)
    {
        private readonly Dictionary<Guid, (int Insert, int Result)> _inserted = [];
        private readonly Dictionary<Guid, StoredMessage> _updates = [];
        private readonly List<(Guid Id, StoredMessage Message)> _insertChanges = [];
        private readonly List<MessageEditRecord> _edits = [];
        private readonly List<ReactionWrite> _reactions = [];
        private readonly List<PlannedChange> _changes = [];
        private readonly Dictionary<Guid, long> _changeSequences = [];
        private readonly List<Guid> _purges = [];
        private readonly List<(Guid, string?)> _previews = [];
        private readonly Dictionary<Guid, int> _replyCounts = [];
        private readonly List<UnreadDrop> _unreadDrops = [];
        private readonly HashSet<(Guid, Guid, string)> _reacted = [.. state.Reacted];
        private readonly Dictionary<(Guid, Guid), IReadOnlyList<int>> _votes = new(state.Votes);
        private readonly List<VoteWrite> _voteWrites = [];
        private readonly Dictionary<string, StoredChange> _keys = new(state.ExistingChanges, StringComparer.Ordinal);

        public void Inserted(int insert, int result, StoredMessage message) => _inserted[message.Id] = (insert, result);

        public void ReplyAdded(Guid root) => _replyCounts[root] = _replyCounts.GetValueOrDefault(root) + 1;

        public PersistResult Apply(MessageEnvelope envelope, ConversationSnapshot conversation, Dictionary<Guid, StoredMessage> byId, List<DomainEvent> events)
        {
            if (_keys.TryGetValue(envelope.IdempotencyKey, out var applied))
            {
                return new PersistResult(envelope, PersistOutcome.Duplicate, applied.Message, conversation.Members, null) { Change = applied };
            }

            if (envelope.TargetId is not { } targetId || byId.GetValueOrDefault(targetId) is not { } target || target.ConversationId != envelope.ConversationId)
            {
                return PersistResult.Rejected(envelope, MissingTarget);
            }

            var at = StoreTime.Truncate(envelope.AcceptedAt);
            StoredMessage updated;
            var reactionCount = 0;
            switch (envelope.Kind)
            {
                case MessageChangeKinds.Edit:
                    if (envelope.SenderId != target.SenderId)
                    {
                        return PersistResult.Rejected(envelope, NotSender);
                    }

                    if (target.Deleted || string.Equals(target.Content, envelope.Content, StringComparison.Ordinal))
                    {
                        return Unchanged(envelope, target, conversation);
                    }

                    updated = target with
                    {
                        Content = envelope.Content,
                        ContentHash = IdempotencyKeys.ContentHash(envelope.Content),
                        Size = Encoding.UTF8.GetByteCount(envelope.Content),
                        EditCount = target.EditCount + 1,
                        EditedAt = at,
                    };
                    _edits.Add(new MessageEditRecord(target.Id, updated.EditCount, target.Content, target.ContentHash, envelope.Reason, envelope.SenderId, at));
                    _previews.Add((target.Id, ReplyPreview.Of(updated.Content)));
                    break;
                case MessageChangeKinds.Delete:
                    if (target.Deleted)
                    {
                        return Unchanged(envelope, target, conversation);
                    }

                    updated = target.Tombstone(at, envelope.SenderId);
                    _purges.Add(target.Id);
                    _previews.Add((target.Id, null));
                    _unreadDrops.Add(new UnreadDrop(target.ConversationId, target.Sequence, target.SenderId, target.Id, target.Mentions));
                    break;
                case MessageChangeKinds.Reaction when envelope.ReactionKey is { } key && envelope.Added is { } added:
                    var reaction = (target.Id, envelope.SenderId, key);
                    if (target.Deleted || _reacted.Contains(reaction) == added)
                    {
                        return Unchanged(envelope, target, conversation);
                    }

                    if (added)
                    {
                        _reacted.Add(reaction);
                    }
                    else
                    {
                        _reacted.Remove(reaction);
                    }

                    updated = target with { Reactions = ReactionCountsJson.With(target.Reactions, key, added ? 1 : -1) };
                    reactionCount = ReactionCountsJson.CountOf(updated.Reactions, key);
                    _reactions.Add(new ReactionWrite(target.Id, envelope.SenderId, key, added, at));
                    break;
                case MessageChangeKinds.Pin when envelope.Added is { } pin:
                    if (target.Deleted || (target.PinnedAt is not null) == pin)
                    {
                        return Unchanged(envelope, target, conversation);
                    }

                    updated = target with { PinnedAt = pin ? at : null, PinnedBy = pin ? envelope.SenderId : null };
                    break;
                case MessageChangeKinds.Vote when envelope.OptionIds is { } choice:
                    if (target.Deleted)
                    {
                        return Unchanged(envelope, target, conversation);
                    }

                    // The ingress checked all three; a vote can still reach a poll that a later edit of the log made otherwise (or none).
                    if (target.Poll is not { } poll)
                    {
                        return PersistResult.Rejected(envelope, NotAPoll);
                    }

                    if (poll.Definition.IsClosed(envelope.AcceptedAt))
                    {
                        return PersistResult.Rejected(envelope, PollClosed);
                    }

                    if (poll.Definition.ProblemWith(choice) is not null)
                    {
                        return PersistResult.Rejected(envelope, BadVote);
                    }

                    var voter = (target.Id, envelope.SenderId);
                    var before = _votes.GetValueOrDefault(voter) ?? [];
                    var after = choice.Order().ToList();
                    if (before.SequenceEqual(after))
                    {
                        return Unchanged(envelope, target, conversation);
                    }

                    _votes[voter] = after;
                    _voteWrites.Add(new VoteWrite(target.Id, envelope.SenderId, after, at));
                    updated = target with { Poll = poll.Moved(before, after) };
                    break;
                default:
                    return PersistResult.Rejected(envelope, $"unknown change kind '{envelope.Kind}'");
            }

            byId[target.Id] = updated;
            if (_inserted.ContainsKey(target.Id))
            {
                _insertChanges.Add((target.Id, updated));
            }
            else
            {
                _updates[target.Id] = updated;
            }

            var sequence = (_changeSequences.TryGetValue(envelope.ConversationId, out var last) ? last : conversation.LastChangeSequence) + 1;
            _changeSequences[envelope.ConversationId] = sequence;
            var change = new StoredChange(envelope.MessageId, envelope.ConversationId, sequence, envelope.Kind, envelope.SenderId, at, updated)
            {
                Reason = envelope.Kind == MessageChangeKinds.Edit ? envelope.Reason : null,
                ReactionKey = envelope.Kind == MessageChangeKinds.Reaction ? envelope.ReactionKey : null,
                Added = envelope.Added ?? false,
                ReactionCount = reactionCount,
                OptionIds = envelope.Kind == MessageChangeKinds.Vote ? _votes[(target.Id, envelope.SenderId)] : [],
            };
            _keys[envelope.IdempotencyKey] = change;
            _changes.Add(new PlannedChange(change, envelope.IdempotencyKey));
            events.Add(ChangeEvents.MessageChanged(change, envelope.CorrelationId, storedAt));
            return new PersistResult(envelope, PersistOutcome.Inserted, updated, conversation.Members, null) { Change = change };
        }

        private static PersistResult Unchanged(MessageEnvelope envelope, StoredMessage target, ConversationSnapshot conversation) =>
            new(envelope, PersistOutcome.Unchanged, target, conversation.Members, null);

        public PersistPlan Complete(PersistPlan plan, List<PlannedMessage> inserts, List<PersistResult> results)
        {
            foreach (var (id, message) in _insertChanges)
            {
                var (insert, result) = _inserted[id];
                inserts[insert] = inserts[insert] with { Message = message };
                // Pushed as it is stored: content a delete in the same batch erased never reaches a device.
                results[result] = results[result] with { Message = message };
            }

            // Net per reaction: added then removed in one batch writes nothing, so the engines may apply adds and removes in any order.
            var reactions = _reactions.GroupBy(r => (r.MessageId, r.UserId, r.Key)).Where(g => g.First().Added == g.Last().Added).Select(g => g.Last()).ToList();
            // The last preview per replied-to message is the one that stands.
            var previews = _previews.GroupBy(p => p.Item1).Select(g => g.Last()).ToList();
            return plan with
            {
                Updates = [.. _updates.Values],
                Edits = _edits,
                Reactions = reactions,
                // The last choice per voter is the one that stands.
                Votes = [.. _voteWrites.GroupBy(v => (v.MessageId, v.UserId)).Select(g => g.Last())],
                Changes = _changes,
                ChangeAdvances = [.. _changeSequences.Select(c => (c.Key, c.Value))],
                Purges = _purges,
                ReplyPreviews = previews,
                ReplyCounts = [.. _replyCounts.Select(r => (r.Key, r.Value))],
                UnreadDrops = _unreadDrops,
            };
        }
    }
}
