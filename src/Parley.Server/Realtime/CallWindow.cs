namespace Parley.Server.Realtime;

/// <summary>
/// Counts calls in fixed windows of one length (a per-connection rate limit). Every call counts, refused ones too,
/// so a client that keeps calling while refused stays refused until the window ends.
/// </summary>
public sealed class CallWindow(TimeSpan length)
{
    private readonly Lock _gate = new();
    private DateTimeOffset _start;
    private int _count;

    /// <summary>Counts a call at <paramref name="now"/>; false, with how long until the window ends, past <paramref name="limit"/> calls.</summary>
    public bool TryCount(DateTimeOffset now, int limit, out TimeSpan retryAfter)
    {
        lock (_gate)
        {
            if (now - _start >= length)
            {
                (_start, _count) = (now, 1);
            }
            else
            {
                _count++;
            }

            retryAfter = _start + length - now;
            return _count <= limit;
        }
    }
}
