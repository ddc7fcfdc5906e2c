using System.Text.Json.Serialization;
using Parley.Core.Messaging;
using Parley.Core.Ports;

namespace Parley.Server.Contracts;

/// <summary>
/// Every event the server pushes to a device, one sealed type each. On the hub a client receives <see cref="Name"/>
/// as the method and <see cref="Payload"/> as its one argument (docs/realtime.md lists them); between nodes the event
/// travels whole (<see cref="NodeEventJsonContext"/>). A new event is a new subtype here plus its
/// <see cref="JsonDerivedTypeAttribute"/> line; the constructor is private to this assembly so the set stays closed.
/// </summary>
[JsonPolymorphic(TypeDiscriminatorPropertyName = "name")]
[JsonDerivedType(typeof(MessageCreatedEvent), RealtimeEvents.MessageCreated)]
[JsonDerivedType(typeof(ReceiptEvent), RealtimeEvents.Receipt)]
[JsonDerivedType(typeof(TypingEvent), RealtimeEvents.Typing)]
[JsonDerivedType(typeof(PresenceEvent), RealtimeEvents.Presence)]
[JsonDerivedType(typeof(UnreadTotalEvent), RealtimeEvents.UnreadTotal)]
[JsonDerivedType(typeof(DisconnectingEvent), RealtimeEvents.Disconnecting)]
[JsonDerivedType(typeof(MemberAddedEvent), RealtimeEvents.MemberAdded)]
[JsonDerivedType(typeof(MemberRemovedEvent), RealtimeEvents.MemberRemoved)]
[JsonDerivedType(typeof(MemberRoleChangedEvent), RealtimeEvents.MemberRoleChanged)]
[JsonDerivedType(typeof(ConversationUpdatedEvent), RealtimeEvents.ConversationUpdated)]
[JsonDerivedType(typeof(MembershipChangedEvent), RealtimeEvents.MembershipChanged)]
[JsonDerivedType(typeof(FriendRequestEvent), RealtimeEvents.FriendRequest)]
[JsonDerivedType(typeof(FriendRequestAcceptedEvent), RealtimeEvents.FriendRequestAccepted)]
[JsonDerivedType(typeof(FriendRequestDeclinedEvent), RealtimeEvents.FriendRequestDeclined)]
[JsonDerivedType(typeof(FriendRequestCancelledEvent), RealtimeEvents.FriendRequestCancelled)]
[JsonDerivedType(typeof(FriendRemovedEvent), RealtimeEvents.FriendRemoved)]
[JsonDerivedType(typeof(ConversationSettingsChangedEvent), RealtimeEvents.ConversationSettingsChanged)]
[JsonDerivedType(typeof(DraftUpdatedEvent), RealtimeEvents.DraftUpdated)]
[JsonDerivedType(typeof(MessageEditedEvent), RealtimeEvents.MessageEdited)]
[JsonDerivedType(typeof(MessageDeletedEvent), RealtimeEvents.MessageDeleted)]
[JsonDerivedType(typeof(ReactionChangedEvent), RealtimeEvents.ReactionChanged)]
[JsonDerivedType(typeof(MessageHiddenEvent), RealtimeEvents.MessageHidden)]
[JsonDerivedType(typeof(MessagePinnedEvent), RealtimeEvents.MessagePinned)]
[JsonDerivedType(typeof(PollUpdatedEvent), RealtimeEvents.PollUpdated)]
[JsonDerivedType(typeof(ScheduledMessageUpdatedEvent), RealtimeEvents.ScheduledMessageUpdated)]
public abstract record RealtimeEvent
{
    private protected RealtimeEvent()
    {
    }

    /// <summary>The hub method name the client listens on.</summary>
    [JsonIgnore]
    public abstract string Name { get; }

    /// <summary>The event's one argument on the hub, serialized by the connection's protocol (JSON or MessagePack).</summary>
    [JsonIgnore]
    public abstract object Payload { get; }
}

/// <summary>A stored message; devices get these in sequence order per conversation, without gaps or duplicates.</summary>
public sealed record MessageCreatedEvent(MessageView Message) : RealtimeEvent
{
    [JsonIgnore]
    public override string Name => RealtimeEvents.MessageCreated;

    [JsonIgnore]
    public override object Payload => Message;
}

/// <summary>A member's delivered or read watermark moved.</summary>
public sealed record ReceiptEvent(ReceiptView Receipt) : RealtimeEvent
{
    [JsonIgnore]
    public override string Name => RealtimeEvents.Receipt;

    [JsonIgnore]
    public override object Payload => Receipt;
}

public sealed record TypingEvent(TypingView Typing) : RealtimeEvent
{
    [JsonIgnore]
    public override string Name => RealtimeEvents.Typing;

    [JsonIgnore]
    public override object Payload => Typing;
}

public sealed record PresenceEvent(PresenceView Presence) : RealtimeEvent
{
    [JsonIgnore]
    public override string Name => RealtimeEvents.Presence;

    [JsonIgnore]
    public override object Payload => Presence;
}

