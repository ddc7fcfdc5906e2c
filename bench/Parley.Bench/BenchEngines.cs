using Parley.Testing;

namespace Parley.Bench;

/// <summary>
/// Production runs need a PostgreSQL and a Redis. Given none on the command line, the bench starts throwaway
/// ones exactly as the test fixtures do (PostgreSQL with fsync on, Redis with appendfsync always) and points both
/// Parley and the raw baselines at them, so the ratios compare like with like.
/// </summary>
public sealed class BenchEngines : IAsyncDisposable
{
    private PostgresInstance? _postgres;

    public static async Task<BenchEngines> PrepareAsync(BenchOptions options, Action<string> progress)
    {
        var engines = new BenchEngines();
        if (options.Engine != "production")
        {
            return engines;
        }

        options.PostgresConnectionString = Setting(options, "--Parley:Postgres:ConnectionString");
        options.RedisEndpoint = Setting(options, "--Parley:Redis:Configuration");
        if (options.PostgresConnectionString is null)
        {
            engines._postgres = await ExternalServers.StartDedicatedPostgresAsync();
            options.PostgresConnectionString = engines._postgres.ConnectionString;
            options.ServerArgs.Add("--Parley:Postgres:ConnectionString=" + options.PostgresConnectionString);
            progress($"started a throwaway PostgreSQL on port {engines._postgres.Port}");
        }

        if (options.RedisEndpoint is null)
        {
            options.RedisEndpoint = await ExternalServers.RedisAsync();
            options.ServerArgs.Add("--Parley:Redis:Configuration=" + options.RedisEndpoint);
            progress($"started a throwaway Redis at {options.RedisEndpoint}");
        }

        if (Setting(options, "--Parley:Engine") is null)
        {
            options.ServerArgs.Add("--Parley:Engine=Production");
        }

        return engines;
    }

    private static string? Setting(BenchOptions options, string name) =>
        options.ServerArgs.Where(a => a.StartsWith(name + "=", StringComparison.OrdinalIgnoreCase)).Select(a => a[(name.Length + 1)..]).LastOrDefault();

    public async ValueTask DisposeAsync()
    {
        if (_postgres is not null)
        {
            await _postgres.DisposeAsync();
        }
    }
}
