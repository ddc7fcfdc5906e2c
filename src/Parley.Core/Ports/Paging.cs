namespace Parley.Core.Ports;

/// <summary>Keyset paging helpers shared by the store engines: fetch limit + 1 rows, keep limit, report whether more exist.</summary>
public static class Paging
{
    /// <summary>Drops the probe row past <paramref name="limit"/>; true when it was there.</summary>
    public static bool TrimProbe<T>(List<T> rows, int limit)
    {
        if (rows.Count <= limit)
        {
            return false;
        }

        rows.RemoveRange(limit, rows.Count - limit);
        return true;
    }

    /// <summary>A history page from rows fetched in query direction (descending unless walking forward from 'after').</summary>
    public static MessagePage History(List<StoredMessage> rows, HistoryQuery query)
    {
        var hasMore = TrimProbe(rows, query.Limit);
        if (query.After is null)
        {
            rows.Reverse();
        }

        return new MessagePage(rows, hasMore);
    }

    /// <summary>
    /// An around page from rows fetched in one go: the older side descending (up to <see cref="HistoryQuery.AroundOlder"/>
    /// + 1) and the newer side, anchor included, ascending (up to <see cref="HistoryQuery.AroundNewer"/> + 1), in any order.
    /// </summary>
    public static MessagePage Around(List<StoredMessage> rows, HistoryQuery query)
    {
        var around = query.Around ?? throw new ArgumentException("Not an around query", nameof(query));
        var older = rows.Where(m => m.Sequence < around).OrderByDescending(m => m.Sequence).ToList();
        var newer = rows.Where(m => m.Sequence >= around).OrderBy(m => m.Sequence).ToList();
        var moreBefore = TrimProbe(older, query.AroundOlder);
        var moreAfter = TrimProbe(newer, query.AroundNewer);
        older.Reverse();
        older.AddRange(newer);
        return new MessagePage(older, moreBefore || moreAfter) { HasMoreBefore = moreBefore, HasMoreAfter = moreAfter };
    }
}

/// <summary>A wake-up for one waiting reader: any number of signals before it waits count as one.</summary>
public sealed class WakeupSignal : IDisposable
{
    private readonly SemaphoreSlim _semaphore = new(0, 1);

    public void Signal()
    {
        if (_semaphore.CurrentCount == 0)
        {
            try
            {
                _semaphore.Release();
            }
            catch (SemaphoreFullException)
            {
                // Another signal got there first; one wake-up is enough.
            }
        }
    }

    public Task<bool> WaitAsync(TimeSpan timeout, CancellationToken cancellationToken) => _semaphore.WaitAsync(timeout, cancellationToken);

    public void Dispose() => _semaphore.Dispose();
}
