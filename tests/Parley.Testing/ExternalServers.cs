using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Parley.Testing;

/// <summary>
/// Real PostgreSQL and Redis for integration tests. Each is started once per test process on a free
/// loopback port in a throwaway directory and stopped when the process exits; setting
/// PARLEY_TEST_POSTGRES (an Npgsql connection string) or PARLEY_TEST_REDIS (host:port) reuses a running one.
/// </summary>
public static class ExternalServers
{
    /// <summary>Marks every directory and process these helpers create, so scripts/test.sh can sweep leftovers.</summary>
    public const string Tag = "parley-test-srv";

    private static readonly Lazy<Task<PostgresInstance>> s_postgres = new(StartPostgresAsync);
    private static readonly Lazy<Task<RedisInstance>> s_redis = new(StartRedisAsync);

    public static async Task<string> PostgresAsync() =>
        Environment.GetEnvironmentVariable("PARLEY_TEST_POSTGRES") is { Length: > 0 } configured
            ? configured
            : (await s_postgres.Value).ConnectionString;

    public static async Task<string> RedisAsync() =>
        Environment.GetEnvironmentVariable("PARLEY_TEST_REDIS") is { Length: > 0 } configured
            ? configured
            : (await s_redis.Value).Endpoint;

    /// <summary>The throwaway PostgreSQL this process started (null when reusing one), for outage tests.</summary>
    public static async Task<PostgresInstance?> OwnPostgresAsync() =>
        Environment.GetEnvironmentVariable("PARLEY_TEST_POSTGRES") is { Length: > 0 } ? null : await s_postgres.Value;

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static async Task<PostgresInstance> StartPostgresAsync()
    {
        var instance = await StartPostgresAsync(durable: false);
        AppDomain.CurrentDomain.ProcessExit += (_, _) => instance.Destroy();
        return instance;
    }

    /// <summary>A PostgreSQL of the caller's own, durable (fsync on), for tests that stop it; dispose it when done.</summary>
    public static Task<PostgresInstance> StartDedicatedPostgresAsync() => StartPostgresAsync(durable: true);

    private static async Task<PostgresInstance> StartPostgresAsync(bool durable)
    {
        var bin = Directory.GetDirectories("/usr/lib/postgresql").OrderByDescending(d => d, StringComparer.Ordinal)
            .Select(d => Path.Combine(d, "bin")).FirstOrDefault(d => File.Exists(Path.Combine(d, "initdb")))
            ?? throw new InvalidOperationException("PostgreSQL is not installed: run scripts/test.sh (it installs it) or set PARLEY_TEST_POSTGRES");
        var root = Directory.CreateTempSubdirectory($"{Tag}-pg-").FullName;
        var instance = new PostgresInstance(bin, root, FreePort(), durable);
        await RunAsync("chown", "postgres:postgres", root);
        await instance.RunAsPostgresAsync("initdb", "-D", instance.DataDirectory, "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8");
        await instance.StartAsync();
        return instance;
    }

    private static async Task<RedisInstance> StartRedisAsync()
    {
        var instance = await StartDedicatedRedisAsync();
        AppDomain.CurrentDomain.ProcessExit += (_, _) => instance.Destroy();
        return instance;
    }

    /// <summary>
    /// A Redis of the caller's own (appendonly, fsync always), for tests that kill it with -9 and start it again on
    /// the same port and data directory (<see cref="RedisInstance.KillAsync"/>, <see cref="RedisInstance.StartAsync"/>);
    /// dispose it when done.
    /// </summary>
    public static async Task<RedisInstance> StartDedicatedRedisAsync()
    {
        var instance = new RedisInstance(Directory.CreateTempSubdirectory($"{Tag}-redis-").FullName, FreePort());
        await instance.StartAsync();
        return instance;
    }

    /// <summary>A replica of the Redis at <paramref name="primary"/> (host:port), in sync when this returns; dispose it when done.</summary>
    public static async Task<RedisInstance> StartReplicaAsync(string primary)
    {
        var root = Directory.CreateTempSubdirectory($"{Tag}-redis-").FullName;
        var port = FreePort();
        var (host, primaryPort) = (primary.Split(':')[0], primary.Split(':')[1]);
        await RunAsync("redis-server", "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--bind", "127.0.0.1",
            "--dir", root, "--replicaof", host, primaryPort, "--save", "", "--daemonize", "yes",
            "--pidfile", Path.Combine(root, "redis.pid"), "--logfile", Path.Combine(root, "redis.log"));
        await WaitForPortAsync(port);
        var replica = new RedisInstance(root, port);
        for (var i = 0; i < 100; i++)
        {
            var info = await OutputAsync("redis-cli", "-p", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "info", "replication");
            if (info.Contains("master_link_status:up", StringComparison.Ordinal))
            {
                return replica;
            }

            await Task.Delay(100); // polling interval; bounded by the loop count, then it throws
        }

        replica.Destroy();
        throw new TimeoutException("The Redis replica did not sync");
    }

