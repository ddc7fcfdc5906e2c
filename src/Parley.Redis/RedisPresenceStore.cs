using Parley.Core.Ports;
using StackExchange.Redis;

namespace Parley.Redis;

/// <summary>
/// Presence shared by every node. Per user, a sorted set of connection ids scored by expiry (ms): the count of
/// unexpired members is the user's device count, read with one ZCOUNT. A set of users scored by their latest expiry
/// lets any node find the users whose connections lapsed (a dead node's) without scanning. Each transition runs as
/// one script, so two nodes never both announce the same user going offline.
/// </summary>
public sealed class RedisPresenceStore(RedisConnection connection, string keyPrefix) : IPresenceStore
{
    public RedisPresenceStore(IConnectionMultiplexer redis, string keyPrefix)
        : this(RedisConnection.Of(redis), keyPrefix)
    {
    }

    // KEYS: conns, users, seen. ARGV: connection, expiry, now, user. Returns 1 when the user had no live connection.
    private const string ConnectScript = """
        redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[3])
        local before = redis.call('ZCARD', KEYS[1])
        redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
        redis.call('ZADD', KEYS[2], 'GT', ARGV[2], ARGV[4])
        return before == 0 and 1 or 0
        """;

    // Returns 1 when this removal (or lapse) took the user's last connection and this call recorded it.
    private const string DisconnectScript = """
        if ARGV[1] ~= '' then redis.call('ZREM', KEYS[1], ARGV[1]) end
        redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[2])
        if redis.call('ZCARD', KEYS[1]) > 0 then return 0 end
        if redis.call('ZREM', KEYS[2], ARGV[3]) == 0 then return 0 end
        redis.call('HSET', KEYS[3], ARGV[3], ARGV[2])
        return 1
        """;

    // Resolved per call: the shared connection is connected as the host starts, after this was built.
    private IDatabase Db => connection.Multiplexer.GetDatabase();

    private readonly RedisKey _users = $"{keyPrefix}:presence:users";
    private readonly RedisKey _seen = $"{keyPrefix}:presence:seen";

    private RedisKey Connections(Guid userId) => $"{keyPrefix}:presence:conns:{userId:N}";

    public async ValueTask<bool> ConnectedAsync(Guid userId, string connectionId, DateTimeOffset expiresAt, CancellationToken cancellationToken) =>
        (long)await Db.ScriptEvaluateAsync(ConnectScript, [Connections(userId), _users, _seen],
            [connectionId, expiresAt.ToUnixTimeMilliseconds(), DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), userId.ToString("N")]) == 1;

    public async ValueTask<bool> DisconnectedAsync(Guid userId, string connectionId, DateTimeOffset now, CancellationToken cancellationToken) =>
        (long)await Db.ScriptEvaluateAsync(DisconnectScript, [Connections(userId), _users, _seen],
            [connectionId, now.ToUnixTimeMilliseconds(), userId.ToString("N")]) == 1;

    public async ValueTask RefreshAsync(IReadOnlyCollection<(Guid UserId, string ConnectionId)> connections, DateTimeOffset expiresAt, CancellationToken cancellationToken)
    {
        var score = expiresAt.ToUnixTimeMilliseconds();
        var batch = Db.CreateBatch();
        var writes = new List<Task>();
        foreach (var (user, connection) in connections)
        {
            writes.Add(batch.SortedSetAddAsync(Connections(user), connection, score, SortedSetWhen.Exists));
            writes.Add(batch.SortedSetAddAsync(_users, user.ToString("N"), score, SortedSetWhen.GreaterThan));
        }

        batch.Execute();
        await Task.WhenAll(writes);
    }

    public async ValueTask<IReadOnlyList<Guid>> ExpireAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        var ms = now.ToUnixTimeMilliseconds();
        var candidates = await Db.SortedSetRangeByScoreAsync(_users, double.NegativeInfinity, ms, take: 1000);
        var offline = new List<Guid>();
        foreach (var candidate in candidates)
        {
            var user = Guid.ParseExact((string)candidate!, "N");
            if ((long)await Db.ScriptEvaluateAsync(DisconnectScript, [Connections(user), _users, _seen], ["", ms, (string)candidate!]) == 1)
            {
                offline.Add(user);
            }
        }

        return offline;
    }

    public async ValueTask<IReadOnlyList<UserPresence>> GetAsync(IReadOnlyCollection<Guid> userIds, CancellationToken cancellationToken)
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var ids = userIds.ToList();
        var counts = ids.Select(id => Db.SortedSetLengthAsync(Connections(id), now, double.PositiveInfinity, Exclude.Start)).ToList();
        var seen = await Db.HashGetAsync(_seen, ids.Select(id => (RedisValue)id.ToString("N")).ToArray());
        await Task.WhenAll(counts);
        return ids.Select((id, i) =>
        {
            var count = (int)counts[i].Result;
            return new UserPresence(id, count > 0, count,
                count > 0 || seen[i].IsNull ? null : DateTimeOffset.FromUnixTimeMilliseconds((long)seen[i]));
        }).ToList();
    }
}