/// <summary>Sent to one connection right after it connects; never crosses nodes.</summary>
public sealed record UnreadTotalEvent(UnreadTotalView Total) : RealtimeEvent
{
    [JsonIgnore]
    public override string Name => RealtimeEvents.UnreadTotal;

    [JsonIgnore]
    public override object Payload => Total;
}

/// <summary>Sent to one connection just before the server closes it on purpose; never crosses nodes.</summary>
public sealed record DisconnectingEvent(DisconnectingView Disconnecting) : RealtimeEvent
{
    [JsonIgnore]
    public override string Name => RealtimeEvents.Disconnecting;

    [JsonIgnore]
    public override object Payload => Disconnecting;
}

public sealed record MemberAddedEvent(MemberAddedView Added) : RealtimeEvent
{
    [JsonIgnore]
    public override string Name => RealtimeEvents.MemberAdded;

    [JsonIgnore]
    public override object Payload => Added;
}

public sealed record MemberRemovedEvent(MemberRemovedView Removed) : RealtimeEvent
{
    [JsonIgnore]
    public override string Name => RealtimeEvents.MemberRemoved;

    [JsonIgnore]
    public override object Payload => Removed;
}

public sealed record MemberRoleChangedEvent(MemberRoleChangedView Changed) : RealtimeEvent
{
    [JsonIgnore]
    public override string Name => RealtimeEvents.MemberRoleChanged;

    [JsonIgnore]
    public override object Payload => Changed;
}

public sealed record ConversationUpdatedEvent(ConversationDetailsView Conversation) : RealtimeEvent
{
    [JsonIgnore]
    public override string Name => RealtimeEvents.ConversationUpdated;

    [JsonIgnore]
    public override object Payload => Conversation;
}

public sealed record MembershipChangedEvent(MembershipChangedView Membership) : RealtimeEvent
{
    [JsonIgnore]
    public override string Name => RealtimeEvents.MembershipChanged;

    [JsonIgnore]
    public override object Payload => Membership;
}

/// <summary>A friend request changed; the subtypes differ only in the hub method name.</summary>
public abstract record FriendRequestChangedEvent(FriendRequestView Request) : RealtimeEvent
{
    [JsonIgnore]
    public override object Payload => Request;
}

/// <summary>To the recipient: someone asked to be their friend.</summary>
public sealed record FriendRequestEvent(FriendRequestView Request) : FriendRequestChangedEvent(Request)
{
    [JsonIgnore]
    public override string Name => RealtimeEvents.FriendRequest;
}

/// <summary>To the sender: the recipient accepted.</summary>
public sealed record FriendRequestAcceptedEvent(FriendRequestView Request) : FriendRequestChangedEvent(Request)
{
    [JsonIgnore]
    public override string Name => RealtimeEvents.FriendRequestAccepted;
}

/// <summary>To the sender: the recipient declined.</summary>
public sealed record FriendRequestDeclinedEvent(FriendRequestView Request) : FriendRequestChangedEvent(Request)
{
    [JsonIgnore]
    public override string Name => RealtimeEvents.FriendRequestDeclined;
}

/// <summary>To the recipient: the sender took the request back.</summary>
public sealed record FriendRequestCancelledEvent(FriendRequestView Request) : FriendRequestChangedEvent(Request)
{
    [JsonIgnore]
    public override string Name => RealtimeEvents.FriendRequestCancelled;
}

/// <summary>To the other user: the friendship was ended (never sent for a block, which stays invisible).</summary>
public sealed record FriendRemovedEvent(FriendRemovedView Removed) : RealtimeEvent
{
    [JsonIgnore]
    public override string Name => RealtimeEvents.FriendRemoved;

    [JsonIgnore]
    public override object Payload => Removed;
}

/// <summary>To the member's own devices only: their settings for a conversation changed (from another device, or this one).</summary>
public sealed record ConversationSettingsChangedEvent(ConversationSettingsView Settings) : RealtimeEvent
{
    [JsonIgnore]
    public override string Name => RealtimeEvents.ConversationSettingsChanged;

    [JsonIgnore]
    public override object Payload => Settings;
}

public sealed record DraftUpdatedEvent(DraftView Draft) : RealtimeEvent
{
    [JsonIgnore]
    public override string Name => RealtimeEvents.DraftUpdated;

    [JsonIgnore]
    public override object Payload => Draft;
}

/// <summary>The scheduler's scheduled message as it now is (<c>status</c> says what happened), so their other devices keep their list.</summary>
public sealed record ScheduledMessageUpdatedEvent(ScheduledMessageView Scheduled) : RealtimeEvent
{
    [JsonIgnore]
    public override string Name => RealtimeEvents.ScheduledMessageUpdated;

    [JsonIgnore]
    public override object Payload => Scheduled;
}

/// <summary>
/// A change to a stored message, as devices get it: after the message itself, in the conversation's change order
/// (<c>changeSequence</c>, gap-free per conversation), each at most once per connection. <c>Sequence</c> is the changed
/// message's own sequence.
/// </summary>
public abstract record MessageChangeEvent : RealtimeEvent
{
    private protected MessageChangeEvent()
    {
    }

