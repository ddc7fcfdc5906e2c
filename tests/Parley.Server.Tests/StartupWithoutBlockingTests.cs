using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Npgsql;
using Parley.Core.Ports;
using Parley.Server.Tests.Infrastructure;

namespace Parley.Server.Tests;

/// <summary>
/// Start-up does its I/O in the engines' starters, never in a constructor or a DI factory: building the production
/// engine's parts touches no socket, and an unreachable dependency still stops the start with the setting named.
/// </summary>
public sealed class StartupWithoutBlockingTests
{
    [Fact]
    public async Task Building_the_production_engine_opens_no_connection_to_redis_or_postgres()
    {
        // Listeners that never accept: any connect attempt would be queued on them (and a handshake would hang).
        using var redis = new TcpListener(IPAddress.Loopback, 0);
        using var postgres = new TcpListener(IPAddress.Loopback, 0);
        redis.Start();
        postgres.Start();
        var data = Directory.CreateTempSubdirectory("parley-no-io-").FullName;
        var args = new List<string> { "--urls", "http://127.0.0.1:0" };
        foreach (var (key, value) in TestServer.DefaultSettings(data).Concat(new Dictionary<string, string?>
        {
            ["Parley:Engine"] = "Production",
            ["Parley:Redis:Configuration"] = $"127.0.0.1:{((IPEndPoint)redis.LocalEndpoint).Port},connectTimeout=60000",
            ["Parley:Postgres:ConnectionString"] = $"Host=127.0.0.1;Port={((IPEndPoint)postgres.LocalEndpoint).Port};Timeout=60",
        }))
        {
            args.Add($"--{key}={value}");
        }

        // Build maps the endpoints and builds the engines eagerly (to surface bad settings): none of that may connect.
        await using var app = ParleyApp.Build([.. args]);
        _ = app.Services.GetRequiredService<IMessageLog>();
        _ = app.Services.GetRequiredService<IMessageStore>();
        _ = app.Services.GetRequiredService<IPartitionLeases>();
        _ = app.Services.GetRequiredService<IPresenceStore>();
        _ = app.Services.GetRequiredService<IRealtimeBus>();
        _ = app.Services.GetRequiredService<NpgsqlDataSource>();
        _ = app.Services.GetServices<IHostedService>().ToList();

        Assert.False(redis.Pending(), "something connected to Redis while the engine was being built");
        Assert.False(postgres.Pending(), "something connected to PostgreSQL while the engine was being built");
        Directory.Delete(data, recursive: true);
    }

    [Fact]
    public async Task Start_up_fails_with_a_message_naming_the_setting_when_postgres_is_unreachable()
    {
        var settings = await TestEngines.SettingsAsync(TestEngines.Production);
        settings["Parley:Postgres:ConnectionString"] = $"Host=127.0.0.1;Port={TestServer.FreePort()};Timeout=5";

        var error = await Assert.ThrowsAnyAsync<Exception>(() => TestServer.StartAsync(settings));

        Assert.Contains("Parley:Postgres:ConnectionString", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Start_up_fails_with_a_message_naming_the_setting_when_redis_is_unreachable()
    {
        var settings = await TestEngines.SettingsAsync(TestEngines.Production);
        settings["Parley:Redis:Configuration"] = $"127.0.0.1:{TestServer.FreePort()},connectTimeout=500";

        var error = await Assert.ThrowsAnyAsync<Exception>(() => TestServer.StartAsync(settings));

        Assert.Contains("Parley:Redis:Configuration", error.Message, StringComparison.Ordinal);
    }
}
