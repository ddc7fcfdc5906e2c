using System.Text.Json.Serialization;
using Parley.Core.Membership;
using Parley.Core.Messaging;
using Parley.Core.Ports;

namespace Parley.Server.Contracts;

/// <summary>The ingress's answer (P1): accepted, not yet stored; watch <c>statusUrl</c> or the realtime events.</summary>
public sealed record SendAck(
    Guid MessageId,
    Guid CorrelationId,
    string State,
    DateTimeOffset AcceptedAt,
    string IdempotencyKey,
    bool IdempotentHit,
    string StatusUrl,
    int Partition);

/// <summary>
/// A stored message, the same over REST and realtime. Metadata is the JSON text the sender sent, served back as that
/// exact text (see <see cref="JsonText"/>).
/// </summary>
public sealed record MessageView(
    Guid Id,
    Guid ConversationId,
    long Sequence,
    Guid SenderId,
    string Type,
    string Content,
    JsonText? Metadata,
    string? ClientMessageId,
    string ContentHash,
    int Size,
    Guid CorrelationId,
    DateTimeOffset SentAt,
    DateTimeOffset StoredAt)
{

    /// <summary>
    /// The message-feature fields, in one object a plain message's view does not have (see StoredMessage: fifty views a
    /// history page, each some 150 bytes of defaults otherwise). Each property reads through; setting one to what it
    /// already is allocates nothing.
    /// </summary>
    private MessageViewFeatures? _features;

    private void Set<T>(T value, Func<MessageViewFeatures, T> get, Func<MessageViewFeatures, T, MessageViewFeatures> with) =>
        _features = OptionalParts.With(_features, MessageViewFeatures.None, value, get, with);

    /// <summary>The sender's side in a context conversation when the message was stored.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? SenderSide
    {
        get => (_features ?? MessageViewFeatures.None).SenderSide;
        init => Set(value, static f => f.SenderSide, static (f, v) => f with { SenderSide = v });
    }

    /// <summary>The message this one replies to, with its sender and the start of its content (null preview once it is deleted).</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public ReplyPreviewView? ReplyTo
    {
        get => (_features ?? MessageViewFeatures.None).ReplyTo;
        init => Set(value, static f => f.ReplyTo, static (f, v) => f with { ReplyTo = v });
    }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public Guid? ThreadRootId
    {
        get => (_features ?? MessageViewFeatures.None).ThreadRootId;
        init => Set(value, static f => f.ThreadRootId, static (f, v) => f with { ThreadRootId = v });
    }

    /// <summary>Replies in the thread this message starts (GET /messages/{id}/thread); absent when none. Like editCount and
    /// deleted, left out at its default: history pages are the hottest read, and most messages are never replied to,
    /// edited or deleted (a page of plain messages measured 12 % larger and ~20 % more server CPU with them written).</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public int ReplyCount
    {
        get => (_features ?? MessageViewFeatures.None).ReplyCount;
        init => Set(value, static f => f.ReplyCount, static (f, v) => f with { ReplyCount = v });
    }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public int EditCount
    {
        get => (_features ?? MessageViewFeatures.None).EditCount;
        init => Set(value, static f => f.EditCount, static (f, v) => f with { EditCount = v });
    }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public DateTimeOffset? EditedAt
    {
        get => (_features ?? MessageViewFeatures.None).EditedAt;
        init => Set(value, static f => f.EditedAt, static (f, v) => f with { EditedAt = v });
    }

    /// <summary>Deleted for everyone: a tombstone that keeps its sequence, with empty content and no metadata.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public bool Deleted
    {
        get => (_features ?? MessageViewFeatures.None).Deleted;
        init => Set(value, static f => f.Deleted, static (f, v) => f with { Deleted = v });
    }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public DateTimeOffset? DeletedAt
    {
        get => (_features ?? MessageViewFeatures.None).DeletedAt;
        init => Set(value, static f => f.DeletedAt, static (f, v) => f with { DeletedAt = v });
    }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public Guid? DeletedBy
    {
        get => (_features ?? MessageViewFeatures.None).DeletedBy;
        init => Set(value, static f => f.DeletedBy, static (f, v) => f with { DeletedBy = v });
    }

    /// <summary>The members the message mentions; absent when none.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<Guid>? Mentions
    {
        get => (_features ?? MessageViewFeatures.None).Mentions;
        init => Set(value, static f => f.Mentions, static (f, v) => f with { Mentions = v });
    }

    /// <summary>A forwarded copy: the original message, its conversation and its sender.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public ForwardedFromView? ForwardedFrom
    {
        get => (_features ?? MessageViewFeatures.None).ForwardedFrom;
        init => Set(value, static f => f.ForwardedFrom, static (f, v) => f with { ForwardedFrom = v });
    }

    /// <summary>Pinned in its conversation since then (GET /conversations/{id}/pins lists them).</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public DateTimeOffset? PinnedAt
    {
        get => (_features ?? MessageViewFeatures.None).PinnedAt;
        init => Set(value, static f => f.PinnedAt, static (f, v) => f with { PinnedAt = v });
    }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public Guid? PinnedBy
    {
        get => (_features ?? MessageViewFeatures.None).PinnedBy;
        init => Set(value, static f => f.PinnedBy, static (f, v) => f with { PinnedBy = v });
    }

    /// <summary>Users per reaction key, keys in ordinal order; absent when there are none.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<ReactionCountView>? Reactions
    {
        get => (_features ?? MessageViewFeatures.None).Reactions;
        init => Set(value, static f => f.Reactions, static (f, v) => f with { Reactions = v });
    }

    /// <summary>The keys the reader reacted with: on history, thread and sync pages and on messages a device is sent from the store (a replay, a gap fill); absent on a live event.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<string>? MyReactions
    {
        get => (_features ?? MessageViewFeatures.None).MyReactions;
        init => Set(value, static f => f.MyReactions, static (f, v) => f with { MyReactions = v });
    }

    /// <summary>A poll's options with their counts; absent for any other message.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public PollView? Poll
    {
        get => (_features ?? MessageViewFeatures.None).Poll;
        init => Set(value, static f => f.Poll, static (f, v) => f with { Poll = v });
    }

    /// <summary>A disappearing message: deleted for everyone at this time (within seconds); absent when it does not expire.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public DateTimeOffset? ExpiresAt
    {
        get => (_features ?? MessageViewFeatures.None).ExpiresAt;
        init => Set(value, static f => f.ExpiresAt, static (f, v) => f with { ExpiresAt = v });
    }

    public static MessageView From(StoredMessage m) => new(
        m.Id, m.ConversationId, m.Sequence, m.SenderId, m.Type, m.Content, JsonText.From(m.Metadata), m.ClientMessageId,
        m.ContentHash, m.Size, m.CorrelationId, m.AcceptedAt, m.StoredAt)
    {
        SenderSide = m.SenderSide,
        ReplyTo = ReplyPreviewView.From(m.ReplyTo),
        ThreadRootId = m.ThreadRootId,
        ReplyCount = m.ReplyCount,
        EditCount = m.EditCount,
        EditedAt = m.EditedAt,
        Deleted = m.Deleted,
        DeletedAt = m.DeletedAt,
        DeletedBy = m.DeletedBy,
        Reactions = m.Reactions.Count == 0 ? null : [.. m.Reactions.Select(r => new ReactionCountView(r.Key, r.Count))],
        MyReactions = m.MyReactions is { Count: > 0 } mine ? mine : null,
        PinnedAt = m.PinnedAt,
        Mentions = m.Mentions.Count == 0 ? null : m.Mentions,
        ForwardedFrom = m.ForwardedFrom is { } f ? new ForwardedFromView(f.MessageId, f.ConversationId, f.SenderId) : null,
        PinnedBy = m.PinnedBy,
        ExpiresAt = m.ExpiresAt,
        Poll = PollView.From(m.Poll, m.MyVotes),
    };
}

