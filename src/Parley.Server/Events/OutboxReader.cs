using Microsoft.Extensions.Options;
using Parley.Hosting;
using Parley.Core.Events;
using Parley.Core.Ports;
using Parley.Server.Hosting;

namespace Parley.Server.Events;

/// <summary>
/// Runs every registered <see cref="IDomainEventConsumer"/> in a consumer loop of its own: read the events after its
/// stored position, hand them over, then save the position. The position is saved only after the consumer returned, so
/// a crash between the two replays that batch (at least once) and nothing is ever skipped.
/// </summary>
public sealed class OutboxReader(
    IDomainEventStore store,
    IEnumerable<IDomainEventConsumer> consumers,
    ConsumerLoopRegistry loops,
    IOptions<EventsOptions> options,
    TimeProvider time,
    ILogger<OutboxReader> logger) : BackgroundService
{
    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.WhenAll(consumers.Select(consumer =>
        {
            var loop = loops.Create($"events-{consumer.Name}", logger, time);
            var follower = new Follower(store, consumer, options.Value, time, logger);
            return Task.Run(() => loop.RunAsync(follower.IterateAsync, stoppingToken), CancellationToken.None);
        }));

    private sealed class Follower(IDomainEventStore store, IDomainEventConsumer consumer, EventsOptions options, TimeProvider time, ILogger logger)
    {
        private EventCursor? _position;

        public async Task IterateAsync(CancellationToken stoppingToken)
        {
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
