namespace Parley.Core.Ports;

/// <summary>
/// One kind of dead letter (E2): the message log's, push's or webhooks'. Each kind keeps its dead letters where its
/// work lives (the log engine, the push queue, the webhook store) and implements this once per engine; the admin API
/// (<c>/api/v1/admin/dead-letters</c>) and scheduled reprocessing see every kind through it alike.
/// Ids are the kind's own and unique within it; the admin API shows them as <c>{kind}:{id}</c>.
/// </summary>
public interface IDeadLetterKind
{
    /// <summary><c>message</c>, <c>push</c> or <c>webhook</c>.</summary>
    string Kind { get; }

    /// <summary>Newest first, after <paramref name="after"/> (the last id of the previous page) when given.</summary>
    Task<IReadOnlyList<DeadLetterRecord>> ListAsync(DeadLetterQuery query, CancellationToken cancellationToken);

    Task<DeadLetterRecord?> GetAsync(string id, CancellationToken cancellationToken);

    /// <summary>
    /// Puts the work back where it came from (the log, the push queue, the webhook queue) and removes the dead letter, in
    /// one step where the engine allows; false when there is no such dead letter (already replayed or discarded). The
    /// work then takes its normal course: if it fails again, it comes back as a new dead letter with
    /// <see cref="DeadLetterRecord.Replays"/> one higher.
    /// </summary>
    Task<bool> ReplayAsync(string id, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>Deletes the dead letter for good; false when there is none.</summary>
    Task<bool> DiscardAsync(string id, CancellationToken cancellationToken);
}

/// <param name="ErrorType">Filter: only dead letters of this error type.</param>
/// <param name="After">The id of the last dead letter of the previous page.</param>
public sealed record DeadLetterQuery(int Limit, string? ErrorType = null, string? After = null);

/// <param name="Payload">The work as it was dead-lettered, as JSON (a message envelope, a push job, a webhook delivery).</param>
/// <param name="Attempts">Attempts made before it was dead-lettered this time.</param>
/// <param name="Replays">How often it has been replayed (by an admin or by scheduled reprocessing) and died again.</param>
/// <param name="Subject">What the work was about, for filters and display: a conversation, a device, a subscription.</param>
public sealed record DeadLetterRecord(
    string Id,
    string Kind,
    string ErrorType,
    string Error,
    int Attempts,
    int Replays,
    DateTimeOffset DeadAt,
    string? Subject,
    string Payload);
