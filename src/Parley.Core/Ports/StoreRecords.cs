using Parley.Core.Membership;
using Parley.Core.Messaging;

namespace Parley.Core.Ports;

public sealed record UserRecord(Guid Id, string Username, string DisplayName, string PasswordHash, DateTimeOffset CreatedAt)
{
    /// <summary>As the user entered it; unique by its lower-cased form; shown to nobody but its owner.</summary>
    public string? Email { get; init; }

    public string? AvatarUrl { get; init; }
}

/// <summary>
/// A change to a user's own profile: a null display name leaves it as it is; for the other two, <c>Set…</c> false
/// leaves the field as it is, and true with a null value clears it.
/// </summary>
public sealed record ProfileChange(string? DisplayName, bool SetAvatarUrl, string? AvatarUrl, bool SetEmail, string? Email)
{
    /// <summary>What the store keeps the address unique by.</summary>
    public string? EmailKey => Email is null ? null : Validation.ProfileRules.EmailKey(Email);

    /// <summary>What a user search compares the new display name by (null: unchanged).</summary>
    public string? DisplayNameKey => DisplayName is null ? null : Validation.SearchRules.Fold(DisplayName);
}

public enum ProfileChangeOutcome
{
    Updated,
    NotFound,
    EmailTaken,
}

public sealed record ProfileChangeResult(ProfileChangeOutcome Outcome, UserRecord? User);

public sealed record RefreshTokenRecord(string TokenHash, Guid UserId, DateTimeOffset CreatedAt, DateTimeOffset ExpiresAt);

public sealed record ConversationRecord(
    Guid Id,
    string Type,
    string? Title,
    string Status,
    Guid CreatedBy,
    DateTimeOffset CreatedAt,
    DateTimeOffset LastActivityAt,
    long LastSequence)
{
    public string? Description { get; init; }

    public string? AvatarUrl { get; init; }

    /// <summary>JSON text as the client sent it (size-limited at the edge).</summary>
    public string? Metadata { get; init; }

    /// <summary><see cref="ConversationVisibility"/>: only channels can be public.</summary>
    public string Visibility { get; init; } = ConversationVisibility.Private;

    /// <summary>What the conversation is about, when it was created for something (a booking, a support case).</summary>
    public ConversationContext? Context { get; init; }

    /// <summary>The position of the last change to its messages (<see cref="StoredChange.ChangeSequence"/>); 0 before any.</summary>
    public long LastChangeSequence { get; init; }

    /// <summary>Disappearing messages (M8): each message sent from now on expires this long after it was accepted; null: off.</summary>
    public int? MessageTtlSeconds { get; init; }
}

/// <summary><see cref="Type"/> is one of <see cref="ContextTypes"/>; <see cref="Id"/> the caller's own id for the thing; <see cref="Metadata"/> JSON text.</summary>
public sealed record ConversationContext(string Type, string Id, string? Metadata);

public sealed record ParticipantRecord(Guid ConversationId, Guid UserId, string Role, DateTimeOffset JoinedAt, ReceiptWatermarks Watermarks, long UnreadCount)
{
    /// <summary>The member's own settings, as stored (see <see cref="MemberSettings.AsOf"/>).</summary>
    public MemberSettings Settings { get; init; } = MemberSettings.None;

    /// <summary>The member's side in a context conversation (<see cref="MemberSides"/>); null elsewhere.</summary>
    public string? Side { get; init; }

    /// <summary>Unread messages that mention the member (M7): counted as <see cref="UnreadCount"/> is.</summary>
    public long UnreadMentions { get; init; }
}

/// <summary>
/// A member's own settings for one conversation (M5): muted (until <see cref="MutedUntil"/>, or indefinitely when it is
/// null), pinned since <see cref="PinnedAt"/>, archived. Nobody but the member sees them, and they change nothing for the
/// other members: delivery and unread counts stay as they are (muting is for the member's clients to honour).
/// </summary>
public sealed record MemberSettings(bool Muted, DateTimeOffset? MutedUntil, DateTimeOffset? PinnedAt, bool Archived)
{
    public static readonly MemberSettings None = new(false, null, null, false);

    public bool Pinned => PinnedAt is not null;

