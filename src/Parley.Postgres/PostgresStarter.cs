using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Parley.Postgres;

/// <summary>
/// Applies pending migrations as the host starts (unless <see cref="PostgresOptions.MigrateOnStart"/> is off), in
/// <see cref="StartingAsync"/>, so before anything queries the store. A failure stops the start with a message
/// naming the setting to fix.
/// </summary>
public sealed class PostgresStarter(NpgsqlDataSource dataSource, IOptions<PostgresOptions> options) : IHostedLifecycleService
{
    public async Task StartingAsync(CancellationToken cancellationToken)
    {
        var o = options.Value;
        if (!o.MigrateOnStart)
        {
            return;
        }

        try
        {
            await PostgresMigrations.ApplyAsync(dataSource, o.Schema, cancellationToken);
        }
        catch (NpgsqlException ex)
        {
            throw new InvalidOperationException(
                $"Cannot migrate schema '{o.Schema}' on the PostgreSQL server of {PostgresOptions.Section}:ConnectionString " +
                $"(migrations run at start unless {PostgresOptions.Section}:MigrateOnStart is false): {ex.Message}", ex);
        }
    }

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
