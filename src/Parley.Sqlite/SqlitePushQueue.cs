using Dapper;
using Microsoft.Data.Sqlite;
using Parley.Core.Ports;
using Parley.Core.Push;
using Parley.Sqlite.Internal;

namespace Parley.Sqlite;

/// <summary>
/// The embedded push queue: one SQLite file (push.db), so a slow or failing provider's retries never touch the store's
/// or the log's write gate. A claim moves the job's due time to the end of the claim: a dispatcher that dies leaves it
/// to be handed out again when the claim runs out (at least once).
/// </summary>
public sealed class SqlitePushQueue(string path) : IPushQueue, IDisposable
{
    private readonly SqliteDatabase _db = new(path);

    public Task MigrateAsync(CancellationToken cancellationToken) => _db.MigrateAsync(SqliteMigrations.Push, cancellationToken);

    public IDeadLetterKind DeadLetters => new DeadLetterKind(_db);

    public async ValueTask<int> EnqueueAsync(IReadOnlyList<PushJob> jobs, DateTimeOffset dueAt, Func<PushJob, PushJob, PushJob> merge, CancellationToken cancellationToken) =>
        jobs.Count == 0 ? 0 : await _db.WriteAsync(async (connection, transaction) =>
        {
            var merged = 0;
            foreach (var job in jobs)
            {
                var open = await connection.QuerySingleOrDefaultAsync<JobRow>(new CommandDefinition(
                    "SELECT id AS Id, payload AS Payload, attempts AS Attempts, replays AS Replays FROM push_jobs WHERE device_id = @device AND open = 1",
                    new { device = job.DeviceId.ToString() }, transaction, cancellationToken: cancellationToken));
                if (open is { } waiting)
                {
                    await connection.ExecuteAsync(new CommandDefinition("UPDATE push_jobs SET payload = @payload WHERE id = @id",
                        new { payload = merge(PushJob.Deserialize(waiting.Payload), job).Serialize(), id = waiting.Id }, transaction, cancellationToken: cancellationToken));
                    merged++;
                    continue;
                }

                await connection.ExecuteAsync(new CommandDefinition(
                    "INSERT INTO push_jobs (id, device_id, payload, due_at) VALUES (@id, @device, @payload, @due)",
                    new { id = job.Id.ToString(), device = job.DeviceId.ToString(), payload = job.Serialize(), due = SqliteTime.Ms(dueAt) },
                    transaction, cancellationToken: cancellationToken));
            }

            return merged;
        }, cancellationToken);

    public async ValueTask<IReadOnlyList<PushJobLease>> ClaimAsync(DateTimeOffset now, int max, TimeSpan claimFor, CancellationToken cancellationToken) =>
        await _db.WriteAsync<IReadOnlyList<PushJobLease>>(async (connection, transaction) =>
            [.. (await connection.QueryAsync<JobRow>(new CommandDefinition(
                """
                UPDATE push_jobs SET due_at = @until, open = 0
                WHERE id IN (SELECT id FROM push_jobs WHERE due_at <= @now ORDER BY due_at, id LIMIT @max)
                RETURNING id AS Id, payload AS Payload, attempts AS Attempts, replays AS Replays
                """,
                new { now = SqliteTime.Ms(now), until = SqliteTime.Ms(now + claimFor), max }, transaction, cancellationToken: cancellationToken)))
                .Select(r => new PushJobLease(r.Id, PushJob.Deserialize(r.Payload), (int)r.Attempts, (int)r.Replays))], cancellationToken);

    /// <summary>
    /// Not fsynced (it survives a process crash, not a power cut): a completion lost to a power cut sends that push again,
    /// which at least once allows, and an fsync per sent push capped the embedded dispatcher near 100 pushes a second.
    /// </summary>
    public async ValueTask CompleteAsync(string queueId, CancellationToken cancellationToken) =>
        await _db.WriteAsync((connection, transaction) => connection.ExecuteAsync(new CommandDefinition(
            "DELETE FROM push_jobs WHERE id = @queueId", new { queueId }, transaction, cancellationToken: cancellationToken)), SqliteCommit.SurvivesProcessCrash, cancellationToken);

    public async ValueTask RetryAsync(string queueId, int attempts, DateTimeOffset dueAt, string errorType, string error, CancellationToken cancellationToken) =>
        await _db.WriteAsync((connection, transaction) => connection.ExecuteAsync(new CommandDefinition(
            "UPDATE push_jobs SET attempts = @attempts, due_at = @due, last_error_type = @errorType, last_error = @error WHERE id = @queueId",
            new { queueId, attempts, due = SqliteTime.Ms(dueAt), errorType, error }, transaction, cancellationToken: cancellationToken)), cancellationToken);

