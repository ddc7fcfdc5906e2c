using Parley.Core.Ports;
using StackExchange.Redis;

namespace Parley.Redis;

/// <summary>
/// Partition leases shared by every node. A lease is one key holding "node|epoch" that expires on its own (Redis
/// clock, so node clocks never decide who holds what); epochs come from one counter per partition, so each new
/// holder's is higher than every earlier one's. Live nodes are a sorted set scored by heartbeat expiry.
/// </summary>
public sealed class RedisPartitionLeases(RedisConnection connection, string keyPrefix) : IPartitionLeases
{
    public RedisPartitionLeases(IConnectionMultiplexer redis, string keyPrefix)
        : this(RedisConnection.Of(redis), keyPrefix)
    {
    }

    // KEYS: lease, epoch counter. ARGV: node, ttl ms. Returns the epoch held, or 0 when another node holds the lease.
    private const string HoldScript = """
        local held = redis.call('GET', KEYS[1])
        if held then
            local bar = string.find(held, '|', 1, true)
            if string.sub(held, 1, bar - 1) ~= ARGV[1] then return 0 end
            redis.call('PEXPIRE', KEYS[1], ARGV[2])
            return tonumber(string.sub(held, bar + 1))
        end
        local epoch = redis.call('INCR', KEYS[2])
        redis.call('SET', KEYS[1], ARGV[1] .. '|' .. epoch, 'PX', ARGV[2])
        return epoch
        """;

    private const string ReleaseScript = """
        if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
        return 0
        """;

    // KEYS: nodes. ARGV: node, expiry ms, now ms.
    private const string HeartbeatScript = """
        redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[3])
        redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
        return redis.call('ZCARD', KEYS[1])
        """;

    // Resolved per call: the shared connection is connected as the host starts, after this was built.
    private IDatabase Db => connection.Multiplexer.GetDatabase();

    private readonly RedisKey _nodes = $"{keyPrefix}:nodes";

    private RedisKey Lease(int partition) => $"{keyPrefix}:lease:{partition}";

    private RedisKey Epoch(int partition) => $"{keyPrefix}:lease-epoch:{partition}";

    public async ValueTask<long?> TryHoldAsync(int partition, string node, TimeSpan ttl, CancellationToken cancellationToken)
    {
        var epoch = (long)await Db.ScriptEvaluateAsync(HoldScript, [Lease(partition), Epoch(partition)], [node, (long)ttl.TotalMilliseconds]);
        return epoch == 0 ? null : epoch;
    }

    public async ValueTask ReleaseAsync(int partition, string node, long epoch, CancellationToken cancellationToken) =>
        await Db.ScriptEvaluateAsync(ReleaseScript, [Lease(partition)], [$"{node}|{epoch}"]);

    public async ValueTask<int> HeartbeatAsync(string node, DateTimeOffset now, TimeSpan ttl, CancellationToken cancellationToken) =>
        (int)(long)await Db.ScriptEvaluateAsync(HeartbeatScript, [_nodes],
            [node, (now + ttl).ToUnixTimeMilliseconds(), now.ToUnixTimeMilliseconds()]);

    public async ValueTask LeaveAsync(string node, CancellationToken cancellationToken) =>
        await Db.SortedSetRemoveAsync(_nodes, node);
}
