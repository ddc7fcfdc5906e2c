using Parley.Core.Ports;
using Parley.Hosting;
using Parley.Specification;
using Parley.Testing;

namespace Parley.Redis.Tests;

/// <summary>The log specification against real Redis (appendonly), each test under a key prefix of its own.</summary>
public sealed class RedisMessageLogSpecification : MessageLogSpecification
{
    protected override async Task<ILogHarness> CreateAsync(LogOptions options)
    {
        var redis = new RedisOptions { Configuration = await ExternalServers.RedisAsync(), KeyPrefix = "t" + Guid.NewGuid().ToString("N") };
        return new Harness(redis, options, await RedisMessageLog.ConnectAsync(redis, options));
    }

    private sealed class Harness(RedisOptions redis, LogOptions options, RedisMessageLog log) : ILogHarness
    {
        private RedisMessageLog _log = log;

        public IMessageLog Log => _log;

        public async Task RestartAsync()
        {
            await _log.DisposeAsync();
            _log = await RedisMessageLog.ConnectAsync(redis, options);
        }

        public ValueTask DisposeAsync() => _log.DisposeAsync();
    }
}

public sealed class RedisLogTests
{
    [Fact]
    public async Task Connecting_to_an_unreachable_redis_fails_fast_and_names_the_setting()
    {
        var redis = new RedisOptions { Configuration = $"127.0.0.1:{ExternalServers.FreePort()},connectTimeout=500" };
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => RedisMessageLog.ConnectAsync(redis, new LogOptions()));
        Assert.Contains("Parley:Redis:Configuration", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_dead_consumers_pending_entries_are_reclaimed_by_another_after_the_idle_time()
    {
        var redis = new RedisOptions { Configuration = await ExternalServers.RedisAsync(), KeyPrefix = "t" + Guid.NewGuid().ToString("N"), ReclaimIdle = TimeSpan.FromSeconds(1) };
        var options = new LogOptions { Partitions = 1 };
        await using var log = await RedisMessageLog.ConnectAsync(redis, options);
        var appended = await log.AppendAsync(Envelopes.New(Guid.NewGuid(), Guid.NewGuid()), default);
        var taken = Assert.Single(await log.ReadAsync(0, "node-a", 10, TimeSpan.Zero, default));

        // node-b sees nothing while node-a's claim is fresh...
        Assert.Empty(await log.ReadAsync(0, "node-b", 10, TimeSpan.Zero, default));

        // ...and takes it over once node-a has been silent past the reclaim time.
        var reclaimed = Assert.Single(await ReadUntilAsync(log, "node-b"));
        Assert.Equal(taken.EntryId, reclaimed.EntryId);
        Assert.Equal(2, reclaimed.DeliveryCount);
        await log.AckAsync(0, [reclaimed], default);
        Assert.Equal(0, (await log.GetLagAsync(default))[0].Pending);
        Assert.Null(await log.FindAsync(appended.MessageId, default));
    }

    /// <summary>Reads partition 0 as <paramref name="consumer"/> until it gets entries (a reclaim once the idle time has passed), within a deadline.</summary>
    internal static async Task<IReadOnlyList<LogEntry>> ReadUntilAsync(RedisMessageLog log, string consumer)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            var entries = await log.ReadAsync(0, consumer, 10, TimeSpan.Zero, default);
            if (entries.Count > 0)
            {
                return entries;
            }

            Assert.True(DateTime.UtcNow < deadline, $"{consumer} reclaimed nothing within 30 s");
            await Task.Delay(50); // polling interval
        }
    }

    [Fact]
    public async Task Reopening_with_a_different_partition_count_is_refused()
    {
        var redis = new RedisOptions { Configuration = await ExternalServers.RedisAsync(), KeyPrefix = "t" + Guid.NewGuid().ToString("N") };
        await (await RedisMessageLog.ConnectAsync(redis, new LogOptions { Partitions = 4 })).DisposeAsync();
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => RedisMessageLog.ConnectAsync(redis, new LogOptions { Partitions = 8 }));
        Assert.Contains("Parley:Log:Partitions", error.Message, StringComparison.Ordinal);
    }
}

