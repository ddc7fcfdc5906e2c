using System.Text;
using Parley.Core.Ports;
using Parley.Core.Push;
using StackExchange.Redis;

namespace Parley.Redis;

/// <summary>
/// The production push queue, in Redis beside the message log. Jobs are hashes; a sorted set orders them by due time (a
/// claim moves a job to the end of its claim, so a dispatcher that dies leaves it to be handed out again); a per-device
/// key names the one job later messages may still fold into. The merge itself is the caller's rule, applied here by
/// optimistic transactions (a claim or another merge in between makes the write fail and the merge run again).
/// </summary>
public sealed class RedisPushQueue(RedisConnection connection, string keyPrefix) : IPushQueue
{
    // KEYS: due. ARGV: now, max, until, job key prefix, open key prefix. Returns id, payload, attempts, replays per job.
    private const string ClaimScript = """
        local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
        local out = {}
        for _, id in ipairs(ids) do
          local key = ARGV[4] .. id
          local h = redis.call('HMGET', key, 'payload', 'attempts', 'replays', 'device', 'open')
          if h[1] then
            redis.call('ZADD', KEYS[1], ARGV[3], id)
            redis.call('HINCRBY', key, 'version', 1)
            if h[5] == '1' then
              redis.call('HSET', key, 'open', '0')
              local open = ARGV[5] .. h[4]
              if redis.call('GET', open) == id then redis.call('DEL', open) end
            end
            table.insert(out, id)
            table.insert(out, h[1])
            table.insert(out, h[2] or '0')
            table.insert(out, h[3] or '0')
          else
            redis.call('ZREM', KEYS[1], id)
          end
        end
        return out
        """;

    // KEYS: due. ARGV: due time, job key prefix, open key prefix, then id, device, payload per job. Queues each job whose
    // device has no waiting job; returns the (0-based) positions of those that have one, to be merged by the caller.
    private const string InsertScript = """
        local taken = {}
        local n = (#ARGV - 3) / 3
        for i = 0, n - 1 do
          local id, device, payload = ARGV[4 + i * 3], ARGV[5 + i * 3], ARGV[6 + i * 3]
          local open = ARGV[3] .. device
          if redis.call('EXISTS', open) == 1 then
            table.insert(taken, i)
          else
            redis.call('SET', open, id)
            redis.call('HSET', ARGV[2] .. id, 'payload', payload, 'attempts', '0', 'replays', '0', 'device', device, 'open', '1', 'version', '1')
            redis.call('ZADD', KEYS[1], ARGV[1], id)
          end
        end
        return taken
        """;

    // KEYS: due, job, dead set, dead hash. ARGV: id, attempts, error type, error, now. Moves the job to the dead letters.
    private const string DeadLetterScript = """
        local h = redis.call('HMGET', KEYS[2], 'payload', 'replays', 'device')
        redis.call('ZREM', KEYS[1], ARGV[1])
        redis.call('DEL', KEYS[2])
        if not h[1] then return 0 end
        redis.call('HSET', KEYS[4], 'payload', h[1], 'replays', h[2] or '0', 'device', h[3] or '', 'attempts', ARGV[2], 'errorType', ARGV[3], 'error', ARGV[4], 'deadAt', ARGV[5])
        redis.call('ZADD', KEYS[3], ARGV[5], ARGV[1])
        return 1
        """;

    // KEYS: dead set, dead hash, due, job. ARGV: id, now. Puts the dead job back in the queue, closed to merges.
    private const string ReplayScript = """
        local h = redis.call('HMGET', KEYS[2], 'payload', 'replays', 'device')
        if not h[1] then return 0 end
        redis.call('HSET', KEYS[4], 'payload', h[1], 'attempts', '0', 'replays', tostring(tonumber(h[2] or '0') + 1), 'device', h[3] or '', 'open', '0', 'version', '1')
        redis.call('ZADD', KEYS[3], ARGV[2], ARGV[1])
        redis.call('DEL', KEYS[2])
        redis.call('ZREM', KEYS[1], ARGV[1])
        return 1
        """;

    private IDatabase Db => connection.Multiplexer.GetDatabase();

    private RedisKey Due => $"{keyPrefix}:push:due";

    private string JobPrefix => $"{keyPrefix}:push:job:";

    private string OpenPrefix => $"{keyPrefix}:push:open:";

    private RedisKey Job(string id) => JobPrefix + id;

