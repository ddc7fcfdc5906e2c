using System.Globalization;

namespace Parley.Sqlite.Tests;

/// <summary>
/// The log's delivery-count bumps and acks commit without an fsync; everything else must stay fsynced. Connections are
/// pooled, so a relaxed transaction must not leave its setting behind for the next writer (an append, a store commit).
/// </summary>
public sealed class SqliteCommitTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("parley-sqlite-commit-").FullName;

    [Fact]
    public async Task A_relaxed_commit_does_not_leave_the_pooled_connection_relaxed_for_the_next_write()
    {
        using var db = new SqliteDatabase(Path.Combine(_directory, "commit.db"));
        await db.MigrateAsync([], CancellationToken.None);

        Assert.Equal(Full, await SynchronousAsync(db, SqliteCommit.Fsynced));
        Assert.Equal(Normal, await SynchronousAsync(db, SqliteCommit.SurvivesProcessCrash));
        Assert.Equal(Full, await SynchronousAsync(db, SqliteCommit.Fsynced));
        Assert.Equal(Full, await db.WriteAsync((connection, transaction) => ReadSynchronousAsync(connection, transaction), CancellationToken.None));
    }

    // PRAGMA synchronous answers 1 for NORMAL and 2 for FULL.
    private const long Normal = 1;
    private const long Full = 2;

    private static Task<long> SynchronousAsync(SqliteDatabase db, SqliteCommit commit) =>
        db.WriteAsync((connection, transaction) => ReadSynchronousAsync(connection, transaction), commit, CancellationToken.None);

    private static async Task<long> ReadSynchronousAsync(Microsoft.Data.Sqlite.SqliteConnection connection, Microsoft.Data.Sqlite.SqliteTransaction transaction)
    {
        await using var command = SqliteDatabase.Command(connection, "PRAGMA synchronous;", transaction);
        return Convert.ToInt64(await command.ExecuteScalarAsync(), CultureInfo.InvariantCulture);
    }

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_directory, recursive: true);
    }
}
