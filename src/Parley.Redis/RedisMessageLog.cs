using System.Globalization;
using Parley.Core.Messaging;
using Parley.Core.Partitioning;
using Parley.Core.Ports;
using StackExchange.Redis;
using Parley.Hosting;

namespace Parley.Redis;

/// <summary>
/// The production log on Redis Streams: one stream per partition read through one consumer group.
/// Appends are a script (idempotency key + XADD + message index, atomically); an entry is XACKed and
/// XDELed together once finished, so a partition stream holds exactly its unfinished entries and its
/// length is its lag. A consumer takes back its own pending entries first (after a crash, a failed read or a
/// reconnect), then entries another consumer left idle past <see cref="RedisOptions.ReclaimIdle"/>, then new ones.
/// Idle consumers
/// wait on a pub/sub wake-up rather than a blocking XREADGROUP, which StackExchange.Redis cannot issue
/// without stalling the shared connection.
/// </summary>
public sealed class RedisMessageLog : IMessageLog, IAsyncDisposable
{
    private const string AppendScript = """
        local existing = redis.call('GET', KEYS[1])
        if existing then return {0, existing} end
        local id = redis.call('XADD', KEYS[2], '*', 'p', ARGV[3])
        redis.call('SET', KEYS[1], ARGV[1] .. '|' .. id, 'PX', ARGV[2])
        redis.call('SET', KEYS[3], ARGV[4], 'PX', ARGV[2])
        redis.call('PUBLISH', KEYS[4], '1')
        return {1, id}
        """;

    private const string AckScript = """
        local n = redis.call('XACK', KEYS[1], ARGV[1], unpack(ARGV, 2))
        redis.call('XDEL', KEYS[1], unpack(ARGV, 2))
        for i = 2, #KEYS do redis.call('DEL', KEYS[i]) end
        return n
        """;

    // A replayed entry carries its replay count ('r'); its next dead letter keeps it.
    private const string DeadLetterScript = """
        local replays = '0'
        local current = redis.call('XRANGE', KEYS[1], ARGV[2], ARGV[2])
        if #current > 0 then
          local fields = current[1][2]
          for i = 1, #fields, 2 do if fields[i] == 'r' then replays = fields[i + 1] end end
        end
        redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[3], '*',
            'partition', ARGV[4], 'entry', ARGV[2], 'message', ARGV[5], 'type', ARGV[6], 'error', ARGV[7],
            'attempts', ARGV[8], 'at', ARGV[9], 'p', ARGV[10], 'r', replays)
        local state = redis.call('GET', KEYS[3])
        if state then redis.call('SET', KEYS[3], 'D' .. string.sub(state, 2), 'KEEPTTL') end
        redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
        redis.call('XDEL', KEYS[1], ARGV[2])
        return 1
        """;

    private readonly RedisConnection _connection;
    private readonly bool _ownsConnection;
    private readonly RedisOptions _redisOptions;
    private readonly LogOptions _options;
    private readonly TimeProvider _time;
    private readonly WakeupSignal[] _signals;

    /// <summary>Per reader: what it was handed and has not finished, and when it last looked for others' idle work.</summary>
    private readonly System.Collections.Concurrent.ConcurrentDictionary<(int Partition, string Consumer), ReaderState> _readers = new();

    private sealed class ReaderState
    {
        public readonly HashSet<string> Unfinished = new(StringComparer.Ordinal);
        public bool CheckOwnPending = true;
        public DateTimeOffset NextAutoClaim = DateTimeOffset.MinValue;
    }

    /// <summary>
    /// The log on a connection that may not be connected yet (no I/O here). <see cref="InitializeAsync"/> runs once it
    /// is, before the first append or read (<see cref="RedisStarter"/> does both as the host starts).
    /// </summary>
    public RedisMessageLog(RedisConnection connection, RedisOptions redisOptions, LogOptions options, TimeProvider? time = null)
        : this(connection, redisOptions, options, time ?? TimeProvider.System, ownsConnection: false)
    {
    }

    private RedisMessageLog(RedisConnection connection, RedisOptions redisOptions, LogOptions options, TimeProvider time, bool ownsConnection)
    {
        _connection = connection;
        _ownsConnection = ownsConnection;
        _redisOptions = redisOptions;
        _options = options;
        _time = time;
        _signals = Enumerable.Range(0, options.Partitions).Select(_ => new WakeupSignal()).ToArray();

        // A read in flight when the connection dropped may have been executed by Redis (the entries became this
        // consumer's pending ones) without the reply ever arriving; with appendfsync always they survive a Redis
        // restart too. Reading ">" first would store newer entries before them, so every reader looks at its own
        // pending list again before it takes anything new.
        connection.OnConnected(redis =>
        {
            redis.ConnectionFailed += (_, _) => RecheckOwnPending();
            redis.ConnectionRestored += (_, _) => RecheckOwnPending();
        });
    }

