using Npgsql;
using Parley.Core.Persistence;
using Parley.Core.Ports;
using static Parley.Postgres.Internal.PostgresRows;

namespace Parley.Postgres;

/// <summary>Reconciliation runs and row checks on PostgreSQL; the checks run in one read-only snapshot.</summary>
public sealed class PostgresReconciliationStore(NpgsqlDataSource dataSource) : IReconciliationStore
{
    public async Task SaveRunAsync(ReconciliationRun run, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("""
            INSERT INTO reconciliation_runs (id, status, repair, started_at, finished_at, error, checks) VALUES ($1, $2, $3, $4, $5, $6, $7)
            ON CONFLICT (id) DO UPDATE SET status = excluded.status, finished_at = excluded.finished_at, error = excluded.error, checks = excluded.checks
            """);
        command.Parameters.Add(new() { Value = run.Id });
        command.Parameters.Add(new() { Value = run.Status });
        command.Parameters.Add(new() { Value = run.Repair });
        command.Parameters.Add(new() { Value = run.StartedAt.ToUniversalTime() });
        command.Parameters.Add(new() { Value = run.FinishedAt is { } at ? at.ToUniversalTime() : DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.TimestampTz });
        command.Parameters.Add(new() { Value = (object?)run.Error ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
        command.Parameters.Add(new() { Value = ReconciliationQueries.FormatChecks(run.Checks) });
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task<ReconciliationRun?> GetRunAsync(Guid runId, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("SELECT status, repair, started_at, finished_at, error, checks FROM reconciliation_runs WHERE id = $1");
        command.Parameters.Add(new() { Value = runId });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken)
            ? new ReconciliationRun(runId, reader.GetString(0), reader.GetBoolean(1), Time(reader, 2), reader.IsDBNull(3) ? null : Time(reader, 3),
                reader.IsDBNull(4) ? null : reader.GetString(4), ReconciliationQueries.ParseChecks(reader.IsDBNull(5) ? null : reader.GetString(5)))
            : null;
    }

    public async Task<IReadOnlyList<ReconciliationCheck>> CheckRowsAsync(int samples, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        // One snapshot for every part, so they describe the same moment.
        await using var transaction = await connection.BeginTransactionAsync(System.Data.IsolationLevel.RepeatableRead, cancellationToken);
        var results = new List<(ReconciliationQueries.Part, long, IReadOnlyList<(string, long, long)>)>();
        foreach (var part in ReconciliationQueries.Parts)
        {
            await using var examined = new NpgsqlCommand(part.Examined, connection, transaction);
            var count = (long)(await examined.ExecuteScalarAsync(cancellationToken))!;
            await using var drift = new NpgsqlCommand(part.Drift, connection, transaction);
            await using var reader = await drift.ExecuteReaderAsync(cancellationToken);
            var rows = new List<(string, long, long)>();
            while (await reader.ReadAsync(cancellationToken))
            {
                rows.Add((reader.GetString(0), reader.GetInt64(1), reader.GetInt64(2)));
            }

            results.Add((part, count, rows));
        }

        await transaction.CommitAsync(cancellationToken);
        return ReconciliationQueries.Combine(results, samples);
    }
}