public sealed class RedisReplicationTests
{
    [Fact]
    public async Task With_wait_replicas_an_append_is_acknowledged_only_once_a_replica_has_it()
    {
        var primary = await ExternalServers.RedisAsync();
        var redis = new RedisOptions { Configuration = primary, KeyPrefix = "t" + Guid.NewGuid().ToString("N"), WaitReplicas = 1, WaitTimeout = TimeSpan.FromMilliseconds(300) };
        var options = new LogOptions { Partitions = 2 };
        var envelope = Envelopes.New(Guid.NewGuid(), Guid.NewGuid());

        // No replica: refused, so the ingress answers 503 and the client retries.
        await using (var log = await RedisMessageLog.ConnectAsync(redis, options))
        {
            await Assert.ThrowsAsync<StackExchange.Redis.RedisException>(() => log.AppendAsync(envelope, default).AsTask());
        }

        // A real replica of the test Redis: the retry (a duplicate of the first try) is now acknowledged.
        // A generous timeout: on a loaded 2-core machine replication can take a moment, and a refusal here would be a false alarm.
        await using var replica = await ExternalServers.StartReplicaAsync(primary);
        redis.WaitTimeout = TimeSpan.FromSeconds(10);
        await using (var log = await RedisMessageLog.ConnectAsync(redis, options))
        {
            var result = await log.AppendAsync(envelope, default);
            Assert.Equal(envelope.MessageId, result.MessageId);
            Assert.True(result.Duplicate);
            Assert.False((await log.AppendAsync(Envelopes.New(Guid.NewGuid(), Guid.NewGuid()), default)).Duplicate);
        }
    }
}

public sealed class RedisKeepTests
{
    [Fact]
    public async Task Entries_a_consumer_keeps_are_not_reclaimed_by_another_and_their_count_does_not_move()
    {
        var redis = new RedisOptions { Configuration = await ExternalServers.RedisAsync(), KeyPrefix = "t" + Guid.NewGuid().ToString("N"), ReclaimIdle = TimeSpan.FromSeconds(1) };
        await using var log = await RedisMessageLog.ConnectAsync(redis, new LogOptions { Partitions = 1 });
        await log.AppendAsync(Envelopes.New(Guid.NewGuid(), Guid.NewGuid()), default);
        var taken = await log.ReadAsync(0, "node-a", 10, TimeSpan.Zero, default);

        // node-a is waiting out an outage longer than the reclaim time, keeping its entries as it goes. The pauses
        // are the scenario (time passing during an outage), not a wait for a condition.
        for (var i = 0; i < 4; i++)
        {
            await Task.Delay(400);
            await log.KeepAsync(0, "node-a", taken, default);
        }

        Assert.Empty(await log.ReadAsync(0, "node-b", 10, TimeSpan.Zero, default));
        Assert.Equal(2, Assert.Single(await RedisLogTests.ReadUntilAsync(log, "node-b")).DeliveryCount);
    }
}

/// <summary>The presence specification against real Redis, each test under a key prefix of its own.</summary>
public sealed class RedisPresenceStoreSpecification : PresenceStoreSpecification
{
    private static readonly Lazy<Task<StackExchange.Redis.ConnectionMultiplexer>> s_redis =
        new(async () => await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(await ExternalServers.RedisAsync()));

    protected override async Task<IPresenceStore> CreateAsync() => new RedisPresenceStore(await s_redis.Value, "t" + Guid.NewGuid().ToString("N"));
}

/// <summary>The partition lease specification against real Redis, each test under a key prefix of its own.</summary>
public sealed class RedisPartitionLeaseSpecification : PartitionLeaseSpecification
{
    private static readonly Lazy<Task<StackExchange.Redis.ConnectionMultiplexer>> s_redis =
        new(async () => await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(await ExternalServers.RedisAsync()));

    protected override async Task<IPartitionLeases> CreateAsync() => new RedisPartitionLeases(await s_redis.Value, "t" + Guid.NewGuid().ToString("N"));
}

