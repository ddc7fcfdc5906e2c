namespace Parley.Server.Hosting;

/// <summary>
/// One round trip for every caller waiting, the way a group commit shares one flush: the first caller starts a run;
/// callers that arrive while it is in flight queue up and go together as the next one, in arrival order, at most
/// <paramref name="maxBatch"/> at a time. There is no timer and no wait for company: an idle caller goes at once.
/// With <paramref name="lanes"/> above one, that many runs may be in flight at once (a store that commits concurrent
/// transactions in parallel); callers only group up once every lane is busy.
/// <paramref name="run"/> answers one result per item, in order; if it throws, every caller of that run gets the exception.
/// </summary>
public sealed class GroupCommit<TItem, TResult>(Func<IReadOnlyList<TItem>, Task<IReadOnlyList<TResult>>> run, int maxBatch = int.MaxValue, int lanes = 1)
{
    private readonly Lock _gate = new();
    private List<(TItem Item, TaskCompletionSource<TResult> Done)> _waiting = [];
    private int _running;

    public Task<TResult> SubmitAsync(TItem item)
    {
        var done = new TaskCompletionSource<TResult>(TaskCreationOptions.RunContinuationsAsynchronously);
        bool lead;
        lock (_gate)
        {
            _waiting.Add((item, done));
            lead = _running < lanes;
            if (lead)
            {
                _running++;
            }
        }

        if (lead)
        {
            _ = Task.Run(DrainAsync, CancellationToken.None);
        }

        return done.Task;
    }

    private async Task DrainAsync()
    {
        while (true)
        {
            List<(TItem Item, TaskCompletionSource<TResult> Done)> taken;
            lock (_gate)
            {
                if (_waiting.Count == 0)
                {
                    _running--;
                    return;
                }

                if (_waiting.Count <= maxBatch)
                {
                    (taken, _waiting) = (_waiting, []);
                }
                else
                {
                    taken = _waiting[..maxBatch];
                    _waiting.RemoveRange(0, maxBatch);
                }
            }

            try
            {
                var results = await run([.. taken.Select(t => t.Item)]);
                for (var i = 0; i < taken.Count; i++)
                {
                    taken[i].Done.TrySetResult(results[i]);
                }
            }
            catch (Exception ex)
            {
                foreach (var (_, done) in taken)
                {
                    done.TrySetException(ex);
                }
            }
        }
    }
}
