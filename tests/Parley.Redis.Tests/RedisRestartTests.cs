using System.Diagnostics;
using Parley.Core.Ports;
using Parley.Hosting;
using Parley.Specification;
using Parley.Testing;
using StackExchange.Redis;

namespace Parley.Redis.Tests;

/// <summary>
/// The log specification where "restart" is Redis itself killed with -9 and started again over its append-only
/// file, while the log instance stays: it has to reconnect on its own and carry on where the data says.
/// (<see cref="RedisMessageLogSpecification"/> restarts the Parley side instead.)
/// </summary>
public sealed class RedisMessageLogAcrossRedisRestartsSpecification : MessageLogSpecification
{
    protected override async Task<ILogHarness> CreateAsync(LogOptions options)
    {
        var server = await ExternalServers.StartDedicatedRedisAsync();
        var redis = new RedisOptions { Configuration = server.Endpoint, KeyPrefix = "t" };
        return new Harness(server, await RedisMessageLog.ConnectAsync(redis, options));
    }

    private sealed class Harness(RedisInstance server, RedisMessageLog log) : ILogHarness
    {
        public IMessageLog Log => log;

        public async Task RestartAsync()
        {
            await server.KillAsync();
            await server.StartAsync();
            await RedisRestarts.WaitForReconnectAsync(log.Connection);
        }

        public async ValueTask DisposeAsync()
        {
            await log.DisposeAsync();
            await server.DisposeAsync();
        }
    }
}

public sealed class RedisRestartTests
{
    private static readonly TimeSpan ReclaimIdle = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Entries_pending_when_Redis_restarts_are_read_before_newer_ones()
    {
        await using var server = await ExternalServers.StartDedicatedRedisAsync();
        var redis = new RedisOptions { Configuration = server.Endpoint, KeyPrefix = "t", ReclaimIdle = ReclaimIdle };
        await using var log = await RedisMessageLog.ConnectAsync(redis, new LogOptions { Partitions = 1 });
        var conversation = Guid.NewGuid();
        Assert.Empty(await log.ReadAsync(0, "node-a", 10, TimeSpan.Zero, default)); // a reader that has looked before
        var sent = new List<Guid>();
        async Task AppendAsync(int n)
        {
            for (var i = 0; i < n; i++)
            {
                var e = Envelopes.New(conversation, Guid.NewGuid(), $"m{sent.Count}");
                sent.Add(e.MessageId);
                await log.AppendAsync(e, default);
            }
        }

        await AppendAsync(3);

        // What a read whose reply was lost in the crash leaves behind: Redis handed the entries to node-a
        // (and fsynced that), node-a never heard of them.
        await using (var other = await ConnectionMultiplexer.ConnectAsync(server.Endpoint))
        {
            Assert.Equal(3, (await other.GetDatabase().StreamReadGroupAsync("t:log:0", redis.ConsumerGroup, "node-a", StreamPosition.NewMessages, 10)).Length);
        }

        await server.KillAsync();
        await server.StartAsync();
        var restarted = Stopwatch.StartNew();
        await RedisRestarts.WaitForReconnectAsync(log.Connection);
        await AppendAsync(3);

        var read = new List<LogEntry>();
        while (read.Count < sent.Count && restarted.Elapsed < ReclaimIdle)
        {
            var batch = await log.ReadAsync(0, "node-a", 2, TimeSpan.FromMilliseconds(200), default);
            read.AddRange(batch);
            await log.AckAsync(0, batch, default);
        }

        // Not after the reclaim time, and not behind the newer entries.
        Assert.Equal(sent, read.Select(e => e.Payload.Decode().MessageId));
        Assert.True(restarted.Elapsed < ReclaimIdle / 2, $"took {restarted.Elapsed}");
        Assert.Equal(new[] { 2, 2, 2, 1, 1, 1 }, read.Select(e => e.DeliveryCount));
    }

    [Fact]
    public async Task Appends_while_Redis_is_down_fail_within_the_append_timeout_and_a_retry_appends_once()
    {
        await using var server = await ExternalServers.StartDedicatedRedisAsync();
        var redis = new RedisOptions { Configuration = server.Endpoint, KeyPrefix = "t", AppendTimeout = TimeSpan.FromMilliseconds(500) };
        await using var log = await RedisMessageLog.ConnectAsync(redis, new LogOptions { Partitions = 1 });
        var envelope = Envelopes.New(Guid.NewGuid(), Guid.NewGuid(), clientMessageId: "during-outage");

        await server.KillAsync();
        var started = Stopwatch.StartNew();
        await Assert.ThrowsAnyAsync<Exception>(() => log.AppendAsync(envelope, default).AsTask());
        // Generous against a loaded machine; without the bound the client library waits out its own 5 s timeout.
        Assert.True(started.Elapsed < TimeSpan.FromSeconds(3), $"took {started.Elapsed}");

        await server.StartAsync();
        await RedisRestarts.WaitForReconnectAsync(log.Connection);
        var retried = await log.AppendAsync(envelope with { MessageId = Guid.CreateVersion7() }, default);
        var again = await log.AppendAsync(envelope with { MessageId = Guid.CreateVersion7() }, default);
        Assert.True(again.Duplicate);
        Assert.Equal(retried.MessageId, again.MessageId);
        Assert.Equal(1, (await log.GetLagAsync(default))[0].Pending);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(120)]
    public void An_append_timeout_out_of_range_is_refused_at_start(int seconds)
    {
        var error = Assert.Single(new RedisOptions { Configuration = "x", AppendTimeout = TimeSpan.FromSeconds(seconds) }.Validate());
        Assert.Contains("Parley:Redis:AppendTimeout", error, StringComparison.Ordinal);
    }
}

internal static class RedisRestarts
{
    /// <summary>The multiplexer reconnects on its own heartbeat; wait for it (with a deadline) rather than for a fixed time.</summary>
    public static async Task WaitForReconnectAsync(IConnectionMultiplexer connection)
    {
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < TimeSpan.FromSeconds(30))
        {
            try
            {
                if (connection.IsConnected)
                {
                    await connection.GetDatabase().PingAsync();
                    return;
                }
            }
            catch (RedisException)
            {
                // Still reconnecting.
            }

            await Task.Delay(50);
        }

        throw new TimeoutException("The log did not reconnect to the restarted Redis");
    }
}
