using System.Text.Json;
using Parley.Core.Events;
using Parley.Core.Ports;

namespace Parley.Core.Persistence;

/// <summary>
/// Folds the outbox into the read models, the same on every engine and with no I/O: feed it every event oldest first
/// (<see cref="Apply"/>), then take <see cref="Result"/>. The rules are the writers' (<see cref="PersistPlanner"/>,
/// <see cref="ReceiptPlanner"/>, the hide and membership writes), restated over the history:
/// <list type="bullet">
/// <item>last activity is the latest of the conversation's creation and its messages' acceptance; the last message has the highest sequence;</item>
/// <item>a member's unread messages are those above their read watermark, not theirs, not deleted for everyone and not
/// hidden by them (and the unread mentions those of them that mention the member); the watermark is where they joined
/// (the last sequence then), moved up by their read receipts and their own sends;</item>
/// <item>a message's reaction counts are its current (user, key) reactions, erased by a delete for everyone; a thread
/// root's reply count is the number of messages stored in its thread (deletes do not lower it, as they do not when live).</item>
/// </list>
/// Every value that depends on order is a maximum or a set, so concurrent transactions committed in another order
/// than their events sort give the same result; only membership (joins and removals) is taken in event order.
/// </summary>
public sealed class ReadModelProjection
{
    private readonly Dictionary<Guid, ConversationState> _conversations = [];
    private readonly Dictionary<Guid, MessageState> _messages = [];
    private readonly HashSet<(Guid UserId, Guid MessageId)> _hidden = [];

    /// <summary>The event types the fold reads; an engine may read only these.</summary>
    public static readonly IReadOnlyList<string> EventTypes =
    [
        DomainEventTypes.ConversationCreated, DomainEventTypes.MembersAdded, DomainEventTypes.MemberRemoved, DomainEventTypes.MessageStored,
        DomainEventTypes.ReceiptAdvanced, DomainEventTypes.MessageHidden, DomainEventTypes.MessageDeleted, DomainEventTypes.ReactionAdded, DomainEventTypes.ReactionRemoved,
    ];

    public long EventsApplied { get; private set; }

    public void Apply(DomainEvent domainEvent)
    {
        EventsApplied++;
        switch (domainEvent.Type)
        {
            case DomainEventTypes.ConversationCreated:
                var created = Read(domainEvent, ChangeEventsJson.Default.ConversationCreatedData);
                var conversation = new ConversationState(domainEvent.OccurredAt);
                foreach (var member in created.Members)
                {
                    conversation.Join(member.UserId, 0);
                }

                _conversations[created.ConversationId] = conversation;
                break;
            case DomainEventTypes.MembersAdded:
                var added = Read(domainEvent, ChangeEventsJson.Default.MembersAddedData);
                if (_conversations.TryGetValue(added.ConversationId, out var joined))
                {
                    foreach (var member in added.Members)
                    {
                        joined.Join(member.UserId, added.ReadUpTo ?? joined.LastSequence);
                    }
                }

                break;
            case DomainEventTypes.MemberRemoved:
                var removed = Read(domainEvent, ChangeEventsJson.Default.MemberRemovedData);
                if (_conversations.TryGetValue(removed.ConversationId, out var left))
                {
                    left.Members.Remove(removed.UserId);
                }

                break;
            case DomainEventTypes.MessageStored:
                Stored(domainEvent, Read(domainEvent, ChangeEventsJson.Default.MessageStoredData));
                break;
            case DomainEventTypes.ReceiptAdvanced:
                var receipt = Read(domainEvent, ChangeEventsJson.Default.ReceiptAdvancedData);
                if (_conversations.TryGetValue(receipt.ConversationId, out var read))
                {
                    read.MoveRead(receipt.UserId, receipt.Read);
                }

                break;
            case DomainEventTypes.MessageHidden:
                var hidden = Read(domainEvent, ChangeEventsJson.Default.BookmarkData);
                _hidden.Add((hidden.UserId, hidden.MessageId));
                break;
            case DomainEventTypes.MessageDeleted:
                if (_messages.TryGetValue(Read(domainEvent, ChangeEventsJson.Default.MessageChangedData).MessageId, out var deleted))
                {
                    deleted.Deleted = true;
                    deleted.Reactions.Clear();
                }

                break;
            case DomainEventTypes.ReactionAdded or DomainEventTypes.ReactionRemoved:
                var reaction = Read(domainEvent, ChangeEventsJson.Default.MessageChangedData);
                if (reaction.ReactionKey is { } key && _messages.TryGetValue(reaction.MessageId, out var reacted))
                {
                    if (domainEvent.Type == DomainEventTypes.ReactionAdded)
                    {
                        reacted.Reactions.Add((reaction.ActorId, key));
                    }
                    else
                    {
                        reacted.Reactions.Remove((reaction.ActorId, key));
                    }
                }

                break;
        }
    }