    private IDatabase Db => _connection.Multiplexer.GetDatabase();

    private void RecheckOwnPending()
    {
        foreach (var reader in _readers.Values)
        {
            lock (reader)
            {
                reader.CheckOwnPending = true;
            }
        }
    }

    /// <summary>Connects, checks the partition count against what the log was created with, and creates the consumer group.</summary>
    public static async Task<RedisMessageLog> ConnectAsync(RedisOptions redisOptions, LogOptions options, TimeProvider? time = null)
    {
        var connection = new RedisConnection(redisOptions);
        await connection.ConnectAsync(CancellationToken.None);
        var log = new RedisMessageLog(connection, redisOptions, options, time ?? TimeProvider.System, ownsConnection: true);
        await log.InitializeAsync();
        return log;
    }

    public int PartitionCount => _options.Partitions;

    private string Prefix => _redisOptions.KeyPrefix;

    /// <summary>The log's connection, shared with the realtime bus, presence and leases (one multiplexer per node).</summary>
    public IConnectionMultiplexer Connection => _connection.Multiplexer;

    private RedisKey Stream(int partition) => $"{Prefix}:log:{partition}";

    private RedisKey DeadLetterStream => $"{Prefix}:dlq";

    private RedisKey IdempotencyKey(string key) => $"{Prefix}:idem:{key}";

    private RedisKey MessageKey(Guid messageId) => $"{Prefix}:msg:{messageId:N}";

    private RedisChannel Wakeup(int partition) => RedisChannel.Literal($"{Prefix}:appended:{partition}");

    /// <summary>Checks the partition count against what the log was created with and creates the consumer groups.</summary>
    public async Task InitializeAsync()
    {
        RedisKey meta = $"{Prefix}:meta:partitions";
        await Db.StringSetAsync(meta, _options.Partitions, when: When.NotExists);
        var stored = (int)await Db.StringGetAsync(meta);
        if (stored != _options.Partitions)
        {
            throw new InvalidOperationException(
                $"{LogOptions.Section}:Partitions is {_options.Partitions} but the Redis log '{Prefix}' was created with {stored} partitions. " +
                "Changing it would reorder conversations; drain the log and use a new Parley:Redis:KeyPrefix to change it.");
        }

        var subscriber = _connection.Multiplexer.GetSubscriber();
        for (var p = 0; p < _options.Partitions; p++)
        {
            try
            {
                await Db.StreamCreateConsumerGroupAsync(Stream(p), _redisOptions.ConsumerGroup, StreamPosition.Beginning, createStream: true);
            }
            catch (RedisServerException ex) when (ex.Message.StartsWith("BUSYGROUP", StringComparison.Ordinal))
            {
                // The group exists: another node (or an earlier run) created it.
            }

            var partition = p;
            await subscriber.SubscribeAsync(Wakeup(p), (_, _) => Signal(partition));
        }
    }

