using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Parley.Hosting;
using Parley.Core.Ports;

namespace Parley.Sqlite;

/// <summary>
/// Opens and migrates the embedded files before anything else starts (StartingAsync runs ahead of every hosted
/// service's StartAsync), so no constructor touches the disk and a data directory that cannot be used stops start-up
/// with a message that names the setting.
/// </summary>
public sealed class SqliteStartup(SqliteDatabase store, SqliteMessageLog log, SqlitePushQueue push, IOptions<ParleyOptions> options) : IHostedLifecycleService
{
    public async Task StartingAsync(CancellationToken cancellationToken)
    {
        try
        {
            await store.MigrateAsync(SqliteMigrations.Store, cancellationToken);
            await log.MigrateAsync(cancellationToken);
            await push.MigrateAsync(cancellationToken);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or SqliteException { SqliteErrorCode: 3 or 8 or 10 or 14 })
        {
            // SQLITE_PERM, SQLITE_READONLY, SQLITE_IOERR, SQLITE_CANTOPEN: the directory or a file in it is not usable.
            var directory = options.Value.ResolvedDataDirectory;
            throw new InvalidOperationException(
                $"The embedded engine cannot use {ParleyOptions.Section}:{nameof(ParleyOptions.DataDirectory)} '{directory}': {ex.Message} " +
                "Point it at a directory this process can create and write to.", ex);
        }
    }

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
