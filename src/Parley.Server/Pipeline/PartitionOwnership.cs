using Microsoft.Extensions.Options;
using Parley.Core.Ports;
using Parley.Hosting;
using Parley.Server.Hosting;

namespace Parley.Server.Pipeline;

/// <summary>
/// Keeps this node's share of the partition leases (D3): every quarter of <see cref="LogOptions.LeaseTtl"/> it
/// renews what it holds, counts the live nodes, takes free partitions up to its fair share (partitions ÷ nodes,
/// rounded up) and hands back what exceeds it, so a joining node gets work and a dead node's partitions move
/// within one TTL. A partition's worker reads only while this node holds its lease and writes under its epoch.
/// </summary>
public sealed class PartitionOwnership(
    IPartitionLeases leases,
    ConsumerLoopRegistry loops,
    DeliveryMetrics metrics,
    IOptions<LogOptions> options,
    IOptions<ParleyOptions> node,
    TimeProvider time,
    ILogger<PartitionOwnership> logger) : BackgroundService
{
    /// <summary>One lease as this node sees it. Handed to the worker; the fields change under <see cref="_gate"/>.</summary>
    public sealed class Held(long epoch, DateTimeOffset validUntil)
    {
        public long Epoch { get; } = epoch;

        public DateTimeOffset ValidUntil { get; set; } = validUntil;

        /// <summary>The log's pending entries from earlier holders were made this node's.</summary>
        public bool TakenOver { get; set; }

        /// <summary>Over this node's share: the worker gives it back after the batch in hand.</summary>
        public bool Releasing { get; set; }
    }

    private readonly Lock _gate = new();
    private readonly Held?[] _held = new Held?[options.Value.Partitions];

    /// <summary>Unique per process, so a restarted node never mistakes a lease of its previous life for its own.</summary>
    public string NodeId { get; } = $"{options.Value.ConsumerName}/{Guid.NewGuid().ToString("N")[..12]}";

    private TimeSpan Ttl => options.Value.LeaseTtl;

    public IReadOnlyList<int> HeldPartitions
    {
        get
        {
            lock (_gate)
            {
                return Enumerable.Range(0, _held.Length).Where(p => _held[p] is not null).ToList();
            }
        }
    }

    /// <summary>The lease the worker may write under now, or null (not held, or no longer known to be valid).</summary>
    public Held? Current(int partition)
    {
        lock (_gate)
        {
            var held = _held[partition];
            return held is not null && held.ValidUntil > time.GetUtcNow() ? held : null;
        }
    }

    /// <summary>
    /// The store refused a batch under this epoch: someone newer holds the partition. The lease is also given up at
    /// the lease store (a no-op unless it still names this node), so that taking the partition again means a new,
    /// higher epoch rather than the refused one.
    /// </summary>
    public async Task FencedAsync(int partition, long epoch, CancellationToken cancellationToken)
    {
        if (Forget(partition, epoch))
        {
            Log.PartitionFenced(logger, partition, epoch, NodeId);
            metrics.LeaseChanged("fenced");
            await leases.ReleaseAsync(partition, NodeId, epoch, cancellationToken);
        }
    }

    /// <summary>Called by the worker between batches when the lease is marked <see cref="Held.Releasing"/>.</summary>
    public async Task ReleaseAsync(int partition, Held held, CancellationToken cancellationToken)
    {
        if (Forget(partition, held.Epoch))
        {
            await leases.ReleaseAsync(partition, NodeId, held.Epoch, cancellationToken);
            Log.PartitionReleased(logger, partition, held.Epoch, NodeId);
            metrics.LeaseChanged("released");
        }
    }

    private bool Forget(int partition, long epoch)
    {
        lock (_gate)
        {
            if (_held[partition]?.Epoch != epoch)
            {
                return false;
            }

            _held[partition] = null;
            return true;
        }
    }

    protected override Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!node.Value.DeliveryWorkers)
        {
            return Task.CompletedTask;
        }

        metrics.ObserveHeldPartitions(() => HeldPartitions.Count);
        var loop = loops.Create("partition-leases", logger, time);
        return loop.RunAsync(async ct =>
        {
            await TickAsync(ct);
            await Task.Delay(Ttl / 4, time, ct);
        }, stoppingToken);
    }

    /// <summary>One round: heartbeat, renew, then take or give back partitions towards this node's share.</summary>
    private async Task TickAsync(CancellationToken cancellationToken)
    {
        var started = time.GetUtcNow();
        var nodes = Math.Max(1, await leases.HeartbeatAsync(NodeId, started, Ttl, cancellationToken));
        var share = (_held.Length + nodes - 1) / nodes;

        // Renew. Validity counts from before the call, and only three quarters of the TTL, so this node stops
        // writing before the lease can have lapsed at the lease store.
        var validUntil = started + (Ttl * 3 / 4);
        for (var p = 0; p < _held.Length; p++)
        {
            Held? held;
            lock (_gate)
            {
                held = _held[p];
            }

            if (held is null)
            {
                continue;
            }

            var epoch = await leases.TryHoldAsync(p, NodeId, Ttl, cancellationToken);
            if (epoch == held.Epoch)
            {
                lock (_gate)
                {
                    held.ValidUntil = validUntil;
                }

                continue;
            }

            Forget(p, held.Epoch);
            Log.PartitionLost(logger, p, held.Epoch, NodeId);
            metrics.LeaseChanged("lost");
            if (epoch is { } renewed)
            {
                // It lapsed and this node got it back: a new epoch, and a fresh take-over of what is pending.
                Acquired(p, renewed, validUntil);
            }
        }

        // Rebalance: give back the highest partitions over the share, take free ones (starting at a place that
        // differs per node, so nodes starting together do not all contend for partition 0) up to it.
        List<int> mine;
        lock (_gate)
        {
            mine = Enumerable.Range(0, _held.Length).Where(p => _held[p] is { Releasing: false }).ToList();
            foreach (var p in mine.Skip(share))
            {
                _held[p]!.Releasing = true;
            }
        }

        var wanted = share - mine.Count;
        var start = (int)((uint)StringComparer.Ordinal.GetHashCode(NodeId) % (uint)_held.Length);
        for (var i = 0; i < _held.Length && wanted > 0; i++)
        {
            var p = (start + i) % _held.Length;
            lock (_gate)
            {
                if (_held[p] is not null)
                {
                    continue;
                }
            }

            if (await leases.TryHoldAsync(p, NodeId, Ttl, cancellationToken) is { } epoch)
            {
                Acquired(p, epoch, validUntil);
                wanted--;
            }
        }
    }

    private void Acquired(int partition, long epoch, DateTimeOffset validUntil)
    {
        lock (_gate)
        {
            _held[partition] = new Held(epoch, validUntil);
        }

        Log.PartitionAcquired(logger, partition, epoch, NodeId);
        metrics.LeaseChanged("acquired");
    }

    /// <summary>After the workers stopped (they are registered later, so stopped earlier): hand every lease over at once.</summary>
    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        if (!node.Value.DeliveryWorkers)
        {
            return;
        }

        try
        {
            for (var p = 0; p < _held.Length; p++)
            {
                Held? held;
                lock (_gate)
                {
                    held = _held[p];
                }

                if (held is not null)
                {
                    await ReleaseAsync(p, held, cancellationToken);
                }
            }

            await leases.LeaveAsync(NodeId, cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // The leases lapse on their own within one TTL.
            Log.LeaseHandOverFailed(logger, ex, NodeId);
        }
    }
}
