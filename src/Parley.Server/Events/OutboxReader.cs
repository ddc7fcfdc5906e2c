using Microsoft.Extensions.Options;
using Parley.Hosting;
using Parley.Core.Events;
using Parley.Core.Ports;
using Parley.Server.Hosting;

namespace Parley.Server.Events;

/// <summary>
/// Runs every registered <see cref="IDomainEventConsumer"/> in a consumer loop of its own: read the events after its
/// stored position, hand them over, then save the position. The position is saved only after the consumer returned, so
/// a crash between the two replays that batch (at least once) and nothing is ever skipped. A
/// <see cref="IDomainEventConsumer.SingleActive"/> consumer runs on one node at a time, the holder of its lease (the
/// partition leases' port, under a key no log partition uses); another node takes over when the holder stops renewing.
/// </summary>
public sealed class OutboxReader(
    IDomainEventStore store,
    IEnumerable<IDomainEventConsumer> consumers,
    IPartitionLeases leases,
    ConsumerLoopRegistry loops,
    IOptions<EventsOptions> options,
    TimeProvider time,
    ILogger<OutboxReader> logger) : BackgroundService
{
    /// <summary>How long a consumer's lease lasts unless renewed; a stopped node's consumer moves within it.</summary>
    public static readonly TimeSpan LeaseTtl = TimeSpan.FromSeconds(15);

    private readonly string _node = $"{Environment.MachineName}/{Guid.NewGuid().ToString("N")[..12]}";

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.WhenAll(consumers.Select(consumer =>
        {
            var loop = loops.Create($"events-{consumer.Name}", logger, time);
            var follower = new Follower(store, consumer, consumer.SingleActive ? new Lease(leases, LeaseKey(consumer.Name), _node, time) : null, options.Value, time, logger);
            return Task.Run(() => loop.RunAsync(follower.IterateAsync, stoppingToken), CancellationToken.None);
        }));

    /// <summary>A lease key per consumer below every log partition (those count up from 0): stable across versions and nodes.</summary>
    public static int LeaseKey(string consumer)
    {
        var hash = Parley.Core.Partitioning.Murmur3.Hash32(System.Text.Encoding.UTF8.GetBytes(consumer));
        return -1_000 - (int)(hash & 0xFFFF);
    }

    private sealed class Lease(IPartitionLeases leases, int key, string node, TimeProvider time)
    {
        private DateTimeOffset _renewAt;
        private bool _held;

        /// <summary>True while this node holds the lease; renews it once a third of its time has passed.</summary>
        public async ValueTask<bool> HoldAsync(CancellationToken cancellationToken)
        {
            var now = time.GetUtcNow();
            if (_held && now < _renewAt)
            {
                return true;
            }

            _held = await leases.TryHoldAsync(key, node, LeaseTtl, cancellationToken) is not null;
            _renewAt = now + (LeaseTtl / 3);
            return _held;
        }
    }

    private sealed class Follower(IDomainEventStore store, IDomainEventConsumer consumer, Lease? lease, EventsOptions options, TimeProvider time, ILogger logger)
    {
        private EventCursor? _position;

        public async Task IterateAsync(CancellationToken stoppingToken)
        {
            if (lease is not null && !await lease.HoldAsync(stoppingToken))
            {
                // Another node runs it; when this node takes over, it starts from the stored position, not a stale one.
                _position = null;
                await Task.Delay(options.PollInterval * 4, time, stoppingToken);
                return;
            }

            if (_position is null)
            {
                _position = await store.GetCheckpointAsync(consumer.Name, stoppingToken);
                Log.EventConsumerStarted(logger, consumer.Name, _position.Value.ToString());
            }

            var events = await store.ReadAsync(_position.Value, options.BatchSize, stoppingToken);
            if (events.Count == 0)
            {
                await Task.Delay(options.PollInterval, time, stoppingToken);
                return;
            }

            await consumer.HandleAsync(events, stoppingToken);
            await store.SaveCheckpointAsync(consumer.Name, events[^1].Cursor, stoppingToken);
            _position = events[^1].Cursor;
        }
    }
}