/// <summary>The optional parts of a <see cref="MessageView"/>, all at their defaults in <see cref="None"/>.</summary>
internal sealed record MessageViewFeatures
{
    public static readonly MessageViewFeatures None = new();

    public string? SenderSide { get; init; }

    public ReplyPreviewView? ReplyTo { get; init; }

    public Guid? ThreadRootId { get; init; }

    public int ReplyCount { get; init; }

    public int EditCount { get; init; }

    public DateTimeOffset? EditedAt { get; init; }

    public bool Deleted { get; init; }

    public DateTimeOffset? DeletedAt { get; init; }

    public Guid? DeletedBy { get; init; }

    public IReadOnlyList<Guid>? Mentions { get; init; }

    public ForwardedFromView? ForwardedFrom { get; init; }

    public DateTimeOffset? PinnedAt { get; init; }

    public Guid? PinnedBy { get; init; }

    public IReadOnlyList<ReactionCountView>? Reactions { get; init; }

    public IReadOnlyList<string>? MyReactions { get; init; }

    public PollView? Poll { get; init; }

    public DateTimeOffset? ExpiresAt { get; init; }
}

/// <summary>A poll as a message shows it: options with their counts; <c>MyVotes</c> where the message is read for a user.</summary>
public sealed record PollView(IReadOnlyList<PollOptionView> Options, bool MultipleAnswers, bool Anonymous, DateTimeOffset? ClosesAt, int TotalVoters)
{
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<int>? MyVotes { get; init; }

