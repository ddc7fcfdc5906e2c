using System.Diagnostics;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using NpgsqlTypes;
using Parley.Core.Ports;

namespace Parley.Bench;

/// <summary>
/// `drain`: a backlog of accepted messages while nothing persists, then the time to persist all of it. An
/// ingress-only node (<c>Parley:DeliveryWorkers=false</c>) accepts --backlog messages into the log and stops; a
/// node with workers then starts on the same log and store, and the clock runs until every message is stored.
/// The baseline is the same number of same-shaped rows bulk-loaded straight into the same engine: binary COPY
/// into a copy of the messages table on PostgreSQL, batched prepared inserts on SQLite.
/// </summary>
public static class DrainScenario
{
    public static async Task<IReadOnlyList<StepResult>> RunAsync(BenchOptions options, Action<string> progress)
    {
        var data = Directory.CreateTempSubdirectory("parley-bench-drain-").FullName;
        try
        {
            List<(string Token, Guid Conversation)> targets;
            var accepted = Stopwatch.StartNew();
            await using (var ingress = await IngestScenario.StartParleyAsync(options, data, "--Parley:DeliveryWorkers=false"))
            {
                using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = options.Connections }) { Timeout = TimeSpan.FromSeconds(60) };
                progress($"ingress-only node on {ingress.Url}: accepting {options.Backlog:N0} messages into the log");
                targets = await IngestScenario.SetUpConversationsAsync(http, ingress.Url, options.Conversations);
                accepted.Restart();
                await AcceptBacklogAsync(http, ingress.Url, targets, options, progress);
                progress($"  backlog of {options.Backlog:N0} accepted in {accepted.Elapsed.TotalSeconds:F1} s; stopping the ingress-only node");
            }

            var clock = Stopwatch.StartNew();
            await using var worker = await IngestScenario.StartParleyAsync(options, data);
            var conversations = worker.App.Services.GetRequiredService<IConversationStore>();
            var log = worker.App.Services.GetRequiredService<IMessageLog>();
            long stored = 0;
            var lastReport = TimeSpan.Zero;
            var timeout = TimeSpan.FromSeconds(Math.Max(60, options.Backlog / 500.0));
            while (stored < options.Backlog && clock.Elapsed < timeout)
            {
                await Task.Delay(50);
                stored = 0;
                foreach (var (_, conversation) in targets)
                {
                    stored += (await conversations.GetConversationAsync(conversation, default))?.LastSequence ?? 0;
                }

                if (clock.Elapsed - lastReport >= TimeSpan.FromSeconds(1))
                {
                    lastReport = clock.Elapsed;
                    var lag = (await log.GetLagAsync(default)).Sum(l => l.Pending);
                    progress($"  drain: {clock.Elapsed.TotalSeconds:F0}s stored {stored:N0}/{options.Backlog:N0}, log lag {lag:N0}");
                }
            }

            var seconds = clock.Elapsed.TotalSeconds;
            var parley = Result("parley", options.Backlog, stored, seconds);
            progress($"parley   drained {stored:N0}/{options.Backlog:N0} in {seconds:F2} s → {parley.AchievedPerSecond:N0} msgs/s");

