using System.Text.Json;
using System.Text.Json.Serialization;
using Parley.Core.Events;
using Parley.Core.Messaging;
using Parley.Core.Ports;

namespace Parley.Core.Persistence;

/// <summary>
/// The domain event of each change, built the same way on every engine: the engine writes what this returns in the
/// transaction that makes the change. A new change adds its factory (and its type in <see cref="DomainEventTypes"/>).
/// </summary>
public static class ChangeEvents
{
    public const int Version = 1;

    public static DomainEvent UserRegistered(UserRecord user, EventContext context) =>
        Create(AggregateTypes.User, user.Id, DomainEventTypes.UserRegistered, context with { UserId = context.UserId ?? user.Id }, user.CreatedAt,
            JsonSerializer.Serialize(new UserRegisteredData(user.Id, user.Username, user.DisplayName), ChangeEventsJson.Default.UserRegisteredData));

    /// <summary>The profile as it now is, except the email: events reach files and consumers, and the address is the user's to see.</summary>
    public static DomainEvent UserUpdated(UserRecord user, ProfileChange change, DateTimeOffset now, EventContext context) =>
        Create(AggregateTypes.User, user.Id, DomainEventTypes.UserUpdated, context with { UserId = context.UserId ?? user.Id }, now,
            JsonSerializer.Serialize(new UserUpdatedData(user.Id, user.DisplayName, user.AvatarUrl, change.SetEmail), ChangeEventsJson.Default.UserUpdatedData));

    public static DomainEvent SessionStarted(RefreshTokenRecord token, EventContext context) =>
        Session(DomainEventTypes.SessionStarted, token.UserId, token.CreatedAt, token.ExpiresAt, context);

    public static DomainEvent SessionRefreshed(Guid userId, RefreshTokenRecord replacement, DateTimeOffset now, EventContext context) =>
        Session(DomainEventTypes.SessionRefreshed, userId, now, replacement.ExpiresAt, context);

    public static DomainEvent SessionRevoked(Guid userId, DateTimeOffset now, EventContext context) =>
        Session(DomainEventTypes.SessionRevoked, userId, now, null, context);

    public static DomainEvent SessionReuseDetected(Guid userId, int revokedSessions, DateTimeOffset now, EventContext context) =>
        Create(AggregateTypes.User, userId, DomainEventTypes.SessionReuseDetected, context, now,
            JsonSerializer.Serialize(new SessionReuseData(userId, revokedSessions), ChangeEventsJson.Default.SessionReuseData));

    public static DomainEvent ConversationCreated(ConversationRecord conversation, IReadOnlyList<(Guid UserId, string Role)> members, EventContext context) =>
        Create(AggregateTypes.Conversation, conversation.Id, DomainEventTypes.ConversationCreated, context with { UserId = context.UserId ?? conversation.CreatedBy },
            conversation.CreatedAt,
            JsonSerializer.Serialize(
                new ConversationCreatedData(conversation.Id, conversation.Type, conversation.Title, conversation.CreatedBy,
                    [.. members.Select(m => new MemberData(m.UserId, m.Role))]),
                ChangeEventsJson.Default.ConversationCreatedData));

    /// <summary><paramref name="lastSequence"/>: the conversation's last sequence, which the new members have read and been delivered up to.</summary>
    public static DomainEvent MembersAdded(Guid conversationId, IReadOnlyList<MemberRecord> members, long lastSequence, DateTimeOffset now, EventContext context) =>
        Create(AggregateTypes.Conversation, conversationId, DomainEventTypes.MembersAdded, context, now,
            JsonSerializer.Serialize(new MembersAddedData(conversationId, [.. members.Select(m => new MemberData(m.UserId, m.Role))], context.UserId) { ReadUpTo = lastSequence },
                ChangeEventsJson.Default.MembersAddedData));

    /// <summary><paramref name="reason"/> is <see cref="MembershipChange.ReasonRemoved"/> or <see cref="MembershipChange.ReasonLeft"/>.</summary>
    public static DomainEvent MemberRemoved(Guid conversationId, Guid userId, string reason, DateTimeOffset now, EventContext context) =>
        Create(AggregateTypes.Conversation, conversationId, DomainEventTypes.MemberRemoved, context, now,
            JsonSerializer.Serialize(new MemberRemovedData(conversationId, userId, reason, context.UserId), ChangeEventsJson.Default.MemberRemovedData));

