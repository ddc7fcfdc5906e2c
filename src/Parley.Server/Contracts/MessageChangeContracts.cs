using System.Text.Json.Serialization;
using Parley.Core.Messaging;
using Parley.Core.Ports;

namespace Parley.Server.Contracts;

/// <summary>
/// The answer to a change (edit, delete for everyone, reaction): like a send's, it means the change is durable in the
/// log and will be applied after the message it changes. <c>ChangeId</c> is the change's own id; <c>MessageId</c> the
/// message it changes.
/// </summary>
public sealed record ChangeAck(
    Guid ChangeId,
    Guid MessageId,
    Guid ConversationId,
    string Kind,
    string State,
    DateTimeOffset AcceptedAt,
    string IdempotencyKey,
    bool IdempotentHit,
    int Partition);

/// <summary>POST /messages/{id}/forward: one send per conversation, in the order named.</summary>
public sealed record ForwardView(Guid MessageId, IReadOnlyList<SendAck> Items);

/// <summary><c>DELETE /messages/{id}?for=me</c>: done at once (nobody else sees it); the caller's unread count in the conversation after it.</summary>
public sealed record HiddenView(Guid ConversationId, Guid MessageId, long UnreadCount);

/// <summary>One earlier version of an edited message (GET /messages/{id}/edits), oldest first.</summary>
public sealed record MessageEditView(int EditNumber, string PreviousContent, string PreviousContentHash, string? Reason, Guid EditedBy, DateTimeOffset EditedAt)
{
    public static MessageEditView From(MessageEditRecord e) => new(e.EditNumber, e.PreviousContent, e.PreviousContentHash, e.Reason, e.EditorId, e.EditedAt);
}

public sealed record MessageEditsView(Guid MessageId, int EditCount, IReadOnlyList<MessageEditView> Items);

/// <summary>
/// The message's content as it is now. Read back from the store to fill a gap, an edit carries the current content
/// (a later edit's, or none with <c>Deleted</c> true when it was deleted since: its messageDeleted follows).
/// </summary>
public sealed record MessageEditedView(Guid ConversationId, Guid MessageId, long Sequence, long ChangeSequence, string Content, string ContentHash, int Size,
    int EditCount, DateTimeOffset EditedAt, Guid EditedBy, [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Reason, bool Deleted);

/// <summary><c>Pinned</c> false: unpinned. <c>By</c> is who pinned or unpinned it.</summary>
public sealed record MessagePinnedView(Guid ConversationId, Guid MessageId, long Sequence, long ChangeSequence, bool Pinned, Guid By, DateTimeOffset At);

/// <summary><c>Expired</c>: a disappearing message the server deleted on time (<c>DeletedBy</c> is then the nil UUID).</summary>
public sealed record MessageDeletedView(Guid ConversationId, Guid MessageId, long Sequence, long ChangeSequence, DateTimeOffset DeletedAt, Guid DeletedBy)
{
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public bool Expired => DeletedBy == ServerActors.Expiry;
}

/// <summary><c>Count</c>: users with <c>Key</c> on the message after this change.</summary>
public sealed record ReactionChangedView(Guid ConversationId, Guid MessageId, long Sequence, long ChangeSequence, string Key, Guid UserId, bool Added, int Count, DateTimeOffset At);

/// <summary>
/// A vote cast, changed or retracted: the poll's counts after it (per option, in option order) and its voters. Who
/// voted and for what only when the poll is not anonymous. Read back from the store to fill a gap, the counts are the
/// current ones.
/// </summary>
public sealed record PollUpdatedView(Guid ConversationId, Guid MessageId, long Sequence, long ChangeSequence, IReadOnlyList<int> Counts, int TotalVoters, DateTimeOffset At)
{
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public Guid? UserId { get; init; }

    /// <summary>The voter's options from now on; empty: they retracted their vote.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<int>? OptionIds { get; init; }

    public static PollUpdatedView From(StoredChange change) =>
        new(change.ConversationId, change.Message.Id, change.Message.Sequence, change.ChangeSequence, change.Message.Poll?.Counts ?? [], change.Message.Poll?.Voters ?? 0, change.At)
        {
            UserId = change.Anonymous ? null : change.ActorId,
            OptionIds = change.Anonymous ? null : change.OptionIds,
        };
}

/// <summary>GET /messages/{id}/votes: the results; voters per option only when the poll is not anonymous.</summary>
public sealed record PollResultsView(Guid MessageId, Guid ConversationId, bool Closed, bool Anonymous, bool MultipleAnswers, DateTimeOffset? ClosesAt, int TotalVoters,
    IReadOnlyList<PollOptionResultView> Options, IReadOnlyList<int> MyVotes);

public sealed record PollOptionResultView(int Id, string Text, int Count)
{
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<Guid>? Voters { get; init; }
}