    public static PollView? From(PollState? poll, IReadOnlyList<int>? mine) => poll is null ? null
        : new([.. poll.Definition.Options.Select((text, i) => new PollOptionView(i, text, poll.Counts[i]))], poll.Definition.MultipleAnswers, poll.Definition.Anonymous,
            poll.Definition.ClosesAt, poll.Voters) { MyVotes = mine };
}

public sealed record PollOptionView(int Id, string Text, int Count);

public sealed record ReplyPreviewView(Guid MessageId, Guid SenderId, string? Preview, bool Deleted)
{
    public static ReplyPreviewView? From(ReplyPreview? preview) =>
        preview is null ? null : new(preview.MessageId, preview.SenderId, preview.Preview, preview.Deleted);
}

public sealed record ForwardedFromView(Guid MessageId, Guid ConversationId, Guid SenderId);

public sealed record ReactionCountView(string Key, int Count);

/// <summary>GET /conversations/{id}/pins: the pinned messages, most recently pinned first.</summary>
public sealed record PinsView(Guid ConversationId, IReadOnlyList<MessageView> Items);

public sealed record MessagePageView(IReadOnlyList<MessageView> Items, bool HasMore, long? NextBefore, long? NextAfter);

/// <summary>POST /api/v1/sync, per conversation: <c>messages</c> cover (fromSequence, …] in order; status recovered or more.</summary>
public sealed record SyncConversationView(Guid ConversationId, string Status, long FromSequence, long LatestSequence, IReadOnlyList<MessageView> Messages)
{
    /// <summary>With a <c>lastChangeSequence</c> in the position: the changes after it, in change order.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public SyncChangesView? Changes { get; init; }
}

/// <summary>Status recovered, or more (ask again from the last change received).</summary>
public sealed record SyncChangesView(string Status, long FromChangeSequence, long LatestChangeSequence, IReadOnlyList<SyncChangeView> Items);

/// <summary>
/// One change as REST sync gives it: its position and kind (edit, delete, reaction, pin), who made it and when, the
/// reaction's key, direction and count after it, and the message as it is now (a client replaces its copy with it).
/// </summary>
public sealed record SyncChangeView(long ChangeSequence, string Kind, Guid MessageId, long Sequence, Guid ActorId, DateTimeOffset At, MessageView Message)
{
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? ReactionKey { get; init; }

    /// <summary>For a reaction: added or removed; for a pin: pinned or unpinned.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public bool? Added { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public int? ReactionCount { get; init; }

    /// <summary>A vote's options, when the poll is not anonymous (then <c>ActorId</c> is the voter; otherwise the nil UUID).</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<int>? OptionIds { get; init; }

    public static SyncChangeView From(StoredChange c) => new(c.ChangeSequence, c.Kind, c.Message.Id, c.Message.Sequence, c.VisibleActor, c.At, MessageView.From(c.Message))
    {
        ReactionKey = c.ReactionKey,
        Added = c.Kind is Core.Messaging.MessageChangeKinds.Reaction or Core.Messaging.MessageChangeKinds.Pin ? c.Added : null,
        ReactionCount = c.Kind == Core.Messaging.MessageChangeKinds.Reaction ? c.ReactionCount : null,
        OptionIds = c.Kind == Core.Messaging.MessageChangeKinds.Vote && !c.Anonymous ? c.OptionIds : null,
    };
}

public sealed record SyncView(IReadOnlyList<SyncConversationView> Conversations);