    public async ValueTask DeadLetterAsync(PushJobLease lease, int attempts, string errorType, string error, DateTimeOffset now, CancellationToken cancellationToken) =>
        await _db.WriteAsync(async (connection, transaction) =>
        {
            var moved = await connection.ExecuteAsync(new CommandDefinition(
                """
                INSERT INTO push_dead_letters (id, device_id, payload, attempts, replays, error_type, error, dead_at)
                SELECT id, device_id, payload, @attempts, replays, @errorType, @error, @now FROM push_jobs WHERE id = @id
                """,
                new { id = lease.QueueId, attempts, errorType, error, now = SqliteTime.Ms(now) }, transaction, cancellationToken: cancellationToken));
            await connection.ExecuteAsync(new CommandDefinition("DELETE FROM push_jobs WHERE id = @id", new { id = lease.QueueId }, transaction, cancellationToken: cancellationToken));
            return moved;
        }, cancellationToken);

    public async ValueTask<long> CountAsync(CancellationToken cancellationToken) =>
        await _db.ReadAsync(connection => connection.ExecuteScalarAsync<long>(new CommandDefinition("SELECT COUNT(*) FROM push_jobs", cancellationToken: cancellationToken)), cancellationToken);

    public void Dispose() => _db.Dispose();

    private sealed class JobRow
    {
        public string Id { get; set; } = "";

        public byte[] Payload { get; set; } = [];

        public long Attempts { get; set; }

        public long Replays { get; set; }
    }

    private sealed class DeadRow
    {
        public string Id { get; set; } = "";

        public string DeviceId { get; set; } = "";

        public byte[] Payload { get; set; } = [];

        public long Attempts { get; set; }

        public long Replays { get; set; }

        public string ErrorType { get; set; } = "";

        public string Error { get; set; } = "";

        public long DeadAt { get; set; }

        public DeadLetterRecord ToRecord() => new(Id, PushDeadLetters.Kind, ErrorType, Error, (int)Attempts, (int)Replays, SqliteTime.FromMs(DeadAt), DeviceId,
            System.Text.Encoding.UTF8.GetString(Payload));
    }

    private sealed class DeadLetterKind(SqliteDatabase db) : IDeadLetterKind
    {
        private const string Columns = "id AS Id, device_id AS DeviceId, payload AS Payload, attempts AS Attempts, replays AS Replays, error_type AS ErrorType, error AS Error, dead_at AS DeadAt";

        public string Kind => PushDeadLetters.Kind;

        public Task<IReadOnlyList<DeadLetterRecord>> ListAsync(DeadLetterQuery query, CancellationToken cancellationToken) =>
            db.ReadAsync<IReadOnlyList<DeadLetterRecord>>(async connection =>
                [.. (await connection.QueryAsync<DeadRow>(new CommandDefinition(
                    $"""
                    SELECT {Columns} FROM push_dead_letters d
                    WHERE (@errorType IS NULL OR error_type = @errorType)
                      AND (@after IS NULL OR (dead_at, id) < (SELECT dead_at, id FROM push_dead_letters WHERE id = @after))
                    ORDER BY dead_at DESC, id DESC LIMIT @limit
                    """,
                    new { errorType = query.ErrorType, after = query.After, limit = query.Limit }, cancellationToken: cancellationToken)))
                    .Select(r => r.ToRecord())], cancellationToken);

        public Task<DeadLetterRecord?> GetAsync(string id, CancellationToken cancellationToken) =>
            db.ReadAsync(async connection => (await connection.QuerySingleOrDefaultAsync<DeadRow>(new CommandDefinition(
                $"SELECT {Columns} FROM push_dead_letters WHERE id = @id", new { id }, cancellationToken: cancellationToken)))?.ToRecord(), cancellationToken);

        public Task<bool> ReplayAsync(string id, DateTimeOffset now, CancellationToken cancellationToken) =>
            db.WriteAsync(async (connection, transaction) =>
            {
                // Closed (open = 0): a replayed job is what it was; new messages get a job of their own.
                var moved = await connection.ExecuteAsync(new CommandDefinition(
                    """
                    INSERT INTO push_jobs (id, device_id, payload, due_at, attempts, replays, open)
                    SELECT id, device_id, payload, @now, 0, replays + 1, 0 FROM push_dead_letters WHERE id = @id
                    """,
                    new { id, now = SqliteTime.Ms(now) }, transaction, cancellationToken: cancellationToken));
                await connection.ExecuteAsync(new CommandDefinition("DELETE FROM push_dead_letters WHERE id = @id", new { id }, transaction, cancellationToken: cancellationToken));
                return moved == 1;
            }, cancellationToken);

        public Task<bool> DiscardAsync(string id, CancellationToken cancellationToken) =>
            db.WriteAsync(async (connection, transaction) => await connection.ExecuteAsync(new CommandDefinition(
                "DELETE FROM push_dead_letters WHERE id = @id", new { id }, transaction, cancellationToken: cancellationToken)) == 1, cancellationToken);
    }
}