    [JsonIgnore]
    public abstract Guid ConversationId { get; }

    [JsonIgnore]
    public abstract long Sequence { get; }

    [JsonIgnore]
    public abstract long ChangeSequence { get; }

    public static MessageChangeEvent From(StoredChange change)
    {
        var m = change.Message;
        return change.Kind switch
        {
            MessageChangeKinds.Edit => new MessageEditedEvent(new MessageEditedView(change.ConversationId, m.Id, m.Sequence, change.ChangeSequence, m.Content, m.ContentHash, m.Size,
                m.EditCount, m.EditedAt ?? change.At, change.ActorId, change.Reason, m.Deleted)),
            MessageChangeKinds.Pin => new MessagePinnedEvent(new MessagePinnedView(change.ConversationId, m.Id, m.Sequence, change.ChangeSequence, change.Added,
                change.ActorId, change.At)),
            MessageChangeKinds.Delete => new MessageDeletedEvent(new MessageDeletedView(change.ConversationId, m.Id, m.Sequence, change.ChangeSequence, m.DeletedAt ?? change.At,
                m.DeletedBy ?? change.ActorId)),
            MessageChangeKinds.Vote => new PollUpdatedEvent(PollUpdatedView.From(change)),
            _ => new ReactionChangedEvent(new ReactionChangedView(change.ConversationId, m.Id, m.Sequence, change.ChangeSequence, change.ReactionKey ?? "", change.ActorId,
                change.Added, change.ReactionCount, change.At)),
        };
    }
}

public sealed record MessageEditedEvent(MessageEditedView Edit) : MessageChangeEvent
{
    [JsonIgnore]
    public override Guid ConversationId => Edit.ConversationId;

    [JsonIgnore]
    public override long Sequence => Edit.Sequence;

    [JsonIgnore]
    public override long ChangeSequence => Edit.ChangeSequence;

    [JsonIgnore]
    public override string Name => RealtimeEvents.MessageEdited;

    [JsonIgnore]
    public override object Payload => Edit;
}

public sealed record MessageDeletedEvent(MessageDeletedView Deletion) : MessageChangeEvent
{
    [JsonIgnore]
    public override Guid ConversationId => Deletion.ConversationId;

    [JsonIgnore]
    public override long Sequence => Deletion.Sequence;

    [JsonIgnore]
    public override long ChangeSequence => Deletion.ChangeSequence;

    [JsonIgnore]
    public override string Name => RealtimeEvents.MessageDeleted;

    [JsonIgnore]
    public override object Payload => Deletion;
}

public sealed record ReactionChangedEvent(ReactionChangedView Reaction) : MessageChangeEvent
{
    [JsonIgnore]
    public override Guid ConversationId => Reaction.ConversationId;

    [JsonIgnore]
    public override long Sequence => Reaction.Sequence;

    [JsonIgnore]
    public override long ChangeSequence => Reaction.ChangeSequence;

    [JsonIgnore]
    public override string Name => RealtimeEvents.ReactionChanged;

    [JsonIgnore]
    public override object Payload => Reaction;
}

public sealed record MessagePinnedEvent(MessagePinnedView Pin) : MessageChangeEvent
{
    [JsonIgnore]
    public override Guid ConversationId => Pin.ConversationId;

    [JsonIgnore]
    public override long Sequence => Pin.Sequence;

    [JsonIgnore]
    public override long ChangeSequence => Pin.ChangeSequence;

    [JsonIgnore]
    public override string Name => RealtimeEvents.MessagePinned;

    [JsonIgnore]
    public override object Payload => Pin;
}

public sealed record PollUpdatedEvent(PollUpdatedView Poll) : MessageChangeEvent
{
    [JsonIgnore]
    public override Guid ConversationId => Poll.ConversationId;

    [JsonIgnore]
    public override long Sequence => Poll.Sequence;

    [JsonIgnore]
    public override long ChangeSequence => Poll.ChangeSequence;

    [JsonIgnore]
    public override string Name => RealtimeEvents.PollUpdated;

    [JsonIgnore]
    public override object Payload => Poll;
}

/// <summary>To the user's own devices: they deleted a message for themselves (on this device or another).</summary>
public sealed record MessageHiddenEvent(HiddenView Hidden) : RealtimeEvent
{
    [JsonIgnore]
    public override string Name => RealtimeEvents.MessageHidden;

    [JsonIgnore]
    public override object Payload => Hidden;
}

/// <summary>
/// Hands events to users' devices on every node, for the features below realtime (conversations, social) that may not
/// reference the hub. Never throws for a delivery that failed.
/// </summary>
public interface IRealtimeEvents
{
    Task PublishAsync(AddressedEvent addressed, CancellationToken cancellationToken);
}

/// <summary>One event and the users whose devices get it (all their devices, except those of <c>ExceptUser</c>).</summary>
public sealed record AddressedEvent(RealtimeEvent Event, IReadOnlyList<Guid> UserIds, Guid? ExceptUser = null);