    /// <summary>
    /// The settings as the member sees them at <paramref name="now"/>: a mute that has run out is no mute. The row keeps
    /// the lapsed mute until the member's next change, so nothing has to run when it lapses.
    /// </summary>
    public MemberSettings AsOf(DateTimeOffset now) =>
        Muted && MutedUntil is { } until && until <= now ? this with { Muted = false, MutedUntil = null } : this;
}

/// <summary>What a settings change left; <see cref="Changed"/> is false when it changed nothing (and wrote nothing).</summary>
public sealed record MemberSettingsResult(MemberSettings Settings, bool Changed);

/// <summary>
/// Which of a user's conversations a list returns, and in what order. The default (<see cref="All"/>) is every one of
/// them by last activity alone: recovery stops at the first conversation older than its start, and presence must
/// reach every conversation, so neither may see a pinned-first order or lose archived ones.
/// </summary>
/// <param name="Kind">Only conversations of this <see cref="ConversationTypes"/> kind; all kinds when null.</param>
/// <param name="Archived">Only those the user archived (true), only those they did not (false), or both (null).</param>
/// <param name="PinnedFirst">The user's pinned conversations first, then the rest, each part by last activity.</param>
public sealed record ConversationListFilter(string? Kind = null, bool? Archived = null, bool PinnedFirst = false)
{
    /// <summary>Only conversations about this kind of thing (<see cref="ContextTypes"/>), and with <see cref="ContextId"/> about that one.</summary>
    public string? ContextType { get; init; }

    public string? ContextId { get; init; }

    public static readonly ConversationListFilter All = new();

    /// <summary>The position after <paramref name="last"/>, in the part of the list it is in.</summary>
    public ConversationCursor CursorAfter(ConversationSummary last) =>
        new(last.Conversation.LastActivityAt, last.Conversation.Id) { Pinned = PinnedFirst && last.Settings.Pinned };
}

/// <summary>A conversation as one member sees it in their list.</summary>
public sealed record ConversationSummary(ConversationRecord Conversation, IReadOnlyList<Guid> MemberIds, long UnreadCount, StoredMessage? LastMessage)
{
    /// <summary>The listing member's unread messages that mention them.</summary>
    public long UnreadMentions { get; init; }

    /// <summary>The listing member's own settings, as stored.</summary>
    public MemberSettings Settings { get; init; } = MemberSettings.None;
}

public sealed record ConversationPage(IReadOnlyList<ConversationSummary> Items, ConversationCursor? Next);

/// <summary>
/// Keyset cursor over (last activity, id) descending: stable while conversations keep moving. In a pinned-first list
/// <see cref="Pinned"/> says which part the position is in (pinned ones sort before every unpinned one); a cursor
/// without it, as every cursor was before pinning existed, is in the unpinned part.
/// </summary>
public sealed record ConversationCursor(DateTimeOffset LastActivityAt, Guid Id)
{
    private const string PinnedSuffix = "p";
    private static readonly long MaxUnixMilliseconds = DateTimeOffset.MaxValue.ToUnixTimeMilliseconds();

    public bool Pinned { get; init; }

    public string Encode() => $"{LastActivityAt.ToUnixTimeMilliseconds()}_{Id:N}" + (Pinned ? "_" + PinnedSuffix : "");

    public static ConversationCursor? TryDecode(string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return null;
        }

        var parts = text.Split('_');
        return parts.Length is 2 or 3 && (parts.Length == 2 || parts[2] == PinnedSuffix)
            && long.TryParse(parts[0], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var ms)
            && ms <= MaxUnixMilliseconds
            && Guid.TryParseExact(parts[1], "N", out var id)
            ? new ConversationCursor(DateTimeOffset.FromUnixTimeMilliseconds(ms), id) { Pinned = parts.Length == 3 }
            : null;
    }
}