    internal static async Task WaitForPortAsync(int port)
    {
        for (var i = 0; i < 200; i++)
        {
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(IPAddress.Loopback, port);
                return;
            }
            catch (SocketException)
            {
                await Task.Delay(50); // polling interval; bounded by the loop count, then it throws
            }
        }

        throw new TimeoutException($"Nothing listens on 127.0.0.1:{port}");
    }

    internal static async Task RunAsync(string file, params string[] args) => await OutputAsync(file, args);

    internal static async Task<string> OutputAsync(string file, params string[] args)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        using var process = Process.Start(info) ?? throw new InvalidOperationException($"{file} did not start");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{file} {string.Join(' ', args)} exited {process.ExitCode}: {await stdout}{await stderr}");
        }

        return await stdout;
    }
}

/// <param name="durable">
/// False trades crash safety for speed (fsync off) in the shared instance nobody stops; an instance a test
/// stops with -m immediate must be durable, or its recovery loses committed rows.
/// </param>
public sealed class PostgresInstance(string bin, string root, int port, bool durable) : IAsyncDisposable
{
    public ValueTask DisposeAsync()
    {
        Destroy();
        return ValueTask.CompletedTask;
    }

    public string DataDirectory => Path.Combine(root, "data");

    public int Port => port;

    public string ConnectionString => $"Host=127.0.0.1;Port={port};Username=postgres;Database=postgres;Pooling=true;Timeout=5;Command Timeout=30";

    /// <summary>initdb and pg_ctl refuse to run as root: run them as the postgres user when we are root.</summary>
    internal Task RunAsPostgresAsync(string tool, params string[] args) =>
        Environment.UserName == "root"
            ? ExternalServers.RunAsync("runuser", ["-u", "postgres", "--", Path.Combine(bin, tool), .. args])
            : ExternalServers.RunAsync(Path.Combine(bin, tool), args);

    public async Task StartAsync()
    {
        await RunAsPostgresAsync("pg_ctl", "-D", DataDirectory, "-l", Path.Combine(root, "postgres.log"), "-w", "-t", "30", "start",
            "-o", $"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c max_connections=300" + (durable ? "" : " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"));
        await ExternalServers.WaitForPortAsync(port);
    }

    /// <summary>Stops the server at once (an outage, not a shutdown); connections die mid-flight.</summary>
    public Task StopAsync() => RunAsPostgresAsync("pg_ctl", "-D", DataDirectory, "-m", "immediate", "-w", "stop");

    internal void Destroy()
    {
        try
        {
            StopAsync().Wait(TimeSpan.FromSeconds(10));
        }
        catch (Exception)
        {
            // Already stopped.
        }

        try
        {
            Directory.Delete(root, recursive: true);
        }
        catch (Exception)
        {
            // scripts/test.sh sweeps what is left.
        }
    }
}

public sealed class RedisInstance(string root, int port) : IAsyncDisposable
{
    public ValueTask DisposeAsync()
    {
        Destroy();
        return ValueTask.CompletedTask;
    }

    public string Endpoint => $"127.0.0.1:{port}";

    public int Port => port;

    private string PidFile => Path.Combine(root, "redis.pid");

    /// <summary>Starts (or starts again, over the same data) the server; appendonly + fsync always, so a kill test means what it says.</summary>
    public async Task StartAsync()
    {
        await ExternalServers.RunAsync("redis-server", "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--bind", "127.0.0.1",
            "--dir", root, "--appendonly", "yes", "--appendfsync", "always", "--save", "", "--daemonize", "yes",
            "--pidfile", PidFile, "--logfile", Path.Combine(root, "redis.log"));
        await ExternalServers.WaitForPortAsync(port);
        await WaitUntilAsync(async () => (await ExternalServers.OutputAsync("redis-cli", "-p", Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "ping")).Trim() == "PONG",
            "Redis did not finish loading its append-only file");
    }

    /// <summary>kill -9: no shutdown, no final save; what it acknowledged is what its append-only file has.</summary>
    public async Task KillAsync()
    {
        var pid = int.Parse((await File.ReadAllTextAsync(PidFile)).Trim(), System.Globalization.CultureInfo.InvariantCulture);
        using var process = Process.GetProcessById(pid);
        process.Kill();
        await process.WaitForExitAsync();
        // A daemonized Redis does not remove its pid file when killed; the next start writes it again.
        File.Delete(PidFile);
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, string failure)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                if (await condition())
                {
                    return;
                }
            }
            catch (InvalidOperationException)
            {
                // Not answering yet.
            }

            await Task.Delay(50);
        }

        throw new TimeoutException(failure);
    }

    internal void Destroy()
    {
        try
        {
            ExternalServers.RunAsync("redis-cli", "-p", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "shutdown", "nosave").Wait(TimeSpan.FromSeconds(10));
        }
        catch (Exception)
        {
            // Already gone.
        }

        try
        {
            Directory.Delete(root, recursive: true);
        }
        catch (Exception)
        {
            // scripts/test.sh sweeps what is left.
        }
    }
}
