using System.Net;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.Options;
using Parley.Server.Tests.Infrastructure;

namespace Parley.Server.Tests;

public sealed class RateLimitAndConfigTests
{
    [Fact]
    public async Task Sends_past_the_per_user_budget_get_429_with_retry_after_over_rest_and_hub_alike()
    {
        await using var server = await TestServer.StartAsync(new Dictionary<string, string?>
        {
            ["Parley:RateLimits:MessagesPerSecond"] = "1",
            ["Parley:RateLimits:MessageBurst"] = "2",
        });
        using var client = server.Client();
        var alice = await client.SignUpAsync();
        var bob = await client.SignUpAsync();
        var conversation = await client.DirectAsync(alice, bob.UserId);

        await using var device = await client.ConnectAsync(alice);

        // A burst of sends that all arrive within the same second, so the refill (one per second) cannot hide the limit
        // however slow the machine is: at most burst + refills of them pass, the rest are refused on either path.
        var rest = Enumerable.Range(0, 6).Select(i => client.SendRawAsync(HttpMethod.Post, $"/api/v1/conversations/{conversation.Id}/messages", alice, $$"""{"content":"rest {{i}}"}""")).ToList();
        var hub = Enumerable.Range(0, 6).Select(async i =>
        {
            try
            {
                await device.Connection.InvokeAsync<Ack>("SendMessage", new { conversationId = conversation.Id, content = $"hub {i}" });
                return null;
            }
            catch (HubException ex)
            {
                return ex.Message;
            }
        }).ToList();
        var responses = await Task.WhenAll(rest);
        var hubErrors = await Task.WhenAll(hub);

        var refused = responses.Where(r => r.StatusCode == HttpStatusCode.TooManyRequests).ToList();
        Assert.NotEmpty(refused);
        Assert.All(responses, r => Assert.Contains(r.StatusCode, new[] { HttpStatusCode.Accepted, HttpStatusCode.TooManyRequests }));
        var problem = await ProblemAssert.IsAsync(refused[0], HttpStatusCode.TooManyRequests, "RATE_LIMITED");
        Assert.True(int.Parse(refused[0].Headers.RetryAfter!.ToString(), System.Globalization.CultureInfo.InvariantCulture) >= 1);
        Assert.True(problem.Details!.Value.GetProperty("retryAfterSeconds").GetInt32() >= 1);
        Assert.Contains(hubErrors, e => e is not null && e.Contains("RATE_LIMITED", StringComparison.Ordinal));
        foreach (var response in responses)
        {
            response.Dispose();
        }

        // Bob has his own budget.
        Assert.Equal("pending", (await client.SendAsync(bob, conversation.Id, "mine")).State);
    }

    [Theory]
    [InlineData("Parley:Log:Partitions", "0")]
    [InlineData("Parley:Log:MaxRetries", "-1")]
    [InlineData("Parley:Engine", "Cassandra")]
    [InlineData("Parley:Limits:MaxContentBytes", "0")]
    [InlineData("Parley:Auth:AccessTokenLifetime", "00:00:01")]
    [InlineData("Parley:RateLimits:MessagesPerSecond", "0")]
    public async Task The_server_refuses_to_start_on_a_bad_setting_and_names_it(string key, string value)
    {
        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => TestServer.StartAsync(new Dictionary<string, string?> { [key] = value }));
        Assert.Contains(key, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_production_engine_without_connection_settings_refuses_to_start_and_names_them()
    {
        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => TestServer.StartAsync(new Dictionary<string, string?> { ["Parley:Engine"] = "Production" }));
        Assert.Contains("Parley:Redis:Configuration", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_production_engine_with_an_unreachable_redis_refuses_to_start_and_names_it()
    {
        var error = await Assert.ThrowsAnyAsync<Exception>(() => TestServer.StartAsync(new Dictionary<string, string?>
        {
            ["Parley:Engine"] = "Production",
            ["Parley:Redis:Configuration"] = $"127.0.0.1:{TestServer.FreePort()},connectTimeout=500",
            ["Parley:Postgres:ConnectionString"] = "Host=127.0.0.1;Port=1",
        }));
        Assert.Contains("Parley:Redis:Configuration", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_server_refuses_to_reopen_a_log_with_a_different_partition_count()
    {
        var data = Directory.CreateTempSubdirectory("parley-partitions-").FullName;
        await (await TestServer.StartAsync(new Dictionary<string, string?> { ["Parley:Log:Partitions"] = "8" }, data)).DisposeStoppedAsync();

        var error = await Assert.ThrowsAnyAsync<Exception>(() => TestServer.StartAsync(new Dictionary<string, string?> { ["Parley:Log:Partitions"] = "16" }, data));
        Assert.Contains("Parley:Log:Partitions", error.ToString(), StringComparison.Ordinal);
        Directory.Delete(data, recursive: true);
    }
}

public sealed class MigrateCommandTests
{
    [Fact]
    public async Task Migrate_applies_the_postgres_schema_once_and_reports_bad_settings()
    {
        var schema = "t_" + Guid.NewGuid().ToString("N");
        var connection = await Parley.Testing.ExternalServers.PostgresAsync();
        string[] args = ["--Parley:Engine=Production", $"--Parley:Postgres:ConnectionString={connection}", $"--Parley:Postgres:Schema={schema}"];

        Assert.Equal(0, await ParleyApp.MigrateAsync(args));
        Assert.Equal(0, await ParleyApp.MigrateAsync(args));
        await using var dataSource = Npgsql.NpgsqlDataSource.Create(connection);
        await using var command = dataSource.CreateCommand($"SELECT COUNT(*) FROM {schema}.schema_migrations");
        Assert.Equal((long)Parley.Postgres.PostgresMigrations.All.Count, await command.ExecuteScalarAsync());

        Assert.Equal(2, await ParleyApp.MigrateAsync(["--Parley:Engine=Production"]));
    }
}
