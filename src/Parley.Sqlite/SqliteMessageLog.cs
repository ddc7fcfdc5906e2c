using System.Globalization;
using System.Threading.Channels;
using Microsoft.Data.Sqlite;
using Parley.Core.Messaging;
using Parley.Core.Partitioning;
using Parley.Core.Ports;
using Parley.Sqlite.Internal;
using Parley.Hosting;

namespace Parley.Sqlite;

/// <summary>
/// The embedded durable log: one SQLite file (WAL, synchronous=FULL) holding every partition. Appends are
/// group-committed: concurrent senders share one fsync. Each partition has exactly one consumer in this
/// process, which finishes (acks or dead-letters) a batch before it reads the next; so a read simply
/// returns the oldest unfinished entries, and whatever a failed or crashed run left behind comes back
/// first. The delivery count lives on disk, so a poison entry reaches the dead-letter table even if it
/// kills the process every time.
/// </summary>
public sealed class SqliteMessageLog : IMessageLog, IAsyncDisposable
{
    private const int StateReady = 0;
    private const int StateAcked = 1;
    private const int StateDead = 2;
    private const int MaxAppendBatch = 512;

    private readonly SqliteDatabase _db;
    private readonly LogOptions _options;
    private readonly TimeProvider _time;
    private readonly Channel<PendingAppend> _appends = Channel.CreateUnbounded<PendingAppend>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Task _appender;
    private readonly WakeupSignal[] _signals;
    private readonly ITimer _trimTimer;

    public SqliteMessageLog(string path, LogOptions options, TimeProvider? time = null)
    {
        _options = options;
        _time = time ?? TimeProvider.System;
        _db = new SqliteDatabase(path);
        _signals = Enumerable.Range(0, options.Partitions).Select(_ => new WakeupSignal()).ToArray();
        _appender = Task.Run(RunAppenderAsync);
        _trimTimer = _time.CreateTimer(_ => _ = TrimSafelyAsync(), null, TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(5));
    }

    public int PartitionCount => _options.Partitions;

    /// <summary>A log ready to use: constructed and migrated (for tools and tests; a host migrates in SqliteStartup).</summary>
    public static async Task<SqliteMessageLog> OpenAsync(string path, LogOptions options, TimeProvider? time = null, CancellationToken cancellationToken = default)
    {
        var log = new SqliteMessageLog(path, options, time);
        try
        {
            await log.MigrateAsync(cancellationToken);
            return log;
        }
        catch
        {
            await log.DisposeAsync();
            throw;
        }
    }

    /// <summary>Creates or upgrades the file and checks it was made for this partition count. Nothing else may run before it.</summary>
    public async Task MigrateAsync(CancellationToken cancellationToken)
    {
        await _db.MigrateAsync(SqliteMigrations.Log, cancellationToken);
        await CheckPartitionCountAsync(cancellationToken);
    }

    public async ValueTask<AppendResult> AppendAsync(MessageEnvelope envelope, CancellationToken cancellationToken)
    {
        var pending = new PendingAppend(envelope, envelope.Serialize(), Partitioner.PartitionOf(envelope.ConversationId, _options.Partitions));
        if (!_appends.Writer.TryWrite(pending))
        {
            throw new InvalidOperationException("The log is shutting down");
        }

        // A cancelled caller gets no ack; the append may still land, and a retry with the same key finds it.
        return await pending.Completion.Task.WaitAsync(cancellationToken);
    }

    public async ValueTask<IReadOnlyList<LogEntry>> ReadAsync(int partition, string consumer, int maxCount, TimeSpan wait, CancellationToken cancellationToken)
    {
        CheckPartition(partition);
        var waited = false;
        while (true)
        {
            var entries = await TakeAsync(partition, maxCount, cancellationToken);
            if (entries.Count > 0 || waited || wait <= TimeSpan.Zero)
            {
                return entries;
            }

            await _signals[partition].WaitAsync(wait, cancellationToken);
            waited = true;
        }
    }