    private RedisKey Open(Guid deviceId) => OpenPrefix + deviceId.ToString("N");

    private RedisKey DeadSet => $"{keyPrefix}:push:dead";

    private RedisKey Dead(string id) => $"{keyPrefix}:push:dead:{id}";

    public IDeadLetterKind DeadLetters => new DeadLetterKind(this);

    /// <summary>
    /// The jobs whose device has no waiting job go in with one script (one round trip for a whole group); the rest are
    /// merged one by one.
    /// </summary>
    public async ValueTask<int> EnqueueAsync(IReadOnlyList<PushJob> jobs, DateTimeOffset dueAt, Func<PushJob, PushJob, PushJob> merge, CancellationToken cancellationToken)
    {
        if (jobs.Count == 0)
        {
            return 0;
        }

        var args = new List<RedisValue>(3 + (jobs.Count * 3)) { dueAt.ToUnixTimeMilliseconds(), JobPrefix, OpenPrefix };
        foreach (var job in jobs)
        {
            args.Add(job.Id.ToString());
            args.Add(job.DeviceId.ToString("N"));
            args.Add(job.Serialize());
        }

        var taken = (RedisResult[])(await Db.ScriptEvaluateAsync(InsertScript, [Due], [.. args]))!;
        var merged = 0;
        foreach (var position in taken)
        {
            if (await EnqueueOneAsync(jobs[(int)position], dueAt, merge, cancellationToken))
            {
                merged++;
            }
        }

        return merged;
    }

    private async ValueTask<bool> EnqueueOneAsync(PushJob job, DateTimeOffset dueAt, Func<PushJob, PushJob, PushJob> merge, CancellationToken cancellationToken)
    {
        var db = Db;
        var open = Open(job.DeviceId);
        // Each lost race means a claim or another merge changed the waiting job: look again. Few writers per device, so few rounds.
        for (var round = 0; ; round++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var waitingId = (string?)await db.StringGetAsync(open);
            if (waitingId is not null)
            {
                var fields = await db.HashGetAsync(Job(waitingId), ["payload", "version"]);
                if (!fields[0].IsNull)
                {
                    var merged = merge(PushJob.Deserialize((byte[])fields[0]!), job);
                    var update = db.CreateTransaction();
                    update.AddCondition(Condition.StringEqual(open, waitingId));
                    update.AddCondition(Condition.HashEqual(Job(waitingId), "version", fields[1]));
                    _ = update.HashSetAsync(Job(waitingId), [new("payload", merged.Serialize()), new("version", (long)fields[1] + 1)]);
                    if (await update.ExecuteAsync())
                    {
                        return true;
                    }

                    continue;
                }
            }

            var id = job.Id.ToString();
            var insert = db.CreateTransaction();
            insert.AddCondition(waitingId is null ? Condition.KeyNotExists(open) : Condition.StringEqual(open, waitingId));
            _ = insert.StringSetAsync(open, id);
            _ = insert.HashSetAsync(Job(id), [new("payload", job.Serialize()), new("attempts", 0), new("replays", 0), new("device", job.DeviceId.ToString("N")), new("open", "1"), new("version", 1)]);
            _ = insert.SortedSetAddAsync(Due, id, dueAt.ToUnixTimeMilliseconds());
            if (await insert.ExecuteAsync())
            {
                return false;
            }

            if (round > 100)
            {
                throw new InvalidOperationException($"Could not queue a push for device {job.DeviceId}: the waiting job kept changing");
            }
        }
    }

    public async ValueTask<IReadOnlyList<PushJobLease>> ClaimAsync(DateTimeOffset now, int max, TimeSpan claimFor, CancellationToken cancellationToken)
    {
        var result = (RedisResult[])(await Db.ScriptEvaluateAsync(ClaimScript, [Due],
            [now.ToUnixTimeMilliseconds(), max, (now + claimFor).ToUnixTimeMilliseconds(), JobPrefix, OpenPrefix]))!;
        var leases = new List<PushJobLease>(result.Length / 4);
        for (var i = 0; i + 3 < result.Length; i += 4)
        {
            leases.Add(new PushJobLease((string)result[i]!, PushJob.Deserialize((byte[])result[i + 1]!), (int)result[i + 2], (int)result[i + 3]));
        }

        return leases;
    }

