using Parley.Core.Push;

namespace Parley.Core.Ports;

/// <summary>
/// The durable queue of push jobs (P5), on the log engine in use (a SQLite file for the embedded engine, Redis for
/// production) and never on the delivery path. A job waits until it is due, is claimed for a while by one dispatcher
/// (and handed out again if that dispatcher dies: at least once), and ends sent, retried later or dead-lettered.
/// Implementations pass tests/Parley.Specification's PushQueueSpecification.
/// </summary>
public interface IPushQueue
{
    /// <summary>
    /// Queues each job due at <paramref name="dueAt"/>, unless a job for the same device is still waiting (not yet claimed,
    /// never attempted): then the two become one (<paramref name="merge"/>(waiting, job)) and keep the waiting one's due
    /// time. One write for the whole list where the engine allows (a message to a large group is one batch). Returns how
    /// many were folded into a waiting job.
    /// </summary>
    ValueTask<int> EnqueueAsync(IReadOnlyList<PushJob> jobs, DateTimeOffset dueAt, Func<PushJob, PushJob, PushJob> merge, CancellationToken cancellationToken);

    /// <summary>Up to <paramref name="max"/> due jobs, oldest due first, each claimed until now + <paramref name="claimFor"/>; a claimed job takes no more merges.</summary>
    ValueTask<IReadOnlyList<PushJobLease>> ClaimAsync(DateTimeOffset now, int max, TimeSpan claimFor, CancellationToken cancellationToken);

    /// <summary>The job was sent (or its device is gone): it leaves the queue.</summary>
    ValueTask CompleteAsync(string queueId, CancellationToken cancellationToken);

    /// <summary>A failed attempt: the job is due again at <paramref name="dueAt"/> with <paramref name="attempts"/> attempts made.</summary>
    ValueTask RetryAsync(string queueId, int attempts, DateTimeOffset dueAt, string errorType, string error, CancellationToken cancellationToken);

    /// <summary>Moves the job to the push dead letters with its error (one step: it is never both queued and dead).</summary>
    ValueTask DeadLetterAsync(PushJobLease lease, int attempts, string errorType, string error, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>Jobs queued and not yet finished (due, waiting, claimed or retrying).</summary>
    ValueTask<long> CountAsync(CancellationToken cancellationToken);

    /// <summary>The push dead letters, as every dead-letter kind shows them (<see cref="IDeadLetterKind"/>, kind <c>push</c>).</summary>
    IDeadLetterKind DeadLetters { get; }
}

public static class PushQueueExtensions
{
    /// <summary>One job; true when it was folded into a waiting one.</summary>
    public static async ValueTask<bool> EnqueueAsync(this IPushQueue queue, PushJob job, DateTimeOffset dueAt, Func<PushJob, PushJob, PushJob> merge, CancellationToken cancellationToken) =>
        await queue.EnqueueAsync([job], dueAt, merge, cancellationToken) == 1;
}