    private async Task<IReadOnlyList<LogEntry>> TakeAsync(int partition, int maxCount, CancellationToken cancellationToken)
    {
        // Read first without the write gate: an idle partition costs one cheap query, not a write transaction.
        // Only this partition's single consumer changes its entries' delivery counts, so read-then-bump is safe.
        var entries = await _db.ReadAsync(async connection =>
        {
            var found = new List<LogEntry>();
            await using var select = SqliteDatabase.Command(connection, """
                SELECT id, payload, deliveries, appended_at FROM entries
                WHERE partition = $p AND state = 0 ORDER BY id LIMIT $n
                """);
            select.Parameters.AddWithValue("$p", partition);
            select.Parameters.AddWithValue("$n", maxCount);
            await using var reader = await select.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                found.Add(new LogEntry(
                    partition,
                    reader.GetInt64(0).ToString(CultureInfo.InvariantCulture),
                    new MessageEnvelopeBytes((byte[])reader.GetValue(1)),
                    reader.GetInt32(2) + 1,
                    DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(3))));
            }

            return found;
        }, cancellationToken);

        if (entries.Count == 0)
        {
            return entries;
        }

        // Not fsynced: a count lost to a power cut only gives the entry one more try, and a process crash keeps it (so a
        // message that crashes the process still reaches MaxDeliveries). Appends, which share this file, pay the fsync.
        await _db.WriteAsync(async (connection, transaction) =>
        {
            await using var update = SqliteDatabase.Command(connection, """
                UPDATE entries SET deliveries = deliveries + 1
                WHERE partition = $p AND state = 0 AND id BETWEEN $first AND $last
                """, transaction);
            update.Parameters.AddWithValue("$p", partition);
            update.Parameters.AddWithValue("$first", long.Parse(entries[0].EntryId, CultureInfo.InvariantCulture));
            update.Parameters.AddWithValue("$last", long.Parse(entries[^1].EntryId, CultureInfo.InvariantCulture));
            return await update.ExecuteNonQueryAsync(cancellationToken);
        }, SqliteCommit.SurvivesProcessCrash, cancellationToken);
        return entries;
    }

    public async ValueTask AckAsync(int partition, IReadOnlyList<LogEntry> entries, CancellationToken cancellationToken)
    {
        if (entries.Count == 0)
        {
            return;
        }

        // Not fsynced: an ack lost to a power cut replays entries the store already holds, which it answers as
        // duplicates (the same path as a crash between commit and ack).
        await _db.WriteAsync(async (connection, transaction) =>
        {
            await using var command = SqliteDatabase.Command(connection,
                "UPDATE entries SET state = 1 WHERE state = 0 AND partition = $p AND id IN (SELECT value FROM json_each($ids))", transaction);
            command.Parameters.AddWithValue("$p", partition);
            command.Parameters.AddWithValue("$ids", IdsJson(entries));
            return await command.ExecuteNonQueryAsync(cancellationToken);
        }, SqliteCommit.SurvivesProcessCrash, cancellationToken);
    }

    /// <summary>Pending entries are handed to whoever reads the partition next, so there is nothing to move.</summary>
    public ValueTask TakeOverAsync(int partition, string consumer, CancellationToken cancellationToken) => ValueTask.CompletedTask;

    /// <summary>One consumer per partition in one process: nothing can reclaim an entry, so there is nothing to keep.</summary>
    public ValueTask KeepAsync(int partition, string consumer, IReadOnlyList<LogEntry> entries, CancellationToken cancellationToken) => ValueTask.CompletedTask;

    public async ValueTask<LogEntry> RecordFailedAttemptAsync(LogEntry entry, CancellationToken cancellationToken)
    {
        var deliveries = await _db.WriteAsync(async (connection, transaction) =>
        {
            await using var command = SqliteDatabase.Command(connection,
                "UPDATE entries SET deliveries = deliveries + 1 WHERE id = $id RETURNING deliveries", transaction);
            command.Parameters.AddWithValue("$id", long.Parse(entry.EntryId, CultureInfo.InvariantCulture));
            return Convert.ToInt32(await command.ExecuteScalarAsync(cancellationToken), CultureInfo.InvariantCulture);
        }, cancellationToken);
        return entry with { DeliveryCount = deliveries };
    }

    public async ValueTask DeadLetterAsync(LogEntry entry, string errorType, string errorMessage, CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        await _db.WriteAsync(async (connection, transaction) =>
        {
            var id = long.Parse(entry.EntryId, CultureInfo.InvariantCulture);
            await using (var insert = SqliteDatabase.Command(connection, """
                INSERT INTO dead_letters (entry_id, partition, message_id, error_type, error_message, attempts, dead_at, payload, replays)
                SELECT id, partition, message_id, $type, $message, $attempts, $now, payload, replays FROM entries WHERE id = $id
                ON CONFLICT (entry_id) DO NOTHING
                """, transaction))
            {
                insert.Parameters.AddWithValue("$type", errorType);
                insert.Parameters.AddWithValue("$message", errorMessage);
                insert.Parameters.AddWithValue("$attempts", entry.DeliveryCount);
                insert.Parameters.AddWithValue("$now", now);
                insert.Parameters.AddWithValue("$id", id);
                await insert.ExecuteNonQueryAsync(cancellationToken);
            }

            await using var update = SqliteDatabase.Command(connection, "UPDATE entries SET state = 2 WHERE id = $id", transaction);
            update.Parameters.AddWithValue("$id", id);
            return await update.ExecuteNonQueryAsync(cancellationToken);
        }, cancellationToken);
    }

    public async ValueTask<IReadOnlyList<PartitionLag>> GetLagAsync(CancellationToken cancellationToken) =>
        await _db.ReadAsync<IReadOnlyList<PartitionLag>>(async connection =>
        {
            var lags = Enumerable.Range(0, _options.Partitions).Select(p => new PartitionLag(p, 0, null)).ToArray();
            await using var command = SqliteDatabase.Command(connection,
                "SELECT partition, COUNT(*), MIN(appended_at) FROM entries WHERE state = 0 GROUP BY partition");
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                var partition = reader.GetInt32(0);
                if (partition < lags.Length)
                {
                    lags[partition] = new PartitionLag(partition, reader.GetInt64(1), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(2)));
                }
            }

            return lags;
        }, cancellationToken);

    public async ValueTask<IReadOnlyList<DeadLetter>> ListDeadLettersAsync(int limit, CancellationToken cancellationToken) =>
        await _db.ReadAsync<IReadOnlyList<DeadLetter>>(async connection =>
        {
            var result = new List<DeadLetter>();
            await using var command = SqliteDatabase.Command(connection, """
                SELECT partition, entry_id, message_id, error_type, error_message, attempts, dead_at, payload
                FROM dead_letters ORDER BY dead_at DESC, entry_id DESC LIMIT $n
                """);
            command.Parameters.AddWithValue("$n", limit);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                result.Add(new DeadLetter(
                    reader.GetInt32(0),
                    reader.GetInt64(1).ToString(CultureInfo.InvariantCulture),
                    Guid.Parse(reader.GetString(2)),
                    reader.GetString(3),
                    reader.GetString(4),
                    reader.GetInt32(5),
                    DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(6)),
                    (byte[])reader.GetValue(7)));
            }

            return result;
        }, cancellationToken);

    public IDeadLetterKind DeadLetters => new DeadLetterKind(this);

    /// <summary>
    /// The log's dead letters for the admin API (E2). A replay puts the entry back as it was (same id, so its
    /// partition's consumer takes it next; its delivery count starts again) and wakes that consumer.
    /// </summary>
    private sealed class DeadLetterKind(SqliteMessageLog log) : IDeadLetterKind
    {
        private const string Columns = "entry_id, partition, message_id, error_type, error_message, attempts, dead_at, payload, replays";

        public string Kind => LogDeadLetters.Kind;

        public Task<IReadOnlyList<DeadLetterRecord>> ListAsync(DeadLetterQuery query, CancellationToken cancellationToken) =>
            log._db.ReadAsync<IReadOnlyList<DeadLetterRecord>>(async connection =>
            {
                await using var command = SqliteDatabase.Command(connection, $"""
                    SELECT {Columns} FROM dead_letters
                    WHERE ($type IS NULL OR error_type = $type)
                      AND ($after IS NULL OR (dead_at, entry_id) < (SELECT dead_at, entry_id FROM dead_letters WHERE entry_id = $after))
                    ORDER BY dead_at DESC, entry_id DESC LIMIT $n
                    """);
                command.Parameters.AddWithValue("$type", (object?)query.ErrorType ?? DBNull.Value);
                command.Parameters.AddWithValue("$after", long.TryParse(query.After, NumberStyles.None, CultureInfo.InvariantCulture, out var after) ? after : DBNull.Value);
                command.Parameters.AddWithValue("$n", query.Limit);
                return await ReadAsync(command, cancellationToken);
            }, cancellationToken);

        public Task<DeadLetterRecord?> GetAsync(string id, CancellationToken cancellationToken) =>
            long.TryParse(id, NumberStyles.None, CultureInfo.InvariantCulture, out var entryId)
                ? log._db.ReadAsync(async connection =>
                {
                    await using var command = SqliteDatabase.Command(connection, $"SELECT {Columns} FROM dead_letters WHERE entry_id = $id");
                    command.Parameters.AddWithValue("$id", entryId);
                    return (await ReadAsync(command, cancellationToken)).SingleOrDefault();
                }, cancellationToken)
                : Task.FromResult<DeadLetterRecord?>(null);

        public async Task<bool> ReplayAsync(string id, DateTimeOffset now, CancellationToken cancellationToken)
        {
            if (!long.TryParse(id, NumberStyles.None, CultureInfo.InvariantCulture, out var entryId))
            {
                return false;
            }

            var partition = await log._db.WriteAsync(async (connection, transaction) =>
            {
                await using var delete = SqliteDatabase.Command(connection, "DELETE FROM dead_letters WHERE entry_id = $id RETURNING partition", transaction);
                delete.Parameters.AddWithValue("$id", entryId);
                if (await delete.ExecuteScalarAsync(cancellationToken) is not long p)
                {
                    return -1;
                }

                await using var revive = SqliteDatabase.Command(connection, "UPDATE entries SET state = 0, deliveries = 0, replays = replays + 1 WHERE id = $id AND state = 2", transaction);
                revive.Parameters.AddWithValue("$id", entryId);
                return await revive.ExecuteNonQueryAsync(cancellationToken) == 1 ? (int)p : -1;
            }, cancellationToken);
            if (partition < 0)
            {
                return false;
            }

            if (partition < log._signals.Length)
            {
                log._signals[partition].Signal();
            }

            return true;
        }

        public Task<bool> DiscardAsync(string id, CancellationToken cancellationToken) =>
            long.TryParse(id, NumberStyles.None, CultureInfo.InvariantCulture, out var entryId)
                ? log._db.WriteAsync(async (connection, transaction) =>
                {
                    await using var delete = SqliteDatabase.Command(connection, "DELETE FROM dead_letters WHERE entry_id = $id", transaction);
                    delete.Parameters.AddWithValue("$id", entryId);
                    // The entry stays dead-lettered (state 2), so the message still reads as failed, never pending.
                    return await delete.ExecuteNonQueryAsync(cancellationToken) == 1;
                }, cancellationToken)
                : Task.FromResult(false);

        private static async Task<IReadOnlyList<DeadLetterRecord>> ReadAsync(SqliteCommand command, CancellationToken cancellationToken)
        {
            var result = new List<DeadLetterRecord>();
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                result.Add(LogDeadLetters.Record(
                    reader.GetInt64(0).ToString(CultureInfo.InvariantCulture), reader.GetInt32(1), reader.GetString(2), reader.GetString(3), reader.GetString(4),
                    reader.GetInt32(5), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(6)), (byte[])reader.GetValue(7), reader.GetInt32(8)));
            }

            return result;
        }
    }

    public async ValueTask<LoggedMessage?> FindAsync(Guid messageId, CancellationToken cancellationToken) =>
        await _db.ReadAsync(async connection =>
        {
            await using var command = SqliteDatabase.Command(connection, """
                SELECT conversation_id, sender_id, appended_at, state FROM entries
                WHERE message_id = $m AND state IN (0, 2) ORDER BY id LIMIT 1
                """);
            command.Parameters.AddWithValue("$m", messageId.ToString());
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            return await reader.ReadAsync(cancellationToken)
                ? new LoggedMessage(
                    messageId,
                    Guid.Parse(reader.GetString(0)),
                    Guid.Parse(reader.GetString(1)),
                    DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(2)),
                    reader.GetInt32(3) == StateDead ? LoggedMessageState.DeadLettered : LoggedMessageState.Pending)
                : null;
        }, cancellationToken);

    /// <summary>Deletes acknowledged entries older than the idempotency window; pending and dead ones stay.</summary>
    public Task<int> TrimAsync(CancellationToken cancellationToken)
    {
        var cutoff = (_time.GetUtcNow() - _options.IdempotencyWindow).ToUnixTimeMilliseconds();
        return _db.WriteAsync(async (connection, transaction) =>
        {
            await using var command = SqliteDatabase.Command(connection, "DELETE FROM entries WHERE state = 1 AND appended_at < $cutoff", transaction);
            command.Parameters.AddWithValue("$cutoff", cutoff);
            return await command.ExecuteNonQueryAsync(cancellationToken);
        }, cancellationToken);
    }

    private async Task TrimSafelyAsync()
    {
        try
        {
            await TrimAsync(CancellationToken.None);
        }
        catch (Exception)
        {
            // Trimming is housekeeping: a failure only delays it to the next tick.
        }
    }

    private async Task RunAppenderAsync()
    {
        var batch = new List<PendingAppend>(MaxAppendBatch);
        while (await _appends.Reader.WaitToReadAsync())
        {
            batch.Clear();
            while (batch.Count < MaxAppendBatch && _appends.Reader.TryRead(out var item))
            {
                batch.Add(item);
            }

            try
            {
                var results = await _db.WriteAsync((connection, transaction) => AppendBatchAsync(connection, transaction, batch), CancellationToken.None);
                for (var i = 0; i < batch.Count; i++)
                {
                    batch[i].Completion.TrySetResult(results[i]);
                }

                foreach (var partition in batch.Select(b => b.Partition).Distinct())
                {
                    Signal(partition);
                }
            }
            catch (Exception ex)
            {
                foreach (var item in batch)
                {
                    item.Completion.TrySetException(ex);
                }
            }
        }
    }

    private static async Task<AppendResult[]> AppendBatchAsync(SqliteConnection connection, SqliteTransaction transaction, List<PendingAppend> batch)
    {
        var results = new AppendResult[batch.Count];
        await using var insert = SqliteDatabase.Command(connection, """
            INSERT INTO entries (partition, message_id, conversation_id, sender_id, correlation_id, idempotency_key, payload, appended_at)
            VALUES ($p, $m, $c, $s, $corr, $k, $payload, $at)
            ON CONFLICT (idempotency_key) DO NOTHING
            RETURNING id
            """, transaction);
        var p = insert.Parameters.Add("$p", SqliteType.Integer);
        var m = insert.Parameters.Add("$m", SqliteType.Text);
        var c = insert.Parameters.Add("$c", SqliteType.Text);
        var s = insert.Parameters.Add("$s", SqliteType.Text);
        var corr = insert.Parameters.Add("$corr", SqliteType.Text);
        var k = insert.Parameters.Add("$k", SqliteType.Text);
        var payload = insert.Parameters.Add("$payload", SqliteType.Blob);
        var at = insert.Parameters.Add("$at", SqliteType.Integer);
        await using var existing = SqliteDatabase.Command(connection,
            "SELECT message_id, correlation_id, appended_at, partition FROM entries WHERE idempotency_key = $k", transaction);
        var existingKey = existing.Parameters.Add("$k", SqliteType.Text);

        for (var i = 0; i < batch.Count; i++)
        {
            var e = batch[i].Envelope;
            p.Value = batch[i].Partition;
            m.Value = e.MessageId.ToString();
            c.Value = e.ConversationId.ToString();
            s.Value = e.SenderId.ToString();
            corr.Value = e.CorrelationId.ToString();
            k.Value = e.IdempotencyKey;
            payload.Value = batch[i].Payload;
            at.Value = e.AcceptedAt.ToUnixTimeMilliseconds();
            if (await insert.ExecuteScalarAsync() is not null)
            {
                results[i] = new AppendResult(e.MessageId, e.CorrelationId, e.AcceptedAt, batch[i].Partition, Duplicate: false);
                continue;
            }

            existingKey.Value = e.IdempotencyKey;
            await using var reader = await existing.ExecuteReaderAsync();
            await reader.ReadAsync();
            results[i] = new AppendResult(
                Guid.Parse(reader.GetString(0)),
                Guid.Parse(reader.GetString(1)),
                DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(2)),
                reader.GetInt32(3),
                Duplicate: true);
        }

        return results;
    }

    private void Signal(int partition) => _signals[partition].Signal();

    private void CheckPartition(int partition) =>
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)partition, (uint)_options.Partitions, nameof(partition));

    private async Task CheckPartitionCountAsync(CancellationToken cancellationToken)
    {
        var stored = await _db.WriteAsync(async (connection, transaction) =>
        {
            await using var command = SqliteDatabase.Command(connection, """
                INSERT INTO meta (key, value) VALUES ('partitions', $n) ON CONFLICT (key) DO NOTHING;
                SELECT value FROM meta WHERE key = 'partitions';
                """, transaction);
            command.Parameters.AddWithValue("$n", _options.Partitions.ToString(CultureInfo.InvariantCulture));
            return int.Parse((string)(await command.ExecuteScalarAsync(cancellationToken))!, CultureInfo.InvariantCulture);
        }, cancellationToken);
        if (stored != _options.Partitions)
        {
            throw new InvalidOperationException(
                $"{LogOptions.Section}:Partitions is {_options.Partitions} but the log at {_db.Path} was created with {stored} partitions. " +
                "Changing it would reorder conversations; drain the log and start with a new data directory to change it.");
        }
    }

    private static string IdsJson(IReadOnlyList<LogEntry> entries) =>
        SqliteRows.Int64sJson(entries.Select(e => long.Parse(e.EntryId, CultureInfo.InvariantCulture)));

    public async ValueTask DisposeAsync()
    {
        _appends.Writer.TryComplete();
        await _appender;
        await _trimTimer.DisposeAsync();
        foreach (var signal in _signals)
        {
            signal.Dispose();
        }

        _db.Dispose();
    }

    private sealed record PendingAppend(MessageEnvelope Envelope, byte[] Payload, int Partition)
    {
        public TaskCompletionSource<AppendResult> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
