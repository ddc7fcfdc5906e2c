using Parley.Core.Ports;

namespace Parley.Server.Contracts;

/// <summary>Server → client event names (docs/realtime.md). Never rename one.</summary>
public static class RealtimeEvents
{
    public const string MessageCreated = "messageCreated";
    public const string Receipt = "receipt";
    public const string Typing = "typing";
    public const string Presence = "presence";

    /// <summary>Sent once right after a connection is established: the user's unread total, for a badge.</summary>
    public const string UnreadTotal = "unreadTotal";

    /// <summary>Sent just before the server closes a connection on purpose, with the reason.</summary>
    public const string Disconnecting = "disconnecting";

    /// <summary>To the members (the newcomers included): users joined or were added.</summary>
    public const string MemberAdded = "memberAdded";

    /// <summary>To the remaining members: a member was removed or left.</summary>
    public const string MemberRemoved = "memberRemoved";

    public const string MemberRoleChanged = "memberRoleChanged";

    /// <summary>To the members: the title, description, avatar, metadata, visibility or status changed.</summary>
    public const string ConversationUpdated = "conversationUpdated";

    /// <summary>To the user whose own membership changed (added, removed, left, role), on every device.</summary>
    public const string MembershipChanged = "membershipChanged";
    /// <summary>To the user's own devices: their draft in a conversation was saved or deleted (on another device, or this one).</summary>
    public const string DraftUpdated = "draftUpdated";

    /// <summary>To the scheduler's own devices: a scheduled send was made, cancelled, sent or failed at its time.</summary>
    public const string ScheduledMessageUpdated = "scheduledMessageUpdated";

    // Friends (M3): to the user concerned only.
    public const string FriendRequest = "friendRequest";
    public const string FriendRequestAccepted = "friendRequestAccepted";
    public const string FriendRequestDeclined = "friendRequestDeclined";
    public const string FriendRequestCancelled = "friendRequestCancelled";
    public const string FriendRemoved = "friendRemoved";

    // Changes to messages (M8, M9): to every member, after the message they change, in change order.
    public const string MessageEdited = "messageEdited";
    public const string MessageDeleted = "messageDeleted";
    public const string ReactionChanged = "reactionChanged";
    public const string MessagePinned = "messagePinned";
    public const string PollUpdated = "pollUpdated";

    /// <summary>To the user's own devices: a message deleted for them only.</summary>
    public const string MessageHidden = "messageHidden";

    /// <summary>To the user whose own settings for a conversation (mute, pin, archive) changed, on every device.</summary>
    public const string ConversationSettingsChanged = "conversationSettingsChanged";
}

/// <summary>Reasons in <see cref="DisconnectingView"/>; stable like error codes.</summary>
public static class RealtimeErrors
{
    public const string SlowConsumer = "SLOW_CONSUMER";
    public const string TokenExpired = "TOKEN_EXPIRED";
}

/// <summary>Client → server send over the hub. <c>Metadata</c> is a JSON object encoded as a string.</summary>
public sealed class HubSendMessage
{
    public Guid ConversationId { get; set; }
    public string? Content { get; set; }
    public string? Type { get; set; }
    public string? ClientMessageId { get; set; }
    public string? Metadata { get; set; }

    /// <summary>The message of the same conversation this one replies to.</summary>
    public Guid? ReplyTo { get; set; }

    /// <summary>Members mentioned (user ids).</summary>
    public Guid[]? Mentions { get; set; }

    /// <summary>A disappearing message: deleted for everyone at this time.</summary>
    public DateTimeOffset? ExpiresAt { get; set; }

    /// <summary>A poll (with <c>Type</c> "poll" or no type): its options; the content is the question.</summary>
    public HubPoll? Poll { get; set; }
}

public sealed class HubPoll
{
    public string[]? Options { get; set; }
    public bool MultipleAnswers { get; set; }
    public bool Anonymous { get; set; }
    public DateTimeOffset? ClosesAt { get; set; }
}

/// <summary>What a reconnecting device already has in one conversation.</summary>
public sealed class ResumePosition
{
    public Guid ConversationId { get; set; }
    public long LastSequence { get; set; }

    /// <summary>
    /// The last change position (<c>changeSequence</c> of messageEdited, messageDeleted, reactionChanged) the device
    /// has; with it, the changes after it are sent too, after the messages. Without it, only messages are recovered.
    /// </summary>
    public long? LastChangeSequence { get; set; }
}

public static class ResumeStatuses
{
    /// <summary>Everything after the position was sent, in order, before this answer; live follows without a gap.</summary>
    public const string Recovered = "recovered";

    /// <summary>More than RecoveryLimit messages were missed: read history from <c>fromSequence</c>; live continues after <c>latestSequence</c>.</summary>
    public const string Resync = "resync";
}

public static class SyncStatuses
{
    /// <summary>POST /api/v1/sync: more missed messages than this answer carries; ask again from the last one received.</summary>
    public const string More = "more";
}

/// <summary>The answer for one conversation: <c>replayed</c> messages sent, covering (fromSequence, latestSequence].</summary>
public sealed record ResumeResult(Guid ConversationId, string Status, long FromSequence, long LatestSequence, long Replayed)
{
    /// <summary>With a <c>lastChangeSequence</c> in the position: the changes sent after the messages, covering (from, latest].</summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public ChangeRecovery? Changes { get; init; }
}

/// <summary>Status as for messages: recovered, or resync when more than RecoveryLimit changes were missed (re-read the messages' history then).</summary>
public sealed record ChangeRecovery(string Status, long FromChangeSequence, long LatestChangeSequence, long Replayed);

public sealed record DisconnectingView(string Reason, string Message);

public sealed record MemberView(Guid UserId, string Role);

/// <summary>A user's draft in one conversation; <c>Deleted</c> true (and no content) when it was removed.</summary>
public sealed record DraftView(Guid ConversationId, string? Content, JsonText? Metadata, DateTimeOffset UpdatedAt, bool Deleted)
{
    public static DraftView From(DraftRecord draft) => new(draft.ConversationId, draft.Content, JsonText.From(draft.Metadata), draft.UpdatedAt, false);
}

/// <summary>
/// <c>Members</c> lists at most <see cref="MaxListed"/> of the <c>Total</c> added: every member gets this event, so a
/// full list would cost a bulk add the square of its size; a client that needs the rest reads the conversation.
/// </summary>
public sealed record MemberAddedView(Guid ConversationId, IReadOnlyList<MemberView> Members, int Total, Guid By)
{
    public const int MaxListed = 100;
}

/// <summary><c>Reason</c> is <c>removed</c> or <c>left</c>.</summary>
public sealed record MemberRemovedView(Guid ConversationId, Guid UserId, string Reason, Guid By);

public sealed record MemberRoleChangedView(Guid ConversationId, Guid UserId, string Role, Guid By);

/// <summary>
/// The user's own membership: <c>Member</c> false after a removal or leave (the conversation is gone from their reach:
/// no more events, history or sends); true with their <c>Role</c> after being added or re-roled.
/// </summary>
public sealed record MembershipChangedView(Guid ConversationId, Guid UserId, bool Member, string? Role, string Reason, Guid By);

public sealed record TypingView(Guid ConversationId, Guid UserId, bool IsTyping, int ExpiresInMs);

public sealed record PresenceView(Guid UserId, bool Online, DateTimeOffset? LastSeenAt);

public sealed record RefreshResult(DateTimeOffset ExpiresAt);