            var baseline = options.PostgresConnectionString is { } postgres
                ? await CopyBaselineAsync(postgres, options.Backlog, targets)
                : await SqliteBaselineAsync(data, options.Backlog, targets);
            progress($"{baseline.Target} {baseline.Succeeded:N0} rows in {baseline.DurationSeconds:F2} s → {baseline.AchievedPerSecond:N0} rows/s; parley / baseline = {parley.AchievedPerSecond / baseline.AchievedPerSecond:F2}");
            return [baseline, parley];
        }
        finally
        {
            try
            {
                Directory.Delete(data, recursive: true);
            }
            catch (IOException)
            {
                // Best effort.
            }
        }
    }

    private static StepResult Result(string target, long sent, long done, double seconds) =>
        StepResult.From(target, 0, seconds, sent, done, sent - done, done / seconds, StepResult.NewHistogram(),
            new Dictionary<string, double> { ["messages"] = done, ["seconds"] = Math.Round(seconds, 3) });

    /// <summary>Closed loop with as many requests in flight as connections: the backlog is the point, not its latency.</summary>
    private static async Task AcceptBacklogAsync(HttpClient http, string url, List<(string Token, Guid Conversation)> targets, BenchOptions options, Action<string> progress)
    {
        long next = -1, failed = 0;
        var run = Guid.NewGuid().ToString("N")[..8];
        var clock = Stopwatch.StartNew();
        using var reporter = new Timer(_ => progress($"  accepted {Math.Min(Interlocked.Read(ref next), options.Backlog):N0} in {clock.Elapsed.TotalSeconds:F0} s"), null, 1000, 1000);
        await Task.WhenAll(Enumerable.Range(0, options.Connections).Select(_ => Task.Run(async () =>
        {
            for (var i = Interlocked.Increment(ref next); i < options.Backlog; i = Interlocked.Increment(ref next))
            {
                var (token, conversation) = targets[(int)(i % targets.Count)];
                if (!await BenchApi.SendMessageAsync(http, url, token, conversation, $"drain message {i}", $"{run}-{i}"))
                {
                    Interlocked.Increment(ref failed);
                }
            }
        })));

        if (failed > 0)
        {
            throw new InvalidOperationException($"{failed} of the backlog's sends were not accepted");
        }
    }

    /// <summary>Binary COPY of the same rows into a table shaped like messaging.messages (indexes included).</summary>
    private static async Task<StepResult> CopyBaselineAsync(string connectionString, int count, List<(string Token, Guid Conversation)> targets)
    {
        await using var dataSource = NpgsqlDataSource.Create(connectionString);
        await using var connection = await dataSource.OpenConnectionAsync();
        var table = "bench_copy_" + Guid.NewGuid().ToString("N")[..8];
        await using (var create = new NpgsqlCommand($"CREATE TABLE public.{table} (LIKE messaging.messages INCLUDING ALL)", connection))
        {
            await create.ExecuteNonQueryAsync();
        }

        try
        {
            var rows = Rows(count, targets);
            var clock = Stopwatch.StartNew();
            await using (var writer = await connection.BeginBinaryImportAsync(
                $"COPY public.{table} (id, conversation_id, sequence, sender_id, type, content, metadata, client_message_id, idempotency_key, content_hash, size, correlation_id, accepted_at, stored_at) FROM STDIN (FORMAT BINARY)"))
            {
                foreach (var row in rows)
                {
                    await writer.StartRowAsync();
                    await writer.WriteAsync(row.Id, NpgsqlDbType.Uuid);
                    await writer.WriteAsync(row.Conversation, NpgsqlDbType.Uuid);
                    await writer.WriteAsync(row.Sequence, NpgsqlDbType.Bigint);
                    await writer.WriteAsync(row.Sender, NpgsqlDbType.Uuid);
                    await writer.WriteAsync("text", NpgsqlDbType.Text);
                    await writer.WriteAsync(row.Content, NpgsqlDbType.Text);
                    await writer.WriteNullAsync();
                    await writer.WriteAsync(row.ClientMessageId, NpgsqlDbType.Text);
                    await writer.WriteAsync(row.IdempotencyKey, NpgsqlDbType.Text);
                    await writer.WriteAsync(row.ContentHash, NpgsqlDbType.Char);
                    await writer.WriteAsync(row.Content.Length, NpgsqlDbType.Integer);
                    await writer.WriteAsync(row.Correlation, NpgsqlDbType.Uuid);
                    await writer.WriteAsync(row.At, NpgsqlDbType.TimestampTz);
                    await writer.WriteAsync(row.At, NpgsqlDbType.TimestampTz);
                }

                await writer.CompleteAsync();
            }

            return Result("copy-baseline", count, count, clock.Elapsed.TotalSeconds);
        }
        finally
        {
            await using var drop = new NpgsqlCommand($"DROP TABLE public.{table}", connection);
            await drop.ExecuteNonQueryAsync();
        }
    }

    /// <summary>SQLite has no COPY: the ceiling is prepared inserts in large transactions, with the store's own pragmas.</summary>
    private static async Task<StepResult> SqliteBaselineAsync(string data, int count, List<(string Token, Guid Conversation)> targets)
    {
        var path = Path.Combine(data, "baseline.db");
        await using var connection = new SqliteConnection($"Data Source={path};Pooling=False");
        await connection.OpenAsync();
        await using (var setup = connection.CreateCommand())
        {
            // Same shape as the store's messages table, same durability (WAL, synchronous=FULL).
            setup.CommandText = """
                PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;
                CREATE TABLE messages (id TEXT PRIMARY KEY, conversation_id TEXT NOT NULL, sequence INTEGER NOT NULL, sender_id TEXT NOT NULL,
                    type TEXT NOT NULL, content TEXT NOT NULL, metadata TEXT, client_message_id TEXT, idempotency_key TEXT NOT NULL UNIQUE,
                    content_hash TEXT NOT NULL, size INTEGER NOT NULL, correlation_id TEXT NOT NULL, accepted_at INTEGER NOT NULL,
                    stored_at INTEGER NOT NULL, UNIQUE (conversation_id, sequence));
                """;
            await setup.ExecuteNonQueryAsync();
        }

        var rows = Rows(count, targets);
        var clock = Stopwatch.StartNew();
        foreach (var chunk in rows.Chunk(5000))
        {
            await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync();
            await using var insert = connection.CreateCommand();
            insert.Transaction = transaction;
            insert.CommandText = "INSERT INTO messages VALUES ($id, $c, $s, $u, 'text', $content, NULL, $cm, $k, $h, $size, $corr, $at, $at)";
            var p = new[] { "$id", "$c", "$s", "$u", "$content", "$cm", "$k", "$h", "$size", "$corr", "$at" }.Select(n => insert.Parameters.Add(new SqliteParameter(n, null))).ToArray();
            foreach (var row in chunk)
            {
                (p[0].Value, p[1].Value, p[2].Value, p[3].Value, p[4].Value, p[5].Value) = (row.Id.ToString(), row.Conversation.ToString(), row.Sequence, row.Sender.ToString(), row.Content, row.ClientMessageId);
                (p[6].Value, p[7].Value, p[8].Value, p[9].Value, p[10].Value) = (row.IdempotencyKey, row.ContentHash, row.Content.Length, row.Correlation.ToString(), row.At.ToUnixTimeMilliseconds());
                await insert.ExecuteNonQueryAsync();
            }

            await transaction.CommitAsync();
        }

        return Result("sqlite-insert-baseline", count, count, clock.Elapsed.TotalSeconds);
    }

    private sealed record Row(Guid Id, Guid Conversation, long Sequence, Guid Sender, string Content, string ClientMessageId, string IdempotencyKey, string ContentHash, Guid Correlation, DateTimeOffset At);

    private static List<Row> Rows(int count, List<(string Token, Guid Conversation)> targets)
    {
        var sender = Guid.CreateVersion7();
        var now = DateTimeOffset.UtcNow;
        return Enumerable.Range(0, count).Select(i => new Row(Guid.CreateVersion7(), targets[i % targets.Count].Conversation, (i / targets.Count) + 1, sender,
            $"drain message {i}", $"copy-{i}", $"c:{sender:N}:copy-{i}", new string('a', 64), Guid.CreateVersion7(), now)).ToList();
    }
}
