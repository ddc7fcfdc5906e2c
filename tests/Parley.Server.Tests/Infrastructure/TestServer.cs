using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Parley.Server.Tests.Infrastructure;

/// <summary>
/// A real Parley server (Kestrel on a loopback port) hosted in the test process, with its own data
/// directory. Settings default to fast password hashing and generous rate limits; tests override them.
/// </summary>
public sealed class TestServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private TestServer(WebApplication app, string dataDirectory, Uri baseAddress)
    {
        _app = app;
        DataDirectory = dataDirectory;
        BaseAddress = baseAddress;
    }

    public Uri BaseAddress { get; }

    public string DataDirectory { get; }

    public IServiceProvider Services => _app.Services;

    public static async Task<TestServer> StartAsync(IDictionary<string, string?>? settings = null, string? dataDirectory = null, Action<IServiceCollection>? services = null)
    {
        dataDirectory ??= Directory.CreateTempSubdirectory("parley-server-").FullName;
        var args = new List<string> { "--urls", "http://127.0.0.1:0", "--environment", "Testing" };
        foreach (var (key, value) in DefaultSettings(dataDirectory).Concat(settings ?? new Dictionary<string, string?>()))
        {
            args.Add($"--{key}={value}");
        }

        var app = ParleyApp.Build([.. args], builder =>
        {
            builder.Logging.SetMinimumLevel(LogLevel.Warning);
            services?.Invoke(builder.Services);
        });
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new TestServer(app, dataDirectory, new Uri(address));
    }

    public static Dictionary<string, string?> DefaultSettings(string dataDirectory) => new()
    {
        ["Parley:DataDirectory"] = dataDirectory,
        ["Logging:LogLevel:Default"] = "Warning",
        ["Logging:LogLevel:Parley.Server.Pipeline"] = "Error",
        ["Parley:Auth:PasswordIterations"] = "1000",
        ["Parley:RateLimits:MessagesPerSecond"] = "100000",
        ["Parley:RateLimits:MessageBurst"] = "100000",
        ["Parley:RateLimits:AuthPerMinute"] = "100000",
        ["Parley:Messages:ScheduleInterval"] = "00:00:00.200",
    };

    public ParleyClient Client() => new(BaseAddress);

    /// <summary>Stops the server but keeps its data directory, for tests that start again on it.</summary>
    public async Task DisposeStoppedAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await DisposeStoppedAsync();
        try
        {
            Directory.Delete(DataDirectory, recursive: true);
        }
        catch (IOException)
        {
            // Best effort: the OS temp cleaner takes what a lingering handle kept.
        }
    }

    /// <summary>Whether a listener could bind the port now (a killed server's socket is gone).</summary>
    public static bool PortIsFree(int port)
    {
        try
        {
            using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, port);
            listener.Start();
            return true;
        }
        catch (System.Net.Sockets.SocketException)
        {
            return false;
        }
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

/// <summary>
/// Settings for the production engines on the throwaway PostgreSQL and Redis, in a schema and key prefix
/// of their own so servers and tests never see each other's data.
/// </summary>
public static class TestEngines
{
    public const string Embedded = "Embedded";
    public const string Production = "Production";

    public static async Task<Dictionary<string, string?>> SettingsAsync(string engine)
    {
        if (engine == Embedded)
        {
            return [];
        }

        var id = Guid.NewGuid().ToString("N");
        return new Dictionary<string, string?>
        {
            ["Parley:Engine"] = Production,
            ["Parley:Postgres:ConnectionString"] = await Parley.Testing.ExternalServers.PostgresAsync(),
            ["Parley:Postgres:Schema"] = "t_" + id,
            ["Parley:Redis:Configuration"] = await Parley.Testing.ExternalServers.RedisAsync(),
            ["Parley:Redis:KeyPrefix"] = "t" + id,
            // A killed node's partitions move after one lease TTL; short here so restart and kill -9 tests stay quick.
            ["Parley:Log:LeaseTtl"] = "00:00:03",
        };
    }
}

/// <summary>One server for a whole test class; tests stay independent by registering their own users.</summary>
public abstract class SharedServerBase(string engine) : IAsyncLifetime
{
    private TestServer? _server;

    public TestServer Server => _server ?? throw new InvalidOperationException("Not started");

    public async Task InitializeAsync() => _server = await TestServer.StartAsync(await TestEngines.SettingsAsync(engine));

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }
}

public sealed class SharedServer() : SharedServerBase(TestEngines.Embedded);

public sealed class ProductionServer() : SharedServerBase(TestEngines.Production);

[CollectionDefinition(Name)]
public sealed class SharedServerCollection : ICollectionFixture<SharedServer>
{
    public const string Name = "shared server";
}

[CollectionDefinition(Name)]
public sealed class ProductionServerCollection : ICollectionFixture<ProductionServer>
{
    public const string Name = "production server";
}
