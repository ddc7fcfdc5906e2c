namespace Parley.Core.Ports;

/// <summary>
/// Which node persists which log partition (D3). Exactly one node holds a partition's lease at a time, so one
/// conversation's messages are stored one batch after another, in log order, whichever node accepted them. A lease
/// lapses unless its holder renews it; every new holder gets a higher epoch, and the store refuses a batch carrying
/// an epoch older than the newest it has seen (<see cref="PartitionFence"/>), so a node that stalled past its lease
/// (a long GC pause, a frozen VM) cannot write behind its successor's back.
/// Implementations: in-process for the embedded engine, Redis for production. Both pass PartitionLeaseSpecification.
/// </summary>
public interface IPartitionLeases
{
    /// <summary>
    /// Takes the partition's lease for <paramref name="node"/> or, when that node holds it already, renews it for another
    /// <paramref name="ttl"/>. Returns the lease's epoch, or null when another node holds it.
    /// </summary>
    ValueTask<long?> TryHoldAsync(int partition, string node, TimeSpan ttl, CancellationToken cancellationToken);

    /// <summary>Gives the lease up at once (graceful shutdown, rebalancing), if <paramref name="node"/> still holds it with this epoch.</summary>
    ValueTask ReleaseAsync(int partition, string node, long epoch, CancellationToken cancellationToken);

    /// <summary>Records that <paramref name="node"/> is alive until now + ttl and returns how many nodes are alive, itself included.</summary>
    ValueTask<int> HeartbeatAsync(string node, DateTimeOffset now, TimeSpan ttl, CancellationToken cancellationToken);

    /// <summary>Removes the node from the live set (graceful shutdown), so the others rebalance without waiting for its heartbeat to lapse.</summary>
    ValueTask LeaveAsync(string node, CancellationToken cancellationToken);
}

/// <summary>The lease a batch was read under, checked by the store in the batch's own transaction.</summary>
public sealed record PartitionFence(int Partition, long Epoch);

/// <summary>The store saw a newer lease epoch for the partition: this node lost it, and its batch was not written.</summary>
public sealed class PartitionFencedException(int partition, long epoch)
    : Exception($"Partition {partition} is fenced: this node's lease epoch {epoch} is older than one the store has already seen")
{
    public int Partition { get; } = partition;

    public long Epoch { get; } = epoch;
}