    public async ValueTask<AppendResult> AppendAsync(MessageEnvelope envelope, CancellationToken cancellationToken)
    {
        var partition = Partitioner.PartitionOf(envelope.ConversationId, _options.Partitions);
        var acceptedMs = envelope.AcceptedAt.ToUnixTimeMilliseconds();
        var ack = string.Join('|', envelope.MessageId.ToString("N"), envelope.CorrelationId.ToString("N"), acceptedMs.ToString(CultureInfo.InvariantCulture), partition.ToString(CultureInfo.InvariantCulture));
        var index = string.Join('|', "P", envelope.ConversationId.ToString("N"), envelope.SenderId.ToString("N"), acceptedMs.ToString(CultureInfo.InvariantCulture));
        var appendDb = _connection.AppendMultiplexer?.GetDatabase() ?? Db;
        // Bounded, so a send during a Redis outage fails (503) instead of waiting out the reconnect. A timed-out
        // append may still reach Redis once it is back; the client's retry with the same clientMessageId then
        // finds it by its idempotency key instead of appending it again.
        var result = (RedisResult[])(await appendDb.ScriptEvaluateAsync(AppendScript,
            [IdempotencyKey(envelope.IdempotencyKey), Stream(partition), MessageKey(envelope.MessageId), Prefix + ":appended:" + partition],
            [ack, (long)_options.IdempotencyWindow.TotalMilliseconds, envelope.Serialize(), index])
            .WaitAsync(_redisOptions.AppendTimeout, _time, cancellationToken))!;

        if (_redisOptions.WaitReplicas > 0)
        {
            // Also for a duplicate: its first append may be the one that was never replicated.
            var replicated = (long)await appendDb.ExecuteAsync("WAIT", _redisOptions.WaitReplicas, (long)_redisOptions.WaitTimeout.TotalMilliseconds)
                .WaitAsync(_redisOptions.WaitTimeout + _redisOptions.AppendTimeout, _time, cancellationToken);
            if (replicated < _redisOptions.WaitReplicas)
            {
                throw new RedisException($"The append reached {replicated} of {_redisOptions.WaitReplicas} replicas within {_redisOptions.WaitTimeout} ({RedisOptions.Section}:WaitReplicas)");
            }
        }

        if ((int)result[0] == 1)
        {
            return new AppendResult(envelope.MessageId, envelope.CorrelationId, envelope.AcceptedAt, partition, Duplicate: false);
        }

        var parts = ((string)result[1]!).Split('|');
        return new AppendResult(Guid.ParseExact(parts[0], "N"), Guid.ParseExact(parts[1], "N"),
            DateTimeOffset.FromUnixTimeMilliseconds(long.Parse(parts[2], CultureInfo.InvariantCulture)), int.Parse(parts[3], CultureInfo.InvariantCulture), Duplicate: true);
    }

