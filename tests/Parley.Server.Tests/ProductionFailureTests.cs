using System.Net;
using System.Text.Json;
using Parley.Server.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Parley.Testing;

namespace Parley.Server.Tests;

/// <summary>Issue 3's failure tests: a database outage (E3) and ordering across partitions under concurrency (P4).</summary>
public sealed class ProductionFailureTests
{
    [Fact]
    public async Task While_postgres_is_down_sends_are_accepted_and_stored_exactly_once_in_order_when_it_returns()
    {
        await using var postgres = await ExternalServers.StartDedicatedPostgresAsync();
        var settings = await TestEngines.SettingsAsync(TestEngines.Production);
        settings["Parley:Postgres:ConnectionString"] = postgres.ConnectionString;
        await using var server = await TestServer.StartAsync(settings);
        using var client = server.Client();
        var alice = await client.SignUpAsync("alice");
        var bob = await client.SignUpAsync("bob");
        var conversation = await client.DirectAsync(alice, bob.UserId);
        await using var bobDevice = await client.ConnectAsync(bob);
        for (var i = 0; i < 5; i++)
        {
            await client.SendAsync(alice, conversation.Id, $"m{i}", $"m{i:D3}");
        }

        await client.WaitForStoredAsync(alice, conversation.Id, 5);

        await postgres.StopAsync();
        for (var i = 5; i < 45; i++)
        {
            Assert.Equal("pending", (await client.SendAsync(alice, conversation.Id, $"m{i}", $"m{i:D3}")).State);
        }

        // Readiness stays up (the ingress still works) but says it is degraded, with the backlog.
        var ready = await WaitForReadinessAsync(client, r => r.GetProperty("status").GetString() == "degraded"
            && r.GetProperty("checks").GetProperty("pipeline").GetProperty("status").GetString() == "degraded");
        Assert.True(ready.GetProperty("checks").GetProperty("pipeline").GetProperty("data").GetProperty("backlog").GetInt64() > 0);
        using (var history = await client.SendRawAsync(HttpMethod.Get, $"/api/v1/conversations/{conversation.Id}/messages", alice))
        {
            await ProblemAssert.IsAsync(history, HttpStatusCode.ServiceUnavailable, "SERVICE_UNAVAILABLE");
        }

        await postgres.StartAsync();

        var stored = await client.WaitForStoredAsync(alice, conversation.Id, 45, TimeSpan.FromSeconds(60));
        Assert.Equal(Enumerable.Range(1, 45).Select(i => (long)i), stored.Select(m => m.Sequence));
        Assert.Equal(Enumerable.Range(0, 45).Select(i => $"m{i:D3}"), stored.Select(m => m.ClientMessageId));
        var live = await bobDevice.WaitForMessagesAsync(m => m.Count >= 45);
        Assert.Equal(stored.Select(m => m.Id), live.Select(m => m.Id));
        await WaitForReadinessAsync(client, r => r.GetProperty("status").GetString() == "healthy");
        Assert.Empty(await server.Services.GetRequiredService<Core.Ports.IMessageLog>().ListDeadLettersAsync(10, default));
    }

    [Theory]
    [InlineData(TestEngines.Embedded)]
    [InlineData(TestEngines.Production)]
    public async Task With_16_partitions_and_many_concurrent_senders_every_conversation_keeps_its_append_order(string engine)
    {
        await using var server = await TestServer.StartAsync(await TestEngines.SettingsAsync(engine));
        using var client = server.Client();
        var senders = new List<Session>();
        for (var i = 0; i < 6; i++)
        {
            senders.Add(await client.SignUpAsync("s"));
        }

        // Every sender is in every group; each sender sends sequentially, all senders and groups at once.
        var groups = new List<Guid>();
        for (var g = 0; g < 8; g++)
        {
            groups.Add((await client.GroupAsync(senders[0], $"g{g}", [.. senders.Skip(1).Select(s => s.UserId)])).Id);
        }

        const int perSenderPerGroup = 12;
        await Task.WhenAll(senders.Select((sender, s) => Task.Run(async () =>
        {
            for (var n = 0; n < perSenderPerGroup; n++)
            {
                foreach (var group in groups)
                {
                    await client.SendAsync(sender, group, $"{s}:{n}", $"{s}:{n:D3}");
                }
            }
        })));

        foreach (var group in groups)
        {
            var stored = await client.WaitForStoredAsync(senders[0], group, senders.Count * perSenderPerGroup, TimeSpan.FromSeconds(60));
            Assert.Equal(Enumerable.Range(1, stored.Count).Select(i => (long)i), stored.Select(m => m.Sequence));
            for (var s = 0; s < senders.Count; s++)
            {
                var mine = stored.Where(m => m.SenderId == senders[s].UserId).Select(m => m.ClientMessageId).ToList();
                Assert.Equal(Enumerable.Range(0, perSenderPerGroup).Select(n => $"{s}:{n:D3}"), mine);
            }
        }
    }

    private static async Task<JsonElement> WaitForReadinessAsync(ParleyClient client, Func<JsonElement, bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        JsonElement last = default;
        while (DateTime.UtcNow < deadline)
        {
            using var response = await client.Http.GetAsync("/health/ready");
            last = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();
            if (condition(last))
            {
                return last;
            }

            await Task.Delay(100);
        }

        Assert.Fail($"readiness never matched; last: {last}");
        return last;
    }
}
