namespace Parley.Core.Events;

/// <summary>
/// One committed change, recorded by the store in the transaction that made it (the transactional outbox, E1): no
/// event without its change, no change without its event. <see cref="Data"/> is the change's JSON (camelCase, shaped
/// per <see cref="Type"/> and <see cref="Version"/>); <see cref="Metadata"/> is optional JSON context such as a
/// traceparent. <see cref="Cursor"/> is assigned by the store and orders events for consumers.
/// </summary>
public sealed record DomainEvent(
    Guid Id,
    string AggregateType,
    string AggregateId,
    string Type,
    int Version,
    Guid CorrelationId,
    Guid? CausationId,
    Guid? UserId,
    DateTimeOffset OccurredAt,
    string Data,
    string? Metadata)
{
    public EventCursor Cursor { get; init; }
}

/// <summary>
/// Who and what caused a change: the request's correlation id, the event that caused it (when a consumer of one
/// event makes another change) and the acting user.
/// </summary>
public sealed record EventContext(Guid CorrelationId, Guid? CausationId = null, Guid? UserId = null)
{
    /// <summary>A fresh correlation for a change nothing else correlates (a tool, a test, a background job).</summary>
    public static EventContext New(Guid? userId = null) => new(Guid.CreateVersion7(), null, userId);
}

/// <summary>
/// A position in the event stream. <see cref="Transaction"/> is the writing transaction's id where the engine has
/// concurrent writers (PostgreSQL's xid8; 0 on SQLite, whose single writer commits in position order), and
/// <see cref="Position"/> the event's own number; events are ordered by both, in that order.
/// </summary>
public readonly record struct EventCursor(long Transaction, long Position) : IComparable<EventCursor>
{
    public static EventCursor Start => default;

    public int CompareTo(EventCursor other) =>
        Transaction != other.Transaction ? Transaction.CompareTo(other.Transaction) : Position.CompareTo(other.Position);

    public static bool operator <(EventCursor left, EventCursor right) => left.CompareTo(right) < 0;

    public static bool operator >(EventCursor left, EventCursor right) => left.CompareTo(right) > 0;

    public static bool operator <=(EventCursor left, EventCursor right) => left.CompareTo(right) <= 0;

    public static bool operator >=(EventCursor left, EventCursor right) => left.CompareTo(right) >= 0;

    public override string ToString() => $"{Transaction}:{Position}";

    /// <summary>The inverse of <see cref="ToString"/>: <c>transaction:position</c>.</summary>
    public static EventCursor Parse(string text)
    {
        var colon = text.IndexOf(':', StringComparison.Ordinal);
        return new EventCursor(
            long.Parse(text.AsSpan(0, colon), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture),
            long.Parse(text.AsSpan(colon + 1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture));
    }
}

/// <summary>The event types a store records, one per kind of change. A new change adds its type here.</summary>
public static class DomainEventTypes
{
    public const string UserRegistered = "user.registered";
    public const string UserUpdated = "user.updated";
    public const string SessionStarted = "session.started";
    public const string SessionRefreshed = "session.refreshed";
    public const string SessionRevoked = "session.revoked";
    public const string SessionReuseDetected = "session.reuse_detected";
    public const string ConversationCreated = "conversation.created";
    public const string MembersAdded = "conversation.members_added";
    public const string MemberRemoved = "conversation.member_removed";
    public const string MemberRoleChanged = "conversation.member_role_changed";
    public const string ConversationUpdated = "conversation.updated";
    public const string InviteCreated = "conversation.invite_created";
    public const string InviteRevoked = "conversation.invite_revoked";
    public const string MemberSettingsChanged = "conversation.member_settings_changed";
    public const string MessageStored = "message.stored";
    public const string ReceiptAdvanced = "receipt.advanced";

    // Changes to messages (M8, M9), applied through the log after the message they change.
    public const string MessageEdited = "message.edited";
    public const string MessageDeleted = "message.deleted";
    public const string ReactionAdded = "message.reaction_added";
    public const string ReactionRemoved = "message.reaction_removed";
    public const string MessagePinned = "message.pinned";
    public const string MessageUnpinned = "message.unpinned";

    /// <summary>A vote in a poll was cast, changed or retracted; the voter is named only when the poll is not anonymous.</summary>
    public const string PollVoted = "message.poll_voted";

    /// <summary>Deleted for one user only (M8 delete for me).</summary>
    public const string MessageHidden = "message.hidden";

    // Per-user state (M9): bookmarks and drafts.
    public const string MessageBookmarked = "message.bookmarked";
    public const string MessageUnbookmarked = "message.unbookmarked";
    public const string DraftSaved = "draft.saved";
    public const string DraftDeleted = "draft.deleted";

    // Reports and their moderation (M9).
    public const string MessageReported = "message.reported";
    public const string ReportResolved = "report.resolved";
    // Scheduled sends (M8): the sender's own until released; the release itself is a message.stored.
    public const string MessageScheduled = "message.scheduled";
    public const string ScheduleCancelled = "message.schedule_cancelled";
    public const string ScheduleSent = "message.schedule_sent";
    public const string ScheduleFailed = "message.schedule_failed";

    // Push targets (P5): registered by the user, removed by the user or because the provider reported the token gone.
    public const string DeviceRegistered = "device.registered";
    public const string DeviceRemoved = "device.removed";

    // Friends and blocks (M3).
    public const string FriendRequested = "friend.requested";
    public const string FriendAccepted = "friend.accepted";
    public const string FriendDeclined = "friend.declined";
    public const string FriendCancelled = "friend.cancelled";
    public const string FriendRemoved = "friend.removed";
    public const string UserBlocked = "user.blocked";
    public const string UserUnblocked = "user.unblocked";

    // Webhook subscriptions (E5), changed by server admins; disabled also by a run of failed deliveries.
    public const string WebhookCreated = "webhook.created";
    public const string WebhookUpdated = "webhook.updated";
    public const string WebhookDeleted = "webhook.deleted";
    public const string WebhookDisabled = "webhook.disabled";

    public static readonly IReadOnlyList<string> All =
        [UserRegistered, UserUpdated, SessionStarted, SessionRefreshed, SessionRevoked, SessionReuseDetected, ConversationCreated, MessageStored, ReceiptAdvanced,
        MembersAdded, MemberRemoved, MemberRoleChanged, ConversationUpdated, InviteCreated, InviteRevoked,
        FriendRequested, FriendAccepted, FriendDeclined, FriendCancelled, FriendRemoved, UserBlocked, UserUnblocked, MemberSettingsChanged,
        MessageBookmarked, MessageUnbookmarked, DraftSaved, DraftDeleted, MessageEdited, MessageDeleted, ReactionAdded, ReactionRemoved, MessageHidden, MessagePinned, MessageUnpinned,
        PollVoted, MessageReported, ReportResolved, MessageScheduled, ScheduleCancelled, ScheduleSent, ScheduleFailed,
        DeviceRegistered, DeviceRemoved, WebhookCreated, WebhookUpdated, WebhookDeleted, WebhookDisabled];
}

public static class AggregateTypes
{
    public const string User = "user";
    public const string Conversation = "conversation";
    public const string Webhook = "webhook";
}