public sealed record StoredMessage(
    Guid Id,
    Guid ConversationId,
    long Sequence,
    Guid SenderId,
    string Type,
    string Content,
    string? Metadata,
    string? ClientMessageId,
    string ContentHash,
    int Size,
    Guid CorrelationId,
    DateTimeOffset AcceptedAt,
    DateTimeOffset StoredAt)
{

    /// <summary>
    /// The message-feature fields (replies, edits, deletes, reactions, pins, mentions, forwards, polls, expiry), kept in
    /// one object that a plain message does not have: a history page reads fifty messages a request, and with these as
    /// fields of their own every message carried some 200 bytes of defaults (issue 15's history pages allocated twice the
    /// garbage of the build before it). Each property reads through; setting one to what it already is allocates nothing.
    /// </summary>
    private MessageFeatures? _features;

    private void Set<T>(T value, Func<MessageFeatures, T> get, Func<MessageFeatures, T, MessageFeatures> with) =>
        _features = OptionalParts.With(_features, MessageFeatures.None, value, get, with);

    /// <summary>The sender's side (<see cref="MemberSides"/>) in a context conversation when the message was stored; null elsewhere.</summary>
    public string? SenderSide
    {
        get => (_features ?? MessageFeatures.None).SenderSide;
        init => Set(value, static f => f.SenderSide, static (f, v) => f with { SenderSide = v });
    }

    /// <summary>The message this one replies to (same conversation), with what a client shows of it.</summary>
    public ReplyPreview? ReplyTo
    {
        get => (_features ?? MessageFeatures.None).ReplyTo;
        init => Set(value, static f => f.ReplyTo, static (f, v) => f with { ReplyTo = v });
    }

    /// <summary>The members the message mentions (M7), validated at the ingress; none for most messages.</summary>
    public IReadOnlyList<Guid> Mentions
    {
        get => (_features ?? MessageFeatures.None).Mentions;
        init => Set(value, static f => f.Mentions, static (f, v) => f with { Mentions = v });
    }

    /// <summary>The message this one is a forwarded copy of (M7): where it came from and who wrote it.</summary>
    public ForwardSource? ForwardedFrom
    {
        get => (_features ?? MessageFeatures.None).ForwardedFrom;
        init => Set(value, static f => f.ForwardedFrom, static (f, v) => f with { ForwardedFrom = v });
    }

    /// <summary>The first message of the thread this reply is in (the replied-to message's root, or that message).</summary>
    public Guid? ThreadRootId
    {
        get => (_features ?? MessageFeatures.None).ThreadRootId;
        init => Set(value, static f => f.ThreadRootId, static (f, v) => f with { ThreadRootId = v });
    }

    /// <summary>Replies in the thread this message is the root of.</summary>
    public int ReplyCount
    {
        get => (_features ?? MessageFeatures.None).ReplyCount;
        init => Set(value, static f => f.ReplyCount, static (f, v) => f with { ReplyCount = v });
    }

    public int EditCount
    {
        get => (_features ?? MessageFeatures.None).EditCount;
        init => Set(value, static f => f.EditCount, static (f, v) => f with { EditCount = v });
    }

    public DateTimeOffset? EditedAt
    {
        get => (_features ?? MessageFeatures.None).EditedAt;
        init => Set(value, static f => f.EditedAt, static (f, v) => f with { EditedAt = v });
    }

    /// <summary>Deleted for everyone: content and metadata are erased, the row keeps its sequence.</summary>
    public DateTimeOffset? DeletedAt
    {
        get => (_features ?? MessageFeatures.None).DeletedAt;
        init => Set(value, static f => f.DeletedAt, static (f, v) => f with { DeletedAt = v });
    }

    public Guid? DeletedBy
    {
        get => (_features ?? MessageFeatures.None).DeletedBy;
        init => Set(value, static f => f.DeletedBy, static (f, v) => f with { DeletedBy = v });
    }

    /// <summary>Users per reaction key, keys in ordinal order; empty when none.</summary>
    public IReadOnlyList<ReactionCount> Reactions
    {
        get => (_features ?? MessageFeatures.None).Reactions;
        init => Set(value, static f => f.Reactions, static (f, v) => f with { Reactions = v });
    }

    /// <summary>The keys the reading user reacted with, when the read named a viewer.</summary>
    public IReadOnlyList<string>? MyReactions
    {
        get => (_features ?? MessageFeatures.None).MyReactions;
        init => Set(value, static f => f.MyReactions, static (f, v) => f with { MyReactions = v });
    }

    /// <summary>Pinned in its conversation since then, by <see cref="PinnedBy"/>; null when not pinned.</summary>
    public DateTimeOffset? PinnedAt
    {
        get => (_features ?? MessageFeatures.None).PinnedAt;
        init => Set(value, static f => f.PinnedAt, static (f, v) => f with { PinnedAt = v });
    }

    public Guid? PinnedBy
    {
        get => (_features ?? MessageFeatures.None).PinnedBy;
        init => Set(value, static f => f.PinnedBy, static (f, v) => f with { PinnedBy = v });
    }

    /// <summary>A poll message's options and counts; null for any other message (and a deleted poll).</summary>
    public PollState? Poll
    {
        get => (_features ?? MessageFeatures.None).Poll;
        init => Set(value, static f => f.Poll, static (f, v) => f with { Poll = v });
    }

    /// <summary>The options the reading user voted for, when the read named a viewer and the message is a poll.</summary>
    public IReadOnlyList<int>? MyVotes
    {
        get => (_features ?? MessageFeatures.None).MyVotes;
        init => Set(value, static f => f.MyVotes, static (f, v) => f with { MyVotes = v });
    }

    /// <summary>When the expiry worker deletes it for everyone (the sender's expiresAt or the conversation's TTL); null: never.</summary>
    public DateTimeOffset? ExpiresAt
    {
        get => (_features ?? MessageFeatures.None).ExpiresAt;
        init => Set(value, static f => f.ExpiresAt, static (f, v) => f with { ExpiresAt = v });
    }

    public bool Deleted => DeletedAt is not null;

    /// <summary>What deleting for everyone leaves: the sequence, sender, type and times; no content, metadata, edits or reactions.</summary>
    public StoredMessage Tombstone(DateTimeOffset at, Guid by) => this with
    {
        Content = "",
        Metadata = null,
        ContentHash = Messaging.IdempotencyKeys.ContentHash(""),
        Size = 0,
        DeletedAt = at,
        DeletedBy = by,
        Reactions = [],
        MyReactions = MyReactions is null ? null : [],
        PinnedAt = null,
        PinnedBy = null,
        Mentions = [],
        ExpiresAt = null,
        Poll = null,
        MyVotes = MyVotes is null ? null : [],
    };
}

