using Microsoft.Data.Sqlite;

namespace Parley.Sqlite;

/// <summary>
/// One SQLite file: opens tuned connections and funnels every write through a single gate. SQLite has one
/// writer anyway; queuing in-process avoids SQLITE_BUSY storms and lock-upgrade deadlocks between workers.
/// Construction touches nothing on disk: <see cref="MigrateAsync"/> creates the directory and the file, so a host
/// opens it in a hosted service (SqliteStartup) that can fail start-up cleanly.
/// </summary>
public sealed class SqliteDatabase : IDisposable
{
    private readonly string _connectionString;
    private readonly SemaphoreSlim _writeGate = new(1, 1);

    public SqliteDatabase(string path)
    {
        Path = System.IO.Path.GetFullPath(path);
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = Path,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Cache = SqliteCacheMode.Private,
            Pooling = true,
            DefaultTimeout = 30,
        }.ToString();
    }

    public string Path { get; }

    public async Task<SqliteConnection> OpenAsync(CancellationToken cancellationToken)
    {
        var connection = new SqliteConnection(_connectionString);
        await connection.OpenAsync(cancellationToken);
        // FULL: a commit is fsynced before it returns, which is what an acknowledgement promises.
        await using var pragmas = Command(connection, "PRAGMA synchronous=FULL; PRAGMA busy_timeout=10000; PRAGMA foreign_keys=ON;");
        await pragmas.ExecuteNonQueryAsync(cancellationToken);
        return connection;
    }

    public async Task<T> ReadAsync<T>(Func<SqliteConnection, Task<T>> work, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        return await work(connection);
    }

    /// <summary>
    /// Whether any row of <paramref name="table"/> matches <paramref name="condition"/> at <c>$now</c>: the read a claim
    /// loop polls with, so an idle queue never takes the write gate the persist batches queue on.
    /// </summary>
    public Task<bool> AnyDueAsync(string table, string condition, DateTimeOffset now, CancellationToken cancellationToken) =>
        ReadAsync(async connection =>
        {
            await using var probe = Command(connection, $"SELECT EXISTS (SELECT 1 FROM {table} WHERE {condition})");
            probe.Parameters.AddWithValue("$now", now.ToUnixTimeMilliseconds());
            return Convert.ToInt64(await probe.ExecuteScalarAsync(cancellationToken), System.Globalization.CultureInfo.InvariantCulture) == 1;
        }, cancellationToken);

    /// <summary>Runs <paramref name="work"/> in one IMMEDIATE transaction under the write gate and commits it, fsynced.</summary>
    public Task<T> WriteAsync<T>(Func<SqliteConnection, SqliteTransaction, Task<T>> work, CancellationToken cancellationToken) =>
        WriteAsync(work, SqliteCommit.Fsynced, cancellationToken);

    /// <summary>Runs <paramref name="work"/> in one IMMEDIATE transaction under the write gate and commits it as <paramref name="commit"/> says.</summary>
    public async Task<T> WriteAsync<T>(Func<SqliteConnection, SqliteTransaction, Task<T>> work, SqliteCommit commit, CancellationToken cancellationToken)
    {
        await _writeGate.WaitAsync(cancellationToken);
        try
        {
            await using var connection = await OpenAsync(cancellationToken);
            if (commit == SqliteCommit.SurvivesProcessCrash)
            {
                // Per connection, and OpenAsync sets FULL again on the next use of this pooled connection.
                await using var normal = Command(connection, "PRAGMA synchronous=NORMAL;");
                await normal.ExecuteNonQueryAsync(cancellationToken);
            }

            await using var transaction = connection.BeginTransaction(deferred: false);
            var result = await work(connection, transaction);
            await transaction.CommitAsync(cancellationToken);
            return result;
        }
        finally
        {
            _writeGate.Release();
        }
    }

    /// <summary>
    /// Creates the file (and its directory) if missing, switches it to WAL and applies the scripts newer than the highest
    /// version recorded in schema_migrations, each in its own transaction with its version. Returns how many it applied.
    /// </summary>
    public async Task<int> MigrateAsync(IReadOnlyList<SqliteMigration> migrations, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(Path)!);
        await _writeGate.WaitAsync(cancellationToken);
        try
        {
            await using var connection = await OpenAsync(cancellationToken);
            await using (var setup = Command(connection, """
                PRAGMA journal_mode=WAL;
                CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL);
                """))
            {
                await setup.ExecuteNonQueryAsync(cancellationToken);
            }

            int current;
            await using (var read = Command(connection, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations;"))
            {
                current = Convert.ToInt32(await read.ExecuteScalarAsync(cancellationToken), System.Globalization.CultureInfo.InvariantCulture);
            }

            var applied = 0;
            foreach (var migration in migrations.Where(m => m.Version > current).OrderBy(m => m.Version))
            {
                await using var transaction = connection.BeginTransaction(deferred: false);
                // Another process (the migrate command beside a running node) may have applied it since the read above.
                await using (var check = Command(connection, "SELECT COUNT(*) FROM schema_migrations WHERE version = $v;", transaction))
                {
                    check.Parameters.AddWithValue("$v", migration.Version);
                    if (Convert.ToInt64(await check.ExecuteScalarAsync(cancellationToken), System.Globalization.CultureInfo.InvariantCulture) > 0)
                    {
                        continue;
                    }
                }

                await using var command = Command(connection, migration.Sql + "\nINSERT INTO schema_migrations(version, applied_at) VALUES ($v, $t);", transaction);
                command.Parameters.AddWithValue("$v", migration.Version);
                command.Parameters.AddWithValue("$t", DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
                await command.ExecuteNonQueryAsync(cancellationToken);
                await transaction.CommitAsync(cancellationToken);
                applied++;
            }

            return applied;
        }
        finally
        {
            _writeGate.Release();
        }
    }

    public static SqliteCommand Command(SqliteConnection connection, string sql, SqliteTransaction? transaction = null)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        command.Transaction = transaction;
        return command;
    }

    public void Dispose()
    {
        _writeGate.Dispose();
        using var connection = new SqliteConnection(_connectionString);
        SqliteConnection.ClearPool(connection);
    }
}

/// <summary>How far a write transaction's commit must reach before it returns.</summary>
public enum SqliteCommit
{
    /// <summary>Fsynced (synchronous=FULL): survives a power loss. What an acknowledgement to a client promises.</summary>
    Fsynced,

    /// <summary>
    /// Written to the WAL but not fsynced (synchronous=NORMAL): survives a crash or kill -9 of the process, and may be
    /// rolled back by a power loss, never out of order (the next fsynced commit carries it). Only for writes whose loss
    /// a replay makes good.
    /// </summary>
    SurvivesProcessCrash,
}