    public static DomainEvent MemberRoleChanged(Guid conversationId, Guid userId, string role, string previousRole, DateTimeOffset now, EventContext context) =>
        Create(AggregateTypes.Conversation, conversationId, DomainEventTypes.MemberRoleChanged, context, now,
            JsonSerializer.Serialize(new MemberRoleChangedData(conversationId, userId, role, previousRole, context.UserId), ChangeEventsJson.Default.MemberRoleChangedData));

    /// <summary>The conversation's editable fields and status as they now are.</summary>
    public static DomainEvent ConversationUpdated(ConversationRecord conversation, DateTimeOffset now, EventContext context) =>
        Create(AggregateTypes.Conversation, conversation.Id, DomainEventTypes.ConversationUpdated, context, now,
            JsonSerializer.Serialize(
                new ConversationUpdatedData(conversation.Id, conversation.Title, conversation.Description, conversation.AvatarUrl, conversation.Visibility, conversation.Status, context.UserId)
                {
                    MessageTtlSeconds = conversation.MessageTtlSeconds,
                },
                ChangeEventsJson.Default.ConversationUpdatedData));

    /// <summary>Without the code: it is a secret that lets anyone in, and events reach files and consumers.</summary>
    public static DomainEvent InviteCreated(InviteRecord invite, EventContext context) =>
        Create(AggregateTypes.Conversation, invite.ConversationId, DomainEventTypes.InviteCreated, context, invite.CreatedAt,
            JsonSerializer.Serialize(new InviteData(invite.ConversationId, invite.ExpiresAt, invite.MaxUses, invite.Uses, context.UserId), ChangeEventsJson.Default.InviteData));

    public static DomainEvent InviteRevoked(InviteRecord invite, DateTimeOffset now, EventContext context) =>
        Create(AggregateTypes.Conversation, invite.ConversationId, DomainEventTypes.InviteRevoked, context, now,
            JsonSerializer.Serialize(new InviteData(invite.ConversationId, invite.ExpiresAt, invite.MaxUses, invite.Uses, context.UserId), ChangeEventsJson.Default.InviteData));

    /// <summary>The member's settings as they now are, as stored (a mute that has run out is still in them).</summary>
    public static DomainEvent MemberSettingsChanged(Guid conversationId, Guid userId, MemberSettings settings, DateTimeOffset now, EventContext context) =>
        Create(AggregateTypes.Conversation, conversationId, DomainEventTypes.MemberSettingsChanged, context with { UserId = context.UserId ?? userId }, now,
            JsonSerializer.Serialize(
                new MemberSettingsChangedData(conversationId, userId, settings.Muted, settings.MutedUntil, settings.Pinned, settings.Archived),
                ChangeEventsJson.Default.MemberSettingsChangedData));

    public static DomainEvent MessageBookmarked(BookmarkRecord bookmark, EventContext context) =>
        Bookmark(DomainEventTypes.MessageBookmarked, bookmark.UserId, bookmark.MessageId, bookmark.ConversationId, bookmark.CreatedAt, context);

    public static DomainEvent MessageUnbookmarked(Guid userId, Guid messageId, Guid conversationId, DateTimeOffset now, EventContext context) =>
        Bookmark(DomainEventTypes.MessageUnbookmarked, userId, messageId, conversationId, now, context);

    /// <summary>Without the text: a draft is the user's until they send it; its length says it changed.</summary>
    public static DomainEvent DraftSaved(DraftRecord draft, EventContext context) =>
        Create(AggregateTypes.User, draft.UserId, DomainEventTypes.DraftSaved, context with { UserId = context.UserId ?? draft.UserId }, draft.UpdatedAt,
            JsonSerializer.Serialize(new DraftData(draft.UserId, draft.ConversationId, draft.Content.Length), ChangeEventsJson.Default.DraftData));

