using Parley.Core.Events;

namespace Parley.Core.Ports;

/// <summary>
/// Scheduled sends (M8): a checked send request kept until its time, then released through the log by the release loop.
/// Until then it is the sender's alone (listed and cancelled by them only), so it is written directly, not through the
/// log; each change records its domain event in the same transaction. Rows are claimed before release so several nodes
/// never release one row at the same time; the release's idempotency key is the backstop when a claim expires.
/// </summary>
public interface IScheduledMessageStore
{
    /// <summary>
    /// Stores <paramref name="message"/> (status scheduled). With a client message id the sender already scheduled in
    /// this conversation, the row already there comes back instead (Created false, nothing written, no event).
    /// </summary>
    Task<(ScheduledMessage Scheduled, bool Created)> ScheduleAsync(ScheduledMessage message, EventContext context, CancellationToken cancellationToken);

    Task<ScheduledMessage?> GetAsync(Guid id, CancellationToken cancellationToken);

    /// <summary>The sender's pending (status scheduled) messages in the conversation, by send time then id, keyset-paged.</summary>
    Task<ScheduledPage> ListPendingAsync(Guid senderId, Guid conversationId, ConversationCursor? after, int limit, CancellationToken cancellationToken);

    /// <summary>
    /// Cancels the sender's scheduled message if no release has claimed it yet (a claimed row may already be in the log,
    /// so it can only end sent or failed). Someone else's row is <see cref="ScheduledCancelOutcome.NotFound"/>.
    /// </summary>
    Task<ScheduledCancelOutcome> CancelAsync(Guid id, Guid senderId, DateTimeOffset now, EventContext context, CancellationToken cancellationToken);

    /// <summary>
    /// Claims up to <paramref name="limit"/> rows due at <paramref name="now"/> (scheduled, send time reached, unclaimed
    /// or their claim expired) for <paramref name="claimant"/> until <paramref name="claimUntil"/>, and returns them by
    /// send time. Concurrent claimants never get the same row while its claim holds.
    /// </summary>
    Task<IReadOnlyList<ScheduledMessage>> ClaimDueAsync(DateTimeOffset now, string claimant, DateTimeOffset claimUntil, int limit, CancellationToken cancellationToken);

    /// <summary>Records the release as the message it became. False when the row is no longer scheduled (nothing written).</summary>
    Task<bool> MarkSentAsync(Guid id, Guid messageId, DateTimeOffset now, EventContext context, CancellationToken cancellationToken);

    /// <summary>Records that the send was refused at its time (<paramref name="reason"/>: the error code). False when no longer scheduled.</summary>
    Task<bool> MarkFailedAsync(Guid id, string reason, DateTimeOffset now, EventContext context, CancellationToken cancellationToken);
}

public static class ScheduledStatuses
{
    public const string Scheduled = "scheduled";
    public const string Sent = "sent";
    public const string Cancelled = "cancelled";
    public const string Failed = "failed";
}

/// <summary>
/// A scheduled send. <see cref="Request"/> is the whole checked send request as JSON (<c>ScheduledRequests</c>), so every
/// field of a send rides along to the release untouched.
/// </summary>
public sealed record ScheduledMessage(
    Guid Id,
    Guid ConversationId,
    Guid SenderId,
    DateTimeOffset SendAt,
    string? ClientMessageId,
    string Request,
    DateTimeOffset CreatedAt)
{
    public string Status { get; init; } = ScheduledStatuses.Scheduled;

    /// <summary>The message it became, once sent.</summary>
    public Guid? MessageId { get; init; }

    /// <summary>Why the release refused it (an error code), once failed.</summary>
    public string? FailureReason { get; init; }

    /// <summary>When it was sent, cancelled or failed.</summary>
    public DateTimeOffset? FinishedAt { get; init; }

    /// <summary>A release has claimed it: it may already be in the log, so it can only end sent or failed.</summary>
    public bool Claimed { get; init; }
}

/// <summary>Keyset over (send time, id) ascending, carried in a <see cref="ConversationCursor"/>'s (time, id).</summary>
public sealed record ScheduledPage(IReadOnlyList<ScheduledMessage> Items, ConversationCursor? Next);

public enum ScheduledCancelOutcome
{
    NotFound,
    Cancelled,

    /// <summary>Cancelled before, or failed at its time: it will never be sent either way, which is what a cancel asks.</summary>
    AlreadyFinished,

    /// <summary>Sent, or claimed by a release that may already have appended it.</summary>
    AlreadySent,
}