/// <summary>
/// The realtime bus specification against real Redis pub/sub: each node has its own connection (as each server
/// process does) and all share one key prefix per test.
/// </summary>
public sealed class RedisRealtimeBusSpecification : MultiNodeRealtimeBusSpecification, IAsyncDisposable
{
    private readonly string _prefix = "t" + Guid.NewGuid().ToString("N");
    private readonly Dictionary<IRealtimeBus, StackExchange.Redis.ConnectionMultiplexer> _connections = [];

    protected override async Task<IReadOnlyList<IRealtimeBus>> CreateNodesAsync(int count)
    {
        var nodes = new List<IRealtimeBus>();
        for (var i = 0; i < count; i++)
        {
            nodes.Add(await NodeAsync());
        }

        return nodes;
    }

    private async Task<IRealtimeBus> NodeAsync()
    {
        var options = StackExchange.Redis.ConfigurationOptions.Parse(await ExternalServers.RedisAsync());
        options.ClientName = "bus-" + Guid.NewGuid().ToString("N");
        options.AllowAdmin = true; // for BreakAsync's CLIENT LIST / CLIENT KILL
        var redis = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(options);
        var node = new RedisRealtimeBus(redis, _prefix);
        _connections[node] = redis;
        return node;
    }

    /// <summary>Another node's message is the marker: Redis delivers one channel's messages to a subscriber in the order it took them.</summary>
    protected override async Task DrainAsync(IRealtimeBus node)
    {
        var marker = "drain " + Guid.NewGuid().ToString("N");
        var seen = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        node.Subscribe(bytes =>
        {
            if (System.Text.Encoding.UTF8.GetString(bytes.Span) == marker)
            {
                seen.TrySetResult();
            }
        });
        var other = await NodeAsync();
        await other.PublishAsync(System.Text.Encoding.UTF8.GetBytes(marker), default);
        await seen.Task.WaitAsync(Deadline);
    }

    /// <summary>Kills the node's pub/sub connection on the Redis side (CLIENT KILL by its client name); the multiplexer reconnects.</summary>
    protected override async Task BreakAsync(IRealtimeBus node)
    {
        var redis = _connections[node];
        var admin = redis.GetServer(redis.GetEndPoints()[0]);
        var killed = 0;
        foreach (var client in await admin.ClientListAsync())
        {
            if (client.Name == redis.ClientName && client.SubscriptionCount > 0)
            {
                await admin.ClientKillAsync(id: client.Id, clientType: null, endpoint: null, skipMe: false);
                killed++;
            }
        }

        Assert.True(killed > 0, "no subscription connection of the node was found to break");
    }

    protected override async Task StopAsync(IRealtimeBus node) => await _connections[node].DisposeAsync();

    public async ValueTask DisposeAsync()
    {
        foreach (var redis in _connections.Values)
        {
            await redis.DisposeAsync();
        }
    }
}

/// <summary>The push queue on real Redis (appendonly), each test under a key prefix of its own; a restart is a new connection.</summary>
public sealed class RedisPushQueueSpecification : PushQueueSpecification
{
    protected override async Task<IPushQueueHarness> CreateAsync()
    {
        var harness = new Harness(new RedisOptions { Configuration = await ExternalServers.RedisAsync(), KeyPrefix = "t" + Guid.NewGuid().ToString("N") });
        await harness.RestartAsync();
        return harness;
    }

    private sealed class Harness(RedisOptions options) : IPushQueueHarness
    {
        private RedisConnection? _connection;

        public IPushQueue Queue { get; private set; } = null!;

        public async Task RestartAsync()
        {
            if (_connection is not null)
            {
                await _connection.DisposeAsync();
            }

            _connection = new RedisConnection(options);
            await _connection.ConnectAsync(default);
            Queue = new RedisPushQueue(_connection, options.KeyPrefix);
        }

        public async ValueTask DisposeAsync()
        {
            if (_connection is not null)
            {
                await _connection.DisposeAsync();
            }
        }
    }
}