    public static DomainEvent DraftDeleted(Guid userId, Guid conversationId, DateTimeOffset now, EventContext context) =>
        Create(AggregateTypes.User, userId, DomainEventTypes.DraftDeleted, context with { UserId = context.UserId ?? userId }, now,
            JsonSerializer.Serialize(new DraftData(userId, conversationId, 0), ChangeEventsJson.Default.DraftData));

    /// <summary>Without the content: until its time a scheduled message is the sender's words alone.</summary>
    public static DomainEvent MessageScheduled(ScheduledMessage scheduled, EventContext context) =>
        Scheduled(DomainEventTypes.MessageScheduled, scheduled, scheduled.CreatedAt, context);

    public static DomainEvent ScheduleCancelled(ScheduledMessage scheduled, DateTimeOffset now, EventContext context) =>
        Scheduled(DomainEventTypes.ScheduleCancelled, scheduled, now, context);

    public static DomainEvent ScheduleSent(ScheduledMessage scheduled, Guid messageId, DateTimeOffset now, EventContext context) =>
        Scheduled(DomainEventTypes.ScheduleSent, scheduled with { MessageId = messageId }, now, context);

    public static DomainEvent ScheduleFailed(ScheduledMessage scheduled, string reason, DateTimeOffset now, EventContext context) =>
        Scheduled(DomainEventTypes.ScheduleFailed, scheduled with { FailureReason = reason }, now, context);

    /// <summary>Without the token: it is the key to the user's lock screen.</summary>
    public static DomainEvent DeviceRegistered(Parley.Core.Push.PushDevice device, EventContext context) =>
        Create(AggregateTypes.User, device.UserId, DomainEventTypes.DeviceRegistered, context with { UserId = context.UserId ?? device.UserId }, device.CreatedAt,
            JsonSerializer.Serialize(new DeviceData(device.Id, device.UserId, device.Platform, null), ChangeEventsJson.Default.DeviceData));

    /// <summary><paramref name="reason"/>: <c>user</c> (removed by its owner) or <c>gone</c> (the provider reported the token invalid).</summary>
    public static DomainEvent DeviceRemoved(Parley.Core.Push.PushDevice device, string reason, DateTimeOffset now, EventContext context) =>
        Create(AggregateTypes.User, device.UserId, DomainEventTypes.DeviceRemoved, context, now,
            JsonSerializer.Serialize(new DeviceData(device.Id, device.UserId, device.Platform, reason), ChangeEventsJson.Default.DeviceData));

    private static DomainEvent Scheduled(string type, ScheduledMessage s, DateTimeOffset at, EventContext context) =>
        Create(AggregateTypes.User, s.SenderId, type, context with { UserId = context.UserId ?? s.SenderId }, at,
            JsonSerializer.Serialize(new ScheduledData(s.Id, s.ConversationId, s.SenderId, s.SendAt, s.ClientMessageId, s.MessageId, s.FailureReason),
                ChangeEventsJson.Default.ScheduledData));

    private static DomainEvent Bookmark(string type, Guid userId, Guid messageId, Guid conversationId, DateTimeOffset at, EventContext context) =>
        Create(AggregateTypes.User, userId, type, context with { UserId = context.UserId ?? userId }, at,
            JsonSerializer.Serialize(new BookmarkData(userId, messageId, conversationId), ChangeEventsJson.Default.BookmarkData));

    /// <summary>The message's own correlation id and sender; its traceparent as metadata so a consumer can continue the trace.</summary>
    public static DomainEvent MessageStored(StoredMessage message, string? traceParent) =>
        Create(AggregateTypes.Conversation, message.ConversationId, DomainEventTypes.MessageStored,
            new EventContext(message.CorrelationId, null, message.SenderId), message.StoredAt,
            JsonSerializer.Serialize(
                new MessageStoredData(message.Id, message.ConversationId, message.Sequence, message.SenderId, message.Type, message.ClientMessageId, message.AcceptedAt)
                {
                    ThreadRootId = message.ThreadRootId,
                    Mentions = message.Mentions,
                },
                ChangeEventsJson.Default.MessageStoredData),
            traceParent is null ? null : JsonSerializer.Serialize(new TraceMetadata(traceParent), ChangeEventsJson.Default.TraceMetadata));