/// <summary>The optional parts of a <see cref="StoredMessage"/>, all at their defaults in <see cref="None"/>.</summary>
internal sealed record MessageFeatures
{
    public static readonly MessageFeatures None = new();

    public string? SenderSide { get; init; }

    public ReplyPreview? ReplyTo { get; init; }

    public IReadOnlyList<Guid> Mentions { get; init; } = [];

    public ForwardSource? ForwardedFrom { get; init; }

    public Guid? ThreadRootId { get; init; }

    public int ReplyCount { get; init; }

    public int EditCount { get; init; }

    public DateTimeOffset? EditedAt { get; init; }

    public DateTimeOffset? DeletedAt { get; init; }

    public Guid? DeletedBy { get; init; }

    public IReadOnlyList<ReactionCount> Reactions { get; init; } = [];

    public IReadOnlyList<string>? MyReactions { get; init; }

    public DateTimeOffset? PinnedAt { get; init; }

    public Guid? PinnedBy { get; init; }

    public PollState? Poll { get; init; }

    public IReadOnlyList<int>? MyVotes { get; init; }

    public DateTimeOffset? ExpiresAt { get; init; }
}

public sealed record ReactionCount(string Key, int Count);


/// <summary>
/// What a reply shows of the message it answers: its sender and the start of its content (<see cref="MaxLength"/>
/// characters), kept current by edits and erased (null <see cref="Preview"/>, <see cref="Deleted"/>) by a delete.
/// </summary>
public sealed record ReplyPreview(Guid MessageId, Guid SenderId, string? Preview, bool Deleted)
{
    public const int MaxLength = 120;

    public static string Of(string content) =>
        content.Length <= MaxLength ? content : content[..(char.IsHighSurrogate(content[MaxLength - 1]) ? MaxLength - 1 : MaxLength)];

    public static ReplyPreview From(StoredMessage target) =>
        new(target.Id, target.SenderId, target.Deleted ? null : Of(target.Content), target.Deleted);
}

