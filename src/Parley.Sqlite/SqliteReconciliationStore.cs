using Parley.Core.Persistence;
using Parley.Core.Ports;
using Parley.Sqlite.Internal;

namespace Parley.Sqlite;

/// <summary>Reconciliation runs and row checks in the embedded store; the checks read without the write gate.</summary>
public sealed class SqliteReconciliationStore(SqliteDatabase db) : IReconciliationStore
{
    public Task SaveRunAsync(ReconciliationRun run, CancellationToken cancellationToken) =>
        db.WriteAsync(async (connection, transaction) =>
        {
            await using var command = SqliteDatabase.Command(connection, """
                INSERT INTO reconciliation_runs (id, status, repair, started_at, finished_at, error, checks) VALUES ($id, $status, $repair, $started, $finished, $error, $checks)
                ON CONFLICT (id) DO UPDATE SET status = excluded.status, finished_at = excluded.finished_at, error = excluded.error, checks = excluded.checks
                """, transaction);
            command.Parameters.AddWithValue("$id", run.Id.ToString());
            command.Parameters.AddWithValue("$status", run.Status);
            command.Parameters.AddWithValue("$repair", run.Repair ? 1 : 0);
            command.Parameters.AddWithValue("$started", SqliteTime.Ms(run.StartedAt));
            command.Parameters.AddWithValue("$finished", run.FinishedAt is { } at ? SqliteTime.Ms(at) : DBNull.Value);
            command.Parameters.AddWithValue("$error", SqliteRows.OrNull(run.Error));
            command.Parameters.AddWithValue("$checks", ReconciliationQueries.FormatChecks(run.Checks));
            return await command.ExecuteNonQueryAsync(cancellationToken);
        }, cancellationToken);

    public Task<ReconciliationRun?> GetRunAsync(Guid runId, CancellationToken cancellationToken) =>
        db.ReadAsync(async connection =>
        {
            await using var command = SqliteDatabase.Command(connection, "SELECT status, repair, started_at, finished_at, error, checks FROM reconciliation_runs WHERE id = $id");
            command.Parameters.AddWithValue("$id", runId.ToString());
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            return await reader.ReadAsync(cancellationToken)
                ? new ReconciliationRun(runId, reader.GetString(0), reader.GetInt64(1) != 0, SqliteTime.FromMs(reader.GetInt64(2)),
                    reader.IsDBNull(3) ? null : SqliteTime.FromMs(reader.GetInt64(3)), reader.IsDBNull(4) ? null : reader.GetString(4),
                    ReconciliationQueries.ParseChecks(reader.IsDBNull(5) ? null : reader.GetString(5)))
                : null;
        }, cancellationToken);

    public Task<IReadOnlyList<ReconciliationCheck>> CheckRowsAsync(int samples, CancellationToken cancellationToken) =>
        db.ReadAsync(async connection =>
        {
            var results = new List<(ReconciliationQueries.Part, long, IReadOnlyList<(string, long, long)>)>();
            foreach (var part in ReconciliationQueries.Parts)
            {
                await using var examined = SqliteDatabase.Command(connection, part.Examined);
                var count = (long)(await examined.ExecuteScalarAsync(cancellationToken))!;
                await using var drift = SqliteDatabase.Command(connection, part.Drift);
                await using var reader = await drift.ExecuteReaderAsync(cancellationToken);
                var rows = new List<(string, long, long)>();
                while (await reader.ReadAsync(cancellationToken))
                {
                    rows.Add((reader.GetString(0), reader.GetInt64(1), reader.GetInt64(2)));
                }

                results.Add((part, count, rows));
            }

            return ReconciliationQueries.Combine(results, samples);
        }, cancellationToken);
}