    /// <summary>
    /// message.edited, message.deleted, message.reaction_added, message.reaction_removed, message.pinned or
    /// message.unpinned, by the user who made the
    /// change. Never the content: an edit's text lives in the store (and leaves it with a delete), not in event files.
    /// </summary>
    public static DomainEvent MessageChanged(StoredChange change, Guid correlationId, DateTimeOffset storedAt) =>
        Create(AggregateTypes.Conversation, change.ConversationId, change.Kind switch
            {
                MessageChangeKinds.Edit => DomainEventTypes.MessageEdited,
                MessageChangeKinds.Delete => DomainEventTypes.MessageDeleted,
                MessageChangeKinds.Pin => change.Added ? DomainEventTypes.MessagePinned : DomainEventTypes.MessageUnpinned,
                MessageChangeKinds.Vote => DomainEventTypes.PollVoted,
                _ => change.Added ? DomainEventTypes.ReactionAdded : DomainEventTypes.ReactionRemoved,
            },
            new EventContext(correlationId, null, change.Anonymous ? null : change.ActorId), storedAt,
            JsonSerializer.Serialize(
                new MessageChangedData(change.Message.Id, change.ConversationId, change.Message.Sequence, change.ChangeSequence, change.VisibleActor,
                    change.Kind == MessageChangeKinds.Edit ? change.Message.EditCount : null, change.ReactionKey,
                    change.Kind == MessageChangeKinds.Reaction ? change.ReactionCount : null),
                ChangeEventsJson.Default.MessageChangedData));

    /// <summary>message.hidden: a user deleted a message for themselves.</summary>
    public static DomainEvent MessageHidden(Guid userId, StoredMessage message, DateTimeOffset now, EventContext context) =>
        Create(AggregateTypes.User, userId, DomainEventTypes.MessageHidden, context with { UserId = context.UserId ?? userId }, now,
            JsonSerializer.Serialize(new BookmarkData(userId, message.Id, message.ConversationId), ChangeEventsJson.Default.BookmarkData));

    /// <summary>message.reported: without the reason (the reporter's words, for the moderators) and without the message's content.</summary>
    public static DomainEvent MessageReported(ReportRecord report, EventContext context) =>
        Report(DomainEventTypes.MessageReported, report, report.CreatedAt, context with { UserId = context.UserId ?? report.ReporterId });

    /// <summary>report.resolved, one per report a resolution closed, by the moderator who resolved it.</summary>
    public static DomainEvent ReportResolved(ReportRecord report, EventContext context) =>
        Report(DomainEventTypes.ReportResolved, report, report.ResolvedAt ?? report.CreatedAt, context with { UserId = context.UserId ?? report.ResolvedBy });

    private static DomainEvent Report(string type, ReportRecord report, DateTimeOffset at, EventContext context) =>
        Create(AggregateTypes.Conversation, report.ConversationId, type, context, at,
            JsonSerializer.Serialize(new ReportData(report.Id, report.MessageId, report.ConversationId, report.ReporterId, report.ResolvedBy, report.Action),
                ChangeEventsJson.Default.ReportData));

    /// <summary>
    /// webhook.created, .updated, .deleted or .disabled (a run of failures; no acting user). Never the secret nor the
    /// URL: events reach files and consumers, and a receiver's URL may carry a token of its own.
    /// </summary>
    public static DomainEvent Webhook(string type, WebhookSubscription subscription, DateTimeOffset at, EventContext context) =>
        Create(AggregateTypes.Webhook, subscription.Id, type, context, at,
            JsonSerializer.Serialize(new WebhookData(subscription.Id, subscription.EventTypes, subscription.Enabled, subscription.ConsecutiveFailures),
                ChangeEventsJson.Default.WebhookData));

    public static DomainEvent ReceiptAdvanced(ReceiptUpdate update, DateTimeOffset now, EventContext context) =>
        Create(AggregateTypes.Conversation, update.ConversationId, DomainEventTypes.ReceiptAdvanced, context with { UserId = context.UserId ?? update.UserId }, now,
            JsonSerializer.Serialize(
                new ReceiptAdvancedData(update.ConversationId, update.UserId, update.Kind == ReceiptKind.Read ? "read" : "delivered",
                    update.Watermarks.Delivered, update.Watermarks.Read, update.UnreadCount),
                ChangeEventsJson.Default.ReceiptAdvancedData));

