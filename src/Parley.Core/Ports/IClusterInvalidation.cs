namespace Parley.Core.Ports;

/// <summary>
/// Tells the other server nodes that something they cache changed, so that a change made through one node holds on
/// every node before its response returns. The key names what changed: a conversation id (its membership, roles,
/// status), or a pair of users' key (their block state); each subscriber drops what it keeps under the key, if anything.
/// </summary>
public interface IClusterInvalidation
{
    /// <summary>
    /// Returns once every other live node has dropped what it caches under <paramref name="key"/>, or when
    /// <paramref name="timeout"/> has passed (a node that does not answer in time is slow or gone: its cache entries
    /// still expire on their own). True when every node answered.
    /// </summary>
    Task<bool> InvalidateAsync(Guid key, TimeSpan timeout, CancellationToken cancellationToken);

    /// <summary>Receives other nodes' invalidations (never this node's own); the node answers once the handler returned.</summary>
    void Subscribe(Action<Guid> handler);
}
