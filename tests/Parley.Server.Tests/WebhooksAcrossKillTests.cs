using System.Collections.Concurrent;
using System.Text.Json;
using Parley.Core.Events;
using Parley.Server.Tests.Infrastructure;

namespace Parley.Server.Tests;

/// <summary>
/// E5 across a kill -9: webhook deliveries are durable work. Events the server stored before the kill, whether already
/// enqueued, claimed, in flight or not yet read by the enqueuer, all reach the receiver after the restart (at least
/// once), and each conversation's events still arrive in order (a repeat only ever repeats the last one sent).
/// </summary>
public sealed class WebhooksAcrossKillTests() : ScratchDirectoryTest("parley-webhooks-")
{
    [Theory]
    [InlineData(TestEngines.Embedded)]
    [InlineData(TestEngines.Production)]
    public async Task Every_stored_message_is_posted_at_least_once_and_in_order_per_conversation_across_a_kill(string engine)
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        var port = TestServer.FreePort();
        var admin = "adm" + Guid.NewGuid().ToString("N")[..12];
        var settings = await TestEngines.SettingsAsync(engine);
        foreach (var (key, value) in WebhookTestSettings.Values)
        {
            settings[key] = value;
        }

        settings["Parley:Admins:0"] = admin;
        var server = await ServerProcess.StartAsync(Data, port, settings);
        using var client = new ParleyClient(server.BaseAddress);
        using (var register = await client.SendRawAsync(HttpMethod.Post, "/api/v1/auth/register", null, JsonSerializer.Serialize(new { username = admin, password = "correct horse" })))
        {
            Assert.True(register.IsSuccessStatusCode);
        }

        var adminSession = await client.LoginAsync(admin, "correct horse");
        await client.OkAsync<JsonElement>(HttpMethod.Post, "/api/v1/admin/webhooks", adminSession,
            new { url = receiver.Url.ToString(), eventTypes = new[] { DomainEventTypes.MessageStored } }, System.Net.HttpStatusCode.Created);
        var alice = await client.SignUpAsync("alice");
        var conversations = new List<Guid>();
        for (var i = 0; i < 3; i++)
        {
            conversations.Add((await client.DirectAsync(alice, (await client.SignUpAsync("peer")).UserId)).Id);
        }

        const int total = 60;
        var acked = new ConcurrentDictionary<string, Guid>();
        var killed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var senders = client.SendAcrossAKillAsync(alice, conversations, total, killed.Task, acked);

        // Kill while deliveries are going out: some are at the receiver, more are queued or not yet enqueued.
        await Eventually.TrueAsync(() => receiver.Received.Count >= 5, "the first deliveries at the receiver", TimeSpan.FromSeconds(60));
        await server.KillAsync();
        killed.SetResult();
        await Eventually.TrueAsync(() => TestServer.PortIsFree(port), $"port {port} to be free after the kill");
        server = await ServerProcess.StartAsync(Data, port, settings);
        await using (server)
        {
            await senders.WaitAsync(TimeSpan.FromSeconds(120));
            await Eventually.TrueAsync(() => receiver.Received.Select(r => r.EventId).Distinct().Count() >= total, $"{total} distinct events at the receiver",
                TimeSpan.FromSeconds(90));

            var received = receiver.Received.Select(r => r.Json.GetProperty("data")).ToList();
            Assert.Equal(acked.Values.Order(), received.Select(d => d.GetProperty("messageId").GetGuid()).Distinct().Order());
            foreach (var conversation in conversations)
            {
                var sequences = received.Where(d => d.GetProperty("conversationId").GetGuid() == conversation).Select(d => d.GetProperty("sequence").GetInt64()).ToList();
                Assert.True(sequences.Zip(sequences.Skip(1)).All(p => p.Second == p.First || p.Second == p.First + 1),
                    $"conversation {conversation} arrived out of order: {string.Join(",", sequences)}");
                Assert.Equal(Enumerable.Range(1, total / 3).Select(i => (long)i), sequences.Distinct());
            }
        }
    }
}