    /// <summary>friend.requested, .accepted, .declined or .cancelled, by the user who acted.</summary>
    public static DomainEvent FriendRequest(string type, FriendRequestRecord request, Guid actorId, DateTimeOffset now, EventContext context) =>
        Create(AggregateTypes.User, actorId, type, context with { UserId = context.UserId ?? actorId }, now,
            JsonSerializer.Serialize(new FriendRequestData(request.Id, request.SenderId, request.RecipientId), ChangeEventsJson.Default.FriendRequestData));

    public static DomainEvent FriendRemoved(Guid userId, Guid friendId, DateTimeOffset now, EventContext context) =>
        Create(AggregateTypes.User, userId, DomainEventTypes.FriendRemoved, context with { UserId = context.UserId ?? userId }, now,
            JsonSerializer.Serialize(new FriendRemovedData(userId, friendId), ChangeEventsJson.Default.FriendRemovedData));

    /// <summary>user.blocked with what the block took away, or user.unblocked (nothing taken away).</summary>
    public static DomainEvent Block(string type, Guid blockerId, Guid blockedId, BlockResult? result, DateTimeOffset now, EventContext context) =>
        Create(AggregateTypes.User, blockerId, type, context with { UserId = context.UserId ?? blockerId }, now,
            JsonSerializer.Serialize(new BlockData(blockerId, blockedId, result?.FriendshipRemoved ?? false, result?.RequestRemoved?.Id), ChangeEventsJson.Default.BlockData));

    private static DomainEvent Session(string type, Guid userId, DateTimeOffset at, DateTimeOffset? expiresAt, EventContext context) =>
        Create(AggregateTypes.User, userId, type, context with { UserId = context.UserId ?? userId }, at,
            JsonSerializer.Serialize(new SessionData(userId, expiresAt is null ? null : StoreTime.Truncate(expiresAt.Value)), ChangeEventsJson.Default.SessionData));

    private static DomainEvent Create(string aggregateType, Guid aggregateId, string type, EventContext context, DateTimeOffset occurredAt, string data, string? metadata = null)
    {
        var at = StoreTime.Truncate(occurredAt);
        return new DomainEvent(Guid.CreateVersion7(at), aggregateType, aggregateId.ToString(), type, Version,
            context.CorrelationId, context.CausationId, context.UserId, at, data, metadata);
    }
}

public sealed record DeviceData(Guid DeviceId, Guid UserId, string Platform, [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Reason);

public sealed record UserRegisteredData(Guid UserId, string Username, string DisplayName);

public sealed record UserUpdatedData(Guid UserId, string DisplayName, string? AvatarUrl, bool EmailChanged);

public sealed record SessionData(Guid UserId, DateTimeOffset? ExpiresAt);

public sealed record SessionReuseData(Guid UserId, int RevokedSessions);

public sealed record MemberData(Guid UserId, string Role);

public sealed record ConversationCreatedData(Guid ConversationId, string Type, string? Title, Guid CreatedBy, IReadOnlyList<MemberData> Members);

/// <summary><see cref="ReadUpTo"/>: where the new members' read and delivered watermarks start (absent in events written before it was recorded).</summary>
public sealed record MembersAddedData(Guid ConversationId, IReadOnlyList<MemberData> Members, Guid? By)
{
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public long? ReadUpTo { get; init; }
}

public sealed record MemberRemovedData(Guid ConversationId, Guid UserId, string Reason, Guid? By);

public sealed record MemberRoleChangedData(Guid ConversationId, Guid UserId, string Role, string PreviousRole, Guid? By);

public sealed record ConversationUpdatedData(Guid ConversationId, string? Title, string? Description, string? AvatarUrl, string Visibility, string Status, Guid? By)
{
    public int? MessageTtlSeconds { get; init; }
}

public sealed record InviteData(Guid ConversationId, DateTimeOffset? ExpiresAt, int? MaxUses, int Uses, Guid? By);

public sealed record MemberSettingsChangedData(Guid ConversationId, Guid UserId, bool Muted, DateTimeOffset? MutedUntil, bool Pinned, bool Archived);

public sealed record BookmarkData(Guid UserId, Guid MessageId, Guid ConversationId);

/// <param name="MessageId">Once sent: the message it became.</param>
/// <param name="Reason">Once failed: the error code the release got.</param>
public sealed record ScheduledData(Guid ScheduledId, Guid ConversationId, Guid SenderId, DateTimeOffset SendAt,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? ClientMessageId,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] Guid? MessageId,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Reason);