    public async ValueTask<IReadOnlyList<LogEntry>> ReadAsync(int partition, string consumer, int maxCount, TimeSpan wait, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)partition, (uint)_options.Partitions, nameof(partition));
        var deadline = _time.GetUtcNow() + wait;
        while (true)
        {
            var entries = await TakeOrRecheckAsync(partition, consumer, maxCount);
            var remaining = deadline - _time.GetUtcNow();
            if (entries.Count > 0 || remaining <= TimeSpan.Zero)
            {
                return entries;
            }

            // Woken by the append script's PUBLISH; the short cap covers a wake-up lost while reconnecting.
            await _signals[partition].WaitAsync(remaining < TimeSpan.FromMilliseconds(500) ? remaining : TimeSpan.FromMilliseconds(500), cancellationToken);
        }
    }

    private async Task<IReadOnlyList<LogEntry>> TakeOrRecheckAsync(int partition, string consumer, int maxCount)
    {
        try
        {
            return await TakeAsync(partition, consumer, maxCount);
        }
        catch (Exception)
        {
            // A read that failed on the client side (timeout, dropped connection) may still have handed entries to
            // this consumer on the server: the next read starts from its own pending list, not from ">".
            var reader = _readers.GetOrAdd((partition, consumer), _ => new ReaderState());
            lock (reader)
            {
                reader.CheckOwnPending = true;
            }

            throw;
        }
    }

    private async Task<IReadOnlyList<LogEntry>> TakeAsync(int partition, string consumer, int maxCount)
    {
        var stream = Stream(partition);
        var group = _redisOptions.ConsumerGroup;
        var reader = _readers.GetOrAdd((partition, consumer), _ => new ReaderState());
        IReadOnlyList<LogEntry> taken;
        lock (reader)
        {
            // Something handed out last time was neither acked nor dead-lettered (a failed or held batch): it is
            // still this consumer's pending work and comes first.
            reader.CheckOwnPending |= reader.Unfinished.Count > 0;
            reader.Unfinished.Clear();
        }

        // 1. What this consumer was handed before and never finished (a crash, a failed iteration, an outage hold).
        //    Asked only when that can be the case, so a healthy loop costs one round trip per batch, not three.
        if (reader.CheckOwnPending)
        {
            var own = await Db.StreamPendingMessagesAsync(stream, group, maxCount, consumer);
            if (own.Length > 0)
            {
                var claimed = await Db.StreamClaimAsync(stream, group, consumer, 0, own.Select(p => p.MessageId).ToArray());
                return Handed(reader, await WithCountsAsync(partition, consumer, claimed));
            }

            reader.CheckOwnPending = false;
        }

        // 2. What another consumer left idle too long: a dead node's work. Looked for every ReclaimIdle/4 (and again
        //    at once while it keeps finding some), since nothing can qualify sooner than ReclaimIdle anyway.
        var now = _time.GetUtcNow();
        if (now >= reader.NextAutoClaim)
        {
            var auto = await Db.StreamAutoClaimAsync(stream, group, consumer, (long)_redisOptions.ReclaimIdle.TotalMilliseconds, "0-0", maxCount);
            if (auto.ClaimedEntries.Length > 0)
            {
                taken = await WithCountsAsync(partition, consumer, auto.ClaimedEntries);
                if (taken.Count > 0)
                {
                    return Handed(reader, taken);
                }
            }

            reader.NextAutoClaim = now + (_redisOptions.ReclaimIdle / 4);
        }

        // 3. New entries.
        var fresh = await Db.StreamReadGroupAsync(stream, group, consumer, StreamPosition.NewMessages, maxCount);
        return Handed(reader, fresh.Where(e => !e.IsNull).Select(e => ToEntry(partition, e, 1)).ToList());
    }

    private static IReadOnlyList<LogEntry> Handed(ReaderState reader, IReadOnlyList<LogEntry> entries)
    {
        lock (reader)
        {
            foreach (var entry in entries)
            {
                reader.Unfinished.Add(entry.EntryId);
            }
        }

        return entries;
    }

    private void Finished(int partition, IEnumerable<string> entryIds)
    {
        foreach (var ((p, _), reader) in _readers)
        {
            if (p != partition)
            {
                continue;
            }

            lock (reader)
            {
                reader.Unfinished.ExceptWith(entryIds);
            }
        }
    }

    private async Task<IReadOnlyList<LogEntry>> WithCountsAsync(int partition, string consumer, StreamEntry[] claimed)
    {
        var live = claimed.Where(e => !e.IsNull).ToList();
        if (live.Count == 0)
        {
            return [];
        }

        var pending = await Db.StreamPendingMessagesAsync(Stream(partition), _redisOptions.ConsumerGroup, live.Count, consumer, live[0].Id, live[^1].Id);
        var counts = pending.ToDictionary(p => (string)p.MessageId!, p => p.DeliveryCount, StringComparer.Ordinal);
        return live.Select(e => ToEntry(partition, e, counts.GetValueOrDefault((string)e.Id!, 1))).ToList();
    }

    private static LogEntry ToEntry(int partition, StreamEntry entry, int deliveries)
    {
        var id = (string)entry.Id!;
        var ms = long.Parse(id.AsSpan(0, id.IndexOf('-', StringComparison.Ordinal)), CultureInfo.InvariantCulture);
        return new LogEntry(partition, id, new MessageEnvelopeBytes((byte[])entry["p"]!), deliveries, DateTimeOffset.FromUnixTimeMilliseconds(ms));
    }

    public async ValueTask AckAsync(int partition, IReadOnlyList<LogEntry> entries, CancellationToken cancellationToken)
    {
        if (entries.Count == 0)
        {
            return;
        }

        var keys = new List<RedisKey> { Stream(partition) };
        foreach (var entry in entries)
        {
            try
            {
                keys.Add(MessageKey(entry.Payload.Decode().MessageId));
            }
            catch (System.Text.Json.JsonException)
            {
                // An undecodable payload has no index entry to remove.
            }
        }

        var values = entries.Select(e => (RedisValue)e.EntryId).Prepend(_redisOptions.ConsumerGroup).ToArray();
        await Db.ScriptEvaluateAsync(AckScript, [.. keys], values);
        Finished(partition, entries.Select(e => e.EntryId));
    }

    /// <summary>
    /// XAUTOCLAIM … 0 JUSTID over the whole pending list: every entry an earlier lease holder was handed becomes this
    /// consumer's, its delivery count untouched (the holder's read counted it), and the next read starts with them.
    /// </summary>
    public async ValueTask TakeOverAsync(int partition, string consumer, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)partition, (uint)_options.Partitions, nameof(partition));
        var cursor = (RedisValue)"0-0";
        do
        {
            var claimed = await Db.StreamAutoClaimIdsOnlyAsync(Stream(partition), _redisOptions.ConsumerGroup, consumer, 0, cursor, 1000);
            cursor = claimed.NextStartId;
        }
        while (cursor != "0-0");

        var reader = _readers.GetOrAdd((partition, consumer), _ => new ReaderState());
        lock (reader)
        {
            reader.CheckOwnPending = true;
        }
    }

    /// <summary>XCLAIM … JUSTID to itself: resets the entries' idle time without touching their delivery count.</summary>
    public async ValueTask KeepAsync(int partition, string consumer, IReadOnlyList<LogEntry> entries, CancellationToken cancellationToken)
    {
        if (entries.Count > 0)
        {
            await Db.StreamClaimIdsOnlyAsync(Stream(partition), _redisOptions.ConsumerGroup, consumer, 0, entries.Select(e => (RedisValue)e.EntryId).ToArray());
        }
    }

    public async ValueTask<LogEntry> RecordFailedAttemptAsync(LogEntry entry, CancellationToken cancellationToken)
    {
        var stream = Stream(entry.Partition);
        var pending = await Db.StreamPendingMessagesAsync(stream, _redisOptions.ConsumerGroup, 1, RedisValue.Null, entry.EntryId, entry.EntryId);
        var owner = pending.Length > 0 ? pending[0].ConsumerName : (RedisValue)"unknown";
        // XCLAIM by the owner itself, setting the count explicitly: the entry stays where it is, the attempt is on disk.
        await Db.ExecuteAsync("XCLAIM", stream, _redisOptions.ConsumerGroup, owner, 0, entry.EntryId, "RETRYCOUNT", entry.DeliveryCount + 1, "JUSTID");
        return entry with { DeliveryCount = entry.DeliveryCount + 1 };
    }

    public async ValueTask DeadLetterAsync(LogEntry entry, string errorType, string errorMessage, CancellationToken cancellationToken)
    {
        Guid? messageId = null;
        try
        {
            messageId = entry.Payload.Decode().MessageId;
        }
        catch (System.Text.Json.JsonException)
        {
            // Kept with an empty message id; the payload is stored as it was.
        }

        await Db.ScriptEvaluateAsync(DeadLetterScript,
            [Stream(entry.Partition), DeadLetterStream, messageId is null ? (RedisKey)$"{Prefix}:msg:none" : MessageKey(messageId.Value)],
            [
                _redisOptions.ConsumerGroup, entry.EntryId, _redisOptions.DeadLetterMaxLength, entry.Partition,
                (messageId ?? Guid.Empty).ToString("N"), errorType, errorMessage, entry.DeliveryCount,
                _time.GetUtcNow().ToUnixTimeMilliseconds(), entry.Payload.Bytes,
            ]);
        Finished(entry.Partition, [entry.EntryId]);
    }

    public async ValueTask<IReadOnlyList<PartitionLag>> GetLagAsync(CancellationToken cancellationToken)
    {
        var lengths = Enumerable.Range(0, _options.Partitions).Select(p => Db.StreamLengthAsync(Stream(p))).ToArray();
        var firsts = Enumerable.Range(0, _options.Partitions).Select(p => Db.StreamRangeAsync(Stream(p), "-", "+", 1)).ToArray();
        await Task.WhenAll(lengths.Cast<Task>().Concat(firsts));
        return Enumerable.Range(0, _options.Partitions).Select(p =>
        {
            var first = firsts[p].Result;
            return new PartitionLag(p, lengths[p].Result, first.Length == 0 ? null : ToEntry(p, first[0], 0).AppendedAt);
        }).ToList();
    }

    public async ValueTask<IReadOnlyList<DeadLetter>> ListDeadLettersAsync(int limit, CancellationToken cancellationToken)
    {
        var entries = await Db.StreamRangeAsync(DeadLetterStream, "-", "+", limit, Order.Descending);
        return entries.Where(e => !e.IsNull).Select(e => new DeadLetter(
            (int)e["partition"],
            (string)e["entry"]!,
            Guid.ParseExact((string)e["message"]!, "N"),
            (string)e["type"]!,
            (string)e["error"]!,
            (int)e["attempts"],
            DateTimeOffset.FromUnixTimeMilliseconds((long)e["at"]),
            (byte[])e["p"]!)).ToList();
    }

    // KEYS: dead letters, the partition's stream, the message's state, the wake-up channel. ARGV: dead letter id.
    // Appends the payload again as a new entry (its delivery count starts again), marks the message pending, and
    // removes the dead letter, in one step: a second replay finds nothing.
    private const string ReplayScript = """
        local dead = redis.call('XRANGE', KEYS[1], ARGV[1], ARGV[1])
        if #dead == 0 then return 0 end
        local fields = dead[1][2]
        local payload, replays = nil, 0
        for i = 1, #fields, 2 do
          if fields[i] == 'p' then payload = fields[i + 1] end
          if fields[i] == 'r' then replays = tonumber(fields[i + 1]) end
        end
        redis.call('XADD', KEYS[2], '*', 'p', payload, 'r', tostring(replays + 1))
        local state = redis.call('GET', KEYS[3])
        if state then redis.call('SET', KEYS[3], 'P' .. string.sub(state, 2), 'KEEPTTL') end
        redis.call('XDEL', KEYS[1], ARGV[1])
        redis.call('PUBLISH', KEYS[4], '1')
        return 1
        """;

    public IDeadLetterKind DeadLetters => new DeadLetterKind(this);

    /// <summary>The log's dead letters for the admin API (E2), by their id in the dead-letter stream.</summary>
    private sealed class DeadLetterKind(RedisMessageLog log) : IDeadLetterKind
    {
        public string Kind => LogDeadLetters.Kind;

        public async Task<IReadOnlyList<DeadLetterRecord>> ListAsync(DeadLetterQuery query, CancellationToken cancellationToken)
        {
            var records = new List<DeadLetterRecord>();
            // Newest first, from just before the previous page's last id; filtered pages read on until full or done.
            var end = query.After is { } after ? $"({after}" : "+";
            while (records.Count < query.Limit)
            {
                var page = await log.Db.StreamRangeAsync(log.DeadLetterStream, "-", end, 200, Order.Descending);
                if (page.Length == 0)
                {
                    break;
                }

                records.AddRange(page.Where(e => !e.IsNull).Select(Record).Where(r => query.ErrorType is null || r.ErrorType == query.ErrorType).Take(query.Limit - records.Count));
                end = $"({page[^1].Id}";
            }

            return records;
        }

        public async Task<DeadLetterRecord?> GetAsync(string id, CancellationToken cancellationToken) =>
            IsStreamId(id) && await log.Db.StreamRangeAsync(log.DeadLetterStream, id, id, 1) is [var entry] && !entry.IsNull ? Record(entry) : null;

        public async Task<bool> ReplayAsync(string id, DateTimeOffset now, CancellationToken cancellationToken)
        {
            if (await GetAsync(id, cancellationToken) is null)
            {
                return false;
            }

            var entry = (await log.Db.StreamRangeAsync(log.DeadLetterStream, id, id, 1))[0];
            var partition = (int)entry["partition"];
            if (partition < 0 || partition >= log._options.Partitions)
            {
                return false;
            }

            var message = (string?)entry["message"] ?? "";
            RedisKey state = Guid.TryParseExact(message, "N", out var messageId) ? log.MessageKey(messageId) : $"{log.Prefix}:msg:none";
            return (int)await log.Db.ScriptEvaluateAsync(ReplayScript,
                [log.DeadLetterStream, log.Stream(partition), state, log.Prefix + ":appended:" + partition], [id]) == 1;
        }

        public async Task<bool> DiscardAsync(string id, CancellationToken cancellationToken) =>
            IsStreamId(id) && await log.Db.StreamDeleteAsync(log.DeadLetterStream, [id]) == 1;

        private static bool IsStreamId(string id) => id.Length is > 2 and < 42 && id.All(c => char.IsAsciiDigit(c) || c == '-') && id.Count(c => c == '-') == 1;

        private static DeadLetterRecord Record(StreamEntry e) => LogDeadLetters.Record(
            (string)e.Id!, (int)e["partition"], (string?)e["message"] ?? "", (string)e["type"]!, (string)e["error"]!, (int)e["attempts"],
            DateTimeOffset.FromUnixTimeMilliseconds((long)e["at"]), (byte[])e["p"]!, e["r"].IsNull ? 0 : (int)e["r"]);
    }

    public async ValueTask<LoggedMessage?> FindAsync(Guid messageId, CancellationToken cancellationToken)
    {
        var value = await Db.StringGetAsync(MessageKey(messageId));
        if (value.IsNull)
        {
            return null;
        }

        var parts = ((string)value!).Split('|');
        return new LoggedMessage(messageId, Guid.ParseExact(parts[1], "N"), Guid.ParseExact(parts[2], "N"),
            DateTimeOffset.FromUnixTimeMilliseconds(long.Parse(parts[3], CultureInfo.InvariantCulture)),
            parts[0] == "D" ? LoggedMessageState.DeadLettered : LoggedMessageState.Pending);
    }

    private void Signal(int partition) => _signals[partition].Signal();

    public async ValueTask DisposeAsync()
    {
        if (_ownsConnection)
        {
            await _connection.DisposeAsync();
        }

        foreach (var signal in _signals)
        {
            signal.Dispose();
        }
    }
}