public sealed record MessageStatusView(
    Guid MessageId,
    Guid ConversationId,
    string State,
    long? Sequence,
    DateTimeOffset AcceptedAt,
    DateTimeOffset? StoredAt,
    int RecipientCount,
    int DeliveredCount,
    int ReadCount);

public sealed record ReceiptView(Guid ConversationId, Guid UserId, string State, long UpToSequence, long LastDeliveredSequence, long LastReadSequence, long UnreadCount)
{
    public static ReceiptView From(ReceiptUpdate update) => new(
        update.ConversationId,
        update.UserId,
        update.Kind == ReceiptKind.Read ? MessageState.Read.ToWire() : MessageState.Delivered.ToWire(),
        update.Kind == ReceiptKind.Read ? update.Watermarks.Read : update.Watermarks.Delivered,
        update.Watermarks.Delivered,
        update.Watermarks.Read,
        update.UnreadCount);
}

public sealed record ConversationView(
    Guid Id,
    string Type,
    string? Title,
    string Status,
    Guid CreatedBy,
    DateTimeOffset CreatedAt,
    DateTimeOffset LastActivityAt,
    long LastSequence,
    IReadOnlyList<Guid> MemberIds,
    long UnreadCount,
    MessageView? LastMessage)
{
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Description { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? AvatarUrl { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public JsonText? Metadata { get; init; }

    public string Visibility { get; init; } = ConversationVisibility.Private;

    /// <summary>The caller's role; absent where the view is not the caller's own (none today).</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Role { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public ContextView? Context { get; init; }

    /// <summary>The caller's side in a context conversation.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Side { get; init; }


    /// <summary>The conversation's latest change position: where a client that just read history resumes changes from.</summary>
    public long LastChangeSequence { get; init; }

    /// <summary>The caller's unread messages that mention them (M7).</summary>
    public long UnreadMentions { get; init; }

    /// <summary>Disappearing messages: each new message expires this many seconds after it is sent; absent when off.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public int? MessageTtlSeconds { get; init; }

    /// <summary>The caller's own settings (M5), as of the answer: a mute that has run out reads as none.</summary>
    public bool Muted { get; init; }

    /// <summary>When the caller's mute ends; null when not muted or muted indefinitely.</summary>
    public DateTimeOffset? MutedUntil { get; init; }

    public bool Pinned { get; init; }

    public bool Archived { get; init; }

    /// <param name="settings">The caller's settings already taken <see cref="MemberSettings.AsOf"/> the answer's time.</param>
    public static ConversationView From(ConversationRecord c, IReadOnlyList<Guid> members, long unread = 0, StoredMessage? last = null, string? role = null, MemberSettings? settings = null) =>
        new(c.Id, c.Type, c.Title, c.Status, c.CreatedBy, c.CreatedAt, c.LastActivityAt, c.LastSequence, members, unread,
            last is null ? null : MessageView.From(last))
        {
            Description = c.Description,
            AvatarUrl = c.AvatarUrl,
            Metadata = JsonText.From(c.Metadata),
            Visibility = c.Visibility,
            LastChangeSequence = c.LastChangeSequence,
            MessageTtlSeconds = c.MessageTtlSeconds,
            Role = role,
            Context = ContextView.From(c.Context),
            Muted = settings?.Muted ?? false,
            MutedUntil = settings?.MutedUntil,
            Pinned = settings?.Pinned ?? false,
            Archived = settings?.Archived ?? false,
        };

    /// <summary>The caller's own view: with their unread count, role, side and settings.</summary>
    /// <remarks>Settings as of <paramref name="now"/>: a mute that has run out reads as none.</remarks>
    public static ConversationView Own(ConversationRecord c, IReadOnlyList<Guid> members, ParticipantRecord? me, DateTimeOffset now) =>
        From(c, members, me?.UnreadCount ?? 0, role: me?.Role, settings: me?.Settings.AsOf(now)) with { Side = me?.Side, UnreadMentions = me?.UnreadMentions ?? 0 };
}

public sealed record ContextView(string Type, string Id, JsonText? Metadata)
{
    public static ContextView? From(ConversationContext? context) => context is null ? null : new(context.Type, context.Id, JsonText.From(context.Metadata));
}

/// <summary>A member's own settings for one conversation: the answer of PATCH …/settings and the realtime conversationSettingsChanged.</summary>
public sealed record ConversationSettingsView(Guid ConversationId, bool Muted, DateTimeOffset? MutedUntil, bool Pinned, bool Archived)
{
    /// <param name="settings">Already taken <see cref="MemberSettings.AsOf"/> the answer's time.</param>
    public static ConversationSettingsView From(Guid conversationId, MemberSettings settings) =>
        new(conversationId, settings.Muted, settings.MutedUntil, settings.Pinned, settings.Archived);
}

/// <summary>A conversation's own fields, without the caller's view of it (realtime conversationUpdated, channel search).</summary>
public sealed record ConversationDetailsView(
    Guid Id,
    string Type,
    string? Title,
    string? Description,
    string? AvatarUrl,
    JsonText? Metadata,
    string Visibility,
    string Status,
    DateTimeOffset LastActivityAt,
    int? MemberCount,
    ContextView? Context)
{
    /// <summary>Disappearing messages: each new message expires this many seconds after it is sent; absent when off.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public int? MessageTtlSeconds { get; init; }

    public static ConversationDetailsView From(ConversationRecord c, int? memberCount = null) =>
        new(c.Id, c.Type, c.Title, c.Description, c.AvatarUrl, JsonText.From(c.Metadata), c.Visibility, c.Status, c.LastActivityAt, memberCount, ContextView.From(c.Context))
        {
            MessageTtlSeconds = c.MessageTtlSeconds,
        };
}

public sealed record ChannelPageView(IReadOnlyList<ConversationDetailsView> Items, string? NextCursor);

/// <summary>What a membership change did: who was added (those already members are not listed), the conversation as it now is.</summary>
public sealed record MembershipChangeView(Guid ConversationId, IReadOnlyList<MemberView> Added, IReadOnlyList<Guid> Removed, IReadOnlyList<MemberView> RoleChanges, ConversationDetailsView Conversation)
{
    public static MembershipChangeView From(Guid conversationId, MembershipChange change) => new(
        conversationId,
        [.. change.Added.Select(m => new MemberView(m.UserId, m.Role))],
        [.. change.Removed.Select(r => r.UserId)],
        [.. change.RoleChanges.Select(r => new MemberView(r.UserId, r.Role))],
        ConversationDetailsView.From(change.Conversation));
}

public sealed record ConversationPageView(IReadOnlyList<ConversationView> Items, string? NextCursor);

public sealed record ConversationPresenceView(Guid ConversationId, int Online, int Connections, IReadOnlyList<MemberPresenceView> Members);

public sealed record MemberPresenceView(Guid UserId, bool Online, int Connections, DateTimeOffset? LastSeenAt);

/// <summary>The caller's unread messages over all conversations (M11): for a badge, without paging the conversation list.</summary>
public sealed record UnreadTotalView(long Total, int Conversations)
{
    public static UnreadTotalView From(UnreadTotal total) => new(total.Total, total.Conversations);
}

/// <summary>An invite code; <c>State</c> is <c>active</c>, <c>expired</c>, <c>usedUp</c> or <c>revoked</c> as of the answer.</summary>
public sealed record InviteView(
    string Code,
    Guid ConversationId,
    Guid CreatedBy,
    DateTimeOffset CreatedAt,
    DateTimeOffset? ExpiresAt,
    int? MaxUses,
    int Uses,
    DateTimeOffset? RevokedAt,
    string State,
    string JoinPath)
{
    public static InviteView From(InviteRecord i, DateTimeOffset now) => new(
        i.Code, i.ConversationId, i.CreatedBy, i.CreatedAt, i.ExpiresAt, i.MaxUses, i.Uses, i.RevokedAt,
        System.Text.Json.JsonNamingPolicy.CamelCase.ConvertName(i.StateAt(now).ToString()),
        $"/api/v1/invites/{i.Code}/join");
}

public sealed record BookmarkView(Guid MessageId, Guid ConversationId, DateTimeOffset BookmarkedAt, MessageView? Message)
{
    public static BookmarkView From(BookmarkRecord b, StoredMessage? message = null) =>
        new(b.MessageId, b.ConversationId, b.CreatedAt, message is null ? null : MessageView.From(message));
}

public sealed record BookmarkPageView(IReadOnlyList<BookmarkView> Items, string? NextCursor);