public sealed record DraftData(Guid UserId, Guid ConversationId, int Length);

/// <summary>
/// <see cref="ThreadRootId"/> and <see cref="Mentions"/> feed the read-model rebuild (thread reply counts, unread mentions).
/// <see cref="Mentions"/> is always written (empty when none), so its absence marks an event written before both were
/// recorded (<see cref="ReadModelProjection"/> refuses to rebuild from such a history).
/// </summary>
public sealed record MessageStoredData(Guid MessageId, Guid ConversationId, long Sequence, Guid SenderId, string Type, string? ClientMessageId, DateTimeOffset AcceptedAt)
{
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public Guid? ThreadRootId { get; init; }

    public IReadOnlyList<Guid>? Mentions { get; init; }
}

/// <param name="EditCount">For an edit (its reason is the sender's words, like the content, and stays in the store); <paramref name="ReactionCount"/> for a reaction: users with the key after it.</param>
public sealed record MessageChangedData(Guid MessageId, Guid ConversationId, long Sequence, long ChangeSequence, Guid ActorId,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] int? EditCount,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? ReactionKey,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] int? ReactionCount);

/// <param name="ResolvedBy">For report.resolved, with <paramref name="Action"/>.</param>
public sealed record ReportData(Guid ReportId, Guid MessageId, Guid ConversationId, Guid ReporterId,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] Guid? ResolvedBy,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Action);

public sealed record WebhookData(Guid SubscriptionId, IReadOnlyList<string> EventTypes, bool Enabled, int ConsecutiveFailures);

public sealed record ReceiptAdvancedData(Guid ConversationId, Guid UserId, string Kind, long Delivered, long Read, long UnreadCount);

public sealed record FriendRequestData(Guid RequestId, Guid SenderId, Guid RecipientId);

public sealed record FriendRemovedData(Guid UserId, Guid FriendId);

public sealed record BlockData(Guid BlockerId, Guid BlockedId, bool FriendshipRemoved, Guid? RequestRemoved);

public sealed record TraceMetadata([property: JsonPropertyName("traceparent")] string TraceParent);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(UserRegisteredData))]
[JsonSerializable(typeof(UserUpdatedData))]
[JsonSerializable(typeof(SessionData))]
[JsonSerializable(typeof(SessionReuseData))]
[JsonSerializable(typeof(ConversationCreatedData))]
[JsonSerializable(typeof(MembersAddedData))]
[JsonSerializable(typeof(MemberRemovedData))]
[JsonSerializable(typeof(MemberRoleChangedData))]
[JsonSerializable(typeof(ConversationUpdatedData))]
[JsonSerializable(typeof(InviteData))]
[JsonSerializable(typeof(MemberSettingsChangedData))]
[JsonSerializable(typeof(BookmarkData))]
[JsonSerializable(typeof(DraftData))]
[JsonSerializable(typeof(ScheduledData))]
[JsonSerializable(typeof(MessageStoredData))]
[JsonSerializable(typeof(ReceiptAdvancedData))]
[JsonSerializable(typeof(MessageChangedData))]
[JsonSerializable(typeof(TraceMetadata))]
[JsonSerializable(typeof(FriendRequestData))]
[JsonSerializable(typeof(FriendRemovedData))]
[JsonSerializable(typeof(BlockData))]
[JsonSerializable(typeof(ReportData))]
[JsonSerializable(typeof(DeviceData))]
[JsonSerializable(typeof(WebhookData))]
public sealed partial class ChangeEventsJson : JsonSerializerContext;