    public async ValueTask CompleteAsync(string queueId, CancellationToken cancellationToken)
    {
        var done = Db.CreateTransaction();
        _ = done.SortedSetRemoveAsync(Due, queueId);
        _ = done.KeyDeleteAsync(Job(queueId));
        await done.ExecuteAsync();
    }

    public async ValueTask RetryAsync(string queueId, int attempts, DateTimeOffset dueAt, string errorType, string error, CancellationToken cancellationToken)
    {
        var retry = Db.CreateTransaction();
        retry.AddCondition(Condition.KeyExists(Job(queueId)));
        _ = retry.HashSetAsync(Job(queueId), [new("attempts", attempts), new("errorType", errorType), new("error", error)]);
        _ = retry.SortedSetAddAsync(Due, queueId, dueAt.ToUnixTimeMilliseconds());
        await retry.ExecuteAsync();
    }

    public async ValueTask DeadLetterAsync(PushJobLease lease, int attempts, string errorType, string error, DateTimeOffset now, CancellationToken cancellationToken) =>
        await Db.ScriptEvaluateAsync(DeadLetterScript, [Due, Job(lease.QueueId), DeadSet, Dead(lease.QueueId)],
            [lease.QueueId, attempts, errorType, error, now.ToUnixTimeMilliseconds()]);

    public async ValueTask<long> CountAsync(CancellationToken cancellationToken) => await Db.SortedSetLengthAsync(Due);

    private sealed class DeadLetterKind(RedisPushQueue queue) : IDeadLetterKind
    {
        public string Kind => PushDeadLetters.Kind;

        public async Task<IReadOnlyList<DeadLetterRecord>> ListAsync(DeadLetterQuery query, CancellationToken cancellationToken)
        {
            var db = queue.Db;
            double start = double.PositiveInfinity;
            if (query.After is { } after && await db.SortedSetScoreAsync(queue.DeadSet, after) is { } score)
            {
                start = score;
            }

            var records = new List<DeadLetterRecord>();
            var passedAfter = query.After is null;
            long skip = 0;
            // Newest first by dead time, ties by id descending; pages of candidates until the page is full or the set ends.
            while (records.Count < query.Limit)
            {
                var batch = await db.SortedSetRangeByScoreWithScoresAsync(queue.DeadSet, start: double.NegativeInfinity, stop: start, order: Order.Descending, skip: skip, take: 200);
                if (batch.Length == 0)
                {
                    break;
                }

                skip += batch.Length;
                foreach (var entry in batch.OrderByDescending(e => e.Score).ThenByDescending(e => (string)e.Element!, StringComparer.Ordinal))
                {
                    var id = (string)entry.Element!;
                    if (!passedAfter)
                    {
                        passedAfter = entry.Score < start || string.CompareOrdinal(id, query.After) < 0;
                        if (!passedAfter)
                        {
                            continue;
                        }
                    }

                    if (await GetAsync(id, cancellationToken) is { } record && (query.ErrorType is null || record.ErrorType == query.ErrorType) && records.Count < query.Limit)
                    {
                        records.Add(record);
                    }
                }
            }

            return records;
        }

        public async Task<DeadLetterRecord?> GetAsync(string id, CancellationToken cancellationToken)
        {
            var h = await queue.Db.HashGetAsync(queue.Dead(id), ["payload", "attempts", "replays", "errorType", "error", "deadAt", "device"]);
            return h[0].IsNull
                ? null
                : new DeadLetterRecord(id, Kind, (string)h[3]!, (string)h[4]!, (int)h[1], (int)h[2], DateTimeOffset.FromUnixTimeMilliseconds((long)h[5]),
                    h[6].IsNullOrEmpty ? null : Guid.ParseExact((string)h[6]!, "N").ToString(), Encoding.UTF8.GetString((byte[])h[0]!));
        }

        public async Task<bool> ReplayAsync(string id, DateTimeOffset now, CancellationToken cancellationToken) =>
            (int)await queue.Db.ScriptEvaluateAsync(ReplayScript, [queue.DeadSet, queue.Dead(id), queue.Due, queue.Job(id)], [id, now.ToUnixTimeMilliseconds()]) == 1;

        public async Task<bool> DiscardAsync(string id, CancellationToken cancellationToken)
        {
            var db = queue.Db;
            var removed = await db.SortedSetRemoveAsync(queue.DeadSet, id);
            await db.KeyDeleteAsync(queue.Dead(id));
            return removed;
        }
    }
}
