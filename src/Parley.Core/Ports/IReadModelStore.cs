namespace Parley.Core.Ports;

/// <summary>
/// The read models kept beside the rows (conversation last activity and last message, members' unread counts and
/// mentions, messages' reaction and reply counts) checked against, and rebuilt from, the outbox (E1, E4).
/// </summary>
public interface IReadModelStore
{
    /// <summary>The read models as stored: every conversation and member, and the messages with non-empty counters.</summary>
    Task<ReadModelSet> ReadAsync(CancellationToken cancellationToken);

    /// <summary>
    /// In one transaction that holds off every writer of a read model (the write gate on SQLite; on PostgreSQL the
    /// tables locked against writes, readers unaffected): folds every event of the outbox through
    /// the read-model projection (Persistence), compares with the stored values and, with <paramref name="apply"/>, writes the
    /// projected value of each one that differs. Writers wait for it, so none of their updates is lost or overwritten.
    /// Throws <see cref="ReadModelHistoryException"/> when the outbox cannot rebuild them.
    /// </summary>
    Task<ReadModelReport> RebuildAsync(bool apply, CancellationToken cancellationToken);

    /// <summary>Writes exactly these values, in one transaction (rows named in <paramref name="values"/> only).</summary>
    Task ReplaceAsync(ReadModelSet values, CancellationToken cancellationToken);
}
