using Parley.Core.Ports;

namespace Parley.Server.Messaging;

/// <summary>
/// Asks the store which idempotency keys it holds for every send in flight at once, the way a group commit shares one
/// flush: one query per batch instead of one per send. A point read per send halved production ingest on the 2-core
/// benchmark machine (docs/benchmarks.md); sends that arrive while a query runs wait for the next one.
/// </summary>
public sealed class StoredKeyLookup(IMessageStore store)
{
    /// <summary>How long one batched query may take; callers give up sooner on their own deadline.</summary>
    private static readonly TimeSpan QueryTimeout = TimeSpan.FromSeconds(5);

    private readonly Lock _gate = new();
    private List<(string Key, TaskCompletionSource<Guid?> Done)> _waiting = [];
    private bool _running;

    /// <summary>The id of the stored message with this key, or null when the store has none.</summary>
    public Task<Guid?> FindAsync(string idempotencyKey, CancellationToken cancellationToken)
    {
        var done = new TaskCompletionSource<Guid?>(TaskCreationOptions.RunContinuationsAsynchronously);
        bool lead;
        lock (_gate)
        {
            _waiting.Add((idempotencyKey, done));
            lead = !_running;
            _running = true;
        }

        if (lead)
        {
            _ = Task.Run(DrainAsync, CancellationToken.None);
        }

        return done.Task.WaitAsync(cancellationToken);
    }

    private async Task DrainAsync()
    {
        while (true)
        {
            List<(string Key, TaskCompletionSource<Guid?> Done)> batch;
            lock (_gate)
            {
                if (_waiting.Count == 0)
                {
                    _running = false;
                    return;
                }

                (batch, _waiting) = (_waiting, []);
            }

            try
            {
                using var timeout = new CancellationTokenSource(QueryTimeout);
                var found = await store.FindIdsByIdempotencyKeysAsync(batch.Select(b => b.Key).Distinct(StringComparer.Ordinal).ToList(), timeout.Token);
                foreach (var (key, done) in batch)
                {
                    done.TrySetResult(found.TryGetValue(key, out var id) ? id : null);
                }
            }
            catch (Exception ex)
            {
                // Each caller decides what a failed lookup means for its send (the ingress treats it as best effort).
                foreach (var (_, done) in batch)
                {
                    done.TrySetException(ex);
                }
            }
        }
    }
}