/// <summary>
/// An applied change to a message (edit, delete for everyone, reaction), at its place in the conversation's change order
/// (<see cref="ChangeSequence"/>, gap-free per conversation like message sequences). <see cref="Message"/> is the
/// message as the change left it (or, read back later, as it is now: a device filling a gap gets the current state).
/// </summary>
public sealed record StoredChange(
    Guid Id,
    Guid ConversationId,
    long ChangeSequence,
    string Kind,
    Guid ActorId,
    DateTimeOffset At,
    StoredMessage Message)
{
    public string? Reason { get; init; }

    public string? ReactionKey { get; init; }

    /// <summary>A reaction added or a pin set (true), or removed (false).</summary>
    public bool Added { get; init; }

    /// <summary>Users with <see cref="ReactionKey"/> on the message after this change.</summary>
    public int ReactionCount { get; init; }

    /// <summary>A vote's options: the voter's choice from this change on (empty: retracted).</summary>
    public IReadOnlyList<int> OptionIds { get; init; } = [];

    /// <summary>A vote in an anonymous poll names nobody, wherever it is shown (events, sync, the outbox).</summary>
    public bool Anonymous => Kind == MessageChangeKinds.Vote && Message.Poll?.Definition.Anonymous != false;

    /// <summary>Who made the change as others may see it: the nil UUID for an anonymous vote.</summary>
    public Guid VisibleActor => Anonymous ? Guid.Empty : ActorId;
}

/// <summary>One earlier version of an edited message: what it said before edit number <see cref="EditNumber"/>.</summary>
public sealed record MessageEditRecord(Guid MessageId, int EditNumber, string PreviousContent, string PreviousContentHash, string? Reason, Guid EditorId, DateTimeOffset EditedAt);

public enum PersistOutcome
{
    /// <summary>A new row: the message got its sequence and must be fanned out.</summary>
    Inserted,

    /// <summary>Already stored (a replayed entry or a duplicate key): nothing changed, no fanout.</summary>
    Duplicate,

    /// <summary>Can never be stored (e.g. the conversation no longer exists): dead-letter it.</summary>
    Rejected,

    /// <summary>A change that changes nothing (a reaction already there, a delete of a deleted message): acknowledged, no fanout.</summary>
    Unchanged,
}

public sealed record PersistResult(MessageEnvelope Envelope, PersistOutcome Outcome, StoredMessage? Message, IReadOnlyList<Guid> MemberIds, string? RejectReason)
{
    /// <summary>For a change that was applied (or found applied before, on a replay): what to fan out.</summary>
    public StoredChange? Change { get; init; }

    public static PersistResult Rejected(MessageEnvelope envelope, string reason) => new(envelope, PersistOutcome.Rejected, null, [], reason);
}

/// <summary>
/// History query by sequence: both bounds exclusive; with neither, the newest page. With <see cref="Around"/> (and
/// no bounds) the page is centred on that sequence: it and up to <see cref="AroundNewer"/> - 1 newer messages, and up
/// to <see cref="AroundOlder"/> older ones.
/// </summary>
public sealed record HistoryQuery(long? Before, long? After, int Limit)
{
    /// <summary>
    /// The user reading: their deleted-for-me messages are left out and their own reactions filled in
    /// (<see cref="StoredMessage.MyReactions"/>). Null reads every message as stored.
    /// </summary>
    public Guid? Viewer { get; init; }

    public long? Around { get; init; }

    /// <summary>Older side of an around page: the smaller half, so an odd limit leans towards the newer messages.</summary>
    public int AroundOlder => (Limit - 1) / 2;

    /// <summary>Newer side of an around page, the anchor included.</summary>
    public int AroundNewer => Limit - AroundOlder;
}

/// <summary>
/// <see cref="HasMore"/> is about the walking direction; an around page walks both ways and says which in
/// <see cref="HasMoreBefore"/> and <see cref="HasMoreAfter"/>.
/// </summary>
public sealed record MessagePage(IReadOnlyList<StoredMessage> Items, bool HasMore)
{
    public bool HasMoreBefore { get; init; }

    public bool HasMoreAfter { get; init; }
}

/// <summary>A user's unread messages over all their conversations, and how many conversations hold them (M11).</summary>
public sealed record UnreadTotal(long Total, int Conversations);

/// <summary>The outcome of moving a member's watermark; <see cref="Advanced"/> is false for a no-op.</summary>
public sealed record ReceiptUpdate(Guid ConversationId, Guid UserId, ReceiptKind Kind, ReceiptWatermarks Watermarks, long UnreadCount, bool Advanced);

public sealed record MessageStatusRecord(StoredMessage Message, int RecipientCount, int DeliveredCount, int ReadCount)
{
    /// <summary>Delivered or read once every recipient is; a conversation with no other member stays sent.</summary>
    public MessageState State =>
        RecipientCount > 0 && ReadCount >= RecipientCount ? MessageState.Read
        : RecipientCount > 0 && DeliveredCount >= RecipientCount ? MessageState.Delivered
        : MessageState.Sent;
}
