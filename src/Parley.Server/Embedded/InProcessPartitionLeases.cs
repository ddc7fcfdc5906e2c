using Parley.Core.Ports;

namespace Parley.Server.Embedded;

/// <summary>
/// Leases for the embedded engine, where one process owns the log. Epochs start at the process's start time in
/// milliseconds, so a later process on the same data file fences out an earlier one that is somehow still writing.
/// </summary>
public sealed class InProcessPartitionLeases(TimeProvider time) : IPartitionLeases
{
    private readonly Lock _gate = new();
    private readonly Dictionary<int, (string Node, long Epoch, DateTimeOffset Expires)> _leases = [];
    private readonly Dictionary<int, long> _epochs = [];
    private readonly Dictionary<string, DateTimeOffset> _nodes = new(StringComparer.Ordinal);
    private readonly long _firstEpoch = time.GetUtcNow().ToUnixTimeMilliseconds();

    public ValueTask<long?> TryHoldAsync(int partition, string node, TimeSpan ttl, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            var now = time.GetUtcNow();
            if (_leases.TryGetValue(partition, out var lease) && lease.Expires > now)
            {
                if (!string.Equals(lease.Node, node, StringComparison.Ordinal))
                {
                    return ValueTask.FromResult<long?>(null);
                }

                _leases[partition] = lease with { Expires = now + ttl };
                return ValueTask.FromResult<long?>(lease.Epoch);
            }

            var epoch = _epochs[partition] = _epochs.TryGetValue(partition, out var last) ? last + 1 : _firstEpoch;
            _leases[partition] = (node, epoch, now + ttl);
            return ValueTask.FromResult<long?>(epoch);
        }
    }

    public ValueTask ReleaseAsync(int partition, string node, long epoch, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (_leases.TryGetValue(partition, out var lease) && lease.Epoch == epoch && string.Equals(lease.Node, node, StringComparison.Ordinal))
            {
                _leases.Remove(partition);
            }
        }

        return ValueTask.CompletedTask;
    }

    public ValueTask<int> HeartbeatAsync(string node, DateTimeOffset now, TimeSpan ttl, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            foreach (var lapsed in _nodes.Where(n => n.Value <= now).Select(n => n.Key).ToList())
            {
                _nodes.Remove(lapsed);
            }

            _nodes[node] = now + ttl;
            return ValueTask.FromResult(_nodes.Count);
        }
    }

    public ValueTask LeaveAsync(string node, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            _nodes.Remove(node);
        }

        return ValueTask.CompletedTask;
    }
}
