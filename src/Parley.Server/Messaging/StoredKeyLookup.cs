using Parley.Core.Ports;
using Parley.Server.Hosting;

namespace Parley.Server.Messaging;

/// <summary>
/// Asks the store which idempotency keys it holds for every send in flight at once, the way a group commit shares one
/// flush: one query per batch instead of one per send. A point read per send halved production ingest on the 2-core
/// benchmark machine (docs/benchmarks.md); sends that arrive while a query runs wait for the next one.
/// </summary>
public sealed class StoredKeyLookup
{
    /// <summary>How long one batched query may take; callers give up sooner on their own deadline.</summary>
    private static readonly TimeSpan QueryTimeout = TimeSpan.FromSeconds(5);

    private readonly GroupCommit<string, Guid?> _lookups;

    public StoredKeyLookup(IMessageStore store) => _lookups = new(async keys =>
    {
        // A failure reaches every caller of the batch; each decides what it means for its send (the ingress treats it
        // as best effort).
        using var timeout = new CancellationTokenSource(QueryTimeout);
        var found = await store.FindIdsByIdempotencyKeysAsync(keys.Distinct(StringComparer.Ordinal).ToList(), timeout.Token);
        return [.. keys.Select(key => found.TryGetValue(key, out var id) ? id : (Guid?)null)];
    });

    /// <summary>The id of the stored message with this key, or null when the store has none.</summary>
    public Task<Guid?> FindAsync(string idempotencyKey, CancellationToken cancellationToken) =>
        _lookups.SubmitAsync(idempotencyKey).WaitAsync(cancellationToken);
}