    /// <summary>The read models of every conversation the events cover (one they created), and of its members and messages.</summary>
    public ReadModelSet Result()
    {
        var conversations = new Dictionary<Guid, ConversationReadModel>();
        var members = new Dictionary<(Guid, Guid), MemberReadModel>();
        var messages = new Dictionary<Guid, MessageReadModel>();
        foreach (var (id, conversation) in _conversations)
        {
            conversations[id] = new ConversationReadModel(conversation.LastActivityAt, conversation.LastMessageId);
            foreach (var (user, readTo) in conversation.Members)
            {
                long unread = 0, mentions = 0;
                foreach (var message in conversation.Messages)
                {
                    if (message.Sequence > readTo && message.SenderId != user && !message.Deleted && !_hidden.Contains((user, message.Id)))
                    {
                        unread++;
                        mentions += message.Mentions.Contains(user) ? 1 : 0;
                    }
                }

                members[(id, user)] = new MemberReadModel(unread, mentions);
            }
        }

        foreach (var (id, message) in _messages)
        {
            var counts = message.Reactions.GroupBy(r => r.Key, StringComparer.Ordinal).OrderBy(g => g.Key, StringComparer.Ordinal)
                .Select(g => new ReactionCount(g.Key, g.Count())).ToList();
            var model = new MessageReadModel(message.ReplyCount, ReactionCountsJson.Format(counts));
            if (!model.IsEmpty)
            {
                messages[id] = model;
            }
        }

        return new ReadModelSet(conversations, members, messages);
    }

    /// <summary>Whether the events cover the conversation (they hold its creation).</summary>
    public bool Covers(Guid conversationId) => _conversations.ContainsKey(conversationId);

    /// <summary>Whether the events hold the message's message.stored.</summary>
    public bool Knows(Guid messageId) => _messages.ContainsKey(messageId);

    private void Stored(DomainEvent domainEvent, MessageStoredData stored)
    {
        if (stored.Mentions is null)
        {
            throw new ReadModelHistoryException(domainEvent.Cursor, domainEvent.Type);
        }

        var message = new MessageState(stored.MessageId, stored.Sequence, stored.SenderId, stored.Mentions);
        _messages[stored.MessageId] = message;
        if (stored.ThreadRootId is { } root && _messages.TryGetValue(root, out var thread))
        {
            thread.ReplyCount++;
        }

        if (_conversations.TryGetValue(stored.ConversationId, out var conversation))
        {
            conversation.Messages.Add(message);
            if (stored.Sequence > conversation.LastSequence)
            {
                conversation.LastSequence = stored.Sequence;
                conversation.LastMessageId = stored.MessageId;
            }

            if (stored.AcceptedAt > conversation.LastActivityAt)
            {
                conversation.LastActivityAt = stored.AcceptedAt;
            }

            // Sending reads up to your own message.
            conversation.MoveRead(stored.SenderId, stored.Sequence);
        }
    }

    private static T Read<T>(DomainEvent domainEvent, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> type) =>
        JsonSerializer.Deserialize(domainEvent.Data, type)
        ?? throw new InvalidOperationException($"Event {domainEvent.Id} ({domainEvent.Type}) at {domainEvent.Cursor} has no data.");

    private sealed class ConversationState(DateTimeOffset createdAt)
    {
        public DateTimeOffset LastActivityAt { get; set; } = createdAt;

        public long LastSequence { get; set; }

        public Guid? LastMessageId { get; set; }

        /// <summary>Current members and their read watermarks.</summary>
        public Dictionary<Guid, long> Members { get; } = [];

        public List<MessageState> Messages { get; } = [];

        /// <summary>A member who is already in stays as they are (adding a member twice changes nothing).</summary>
        public void Join(Guid userId, long readUpTo) => Members.TryAdd(userId, readUpTo);

        public void MoveRead(Guid userId, long sequence)
        {
            if (Members.TryGetValue(userId, out var read) && sequence > read)
            {
                Members[userId] = sequence;
            }
        }
    }

    private sealed class MessageState(Guid id, long sequence, Guid senderId, IReadOnlyList<Guid> mentions)
    {
        public Guid Id { get; } = id;

        public long Sequence { get; } = sequence;

        public Guid SenderId { get; } = senderId;

        public IReadOnlyList<Guid> Mentions { get; } = mentions;

        public bool Deleted { get; set; }

        public int ReplyCount { get; set; }

        public HashSet<(Guid UserId, string Key)> Reactions { get; } = [];
    }
}
