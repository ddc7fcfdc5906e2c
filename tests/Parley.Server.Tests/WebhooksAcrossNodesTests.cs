using System.Diagnostics.Metrics;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Parley.Core.Events;
using Parley.Server.Hosting;
using Parley.Server.Tests.Infrastructure;

namespace Parley.Server.Tests;

/// <summary>
/// E5 on two nodes sharing PostgreSQL and Redis: both follow the outbox and enqueue (the store keeps one delivery per
/// subscription and event), both dispatch (claims split the work), and still each event reaches the receiver once and
/// each conversation's events in order.
/// </summary>
public sealed class WebhooksAcrossNodesTests() : ScratchDirectoryTest("parley-webhook-nodes-")
{
    [Fact]
    public async Task Two_nodes_enqueue_and_send_each_event_once_and_each_conversations_events_in_order()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        var admin = "adm" + Guid.NewGuid().ToString("N")[..12];
        var settings = await TestEngines.SettingsAsync(TestEngines.Production);
        foreach (var (key, value) in WebhookTestSettings.Values)
        {
            settings[key] = value;
        }

        settings["Parley:Admins:0"] = admin;
        // No node dies here: a claim never expires under a POST, so nothing is sent twice.
        settings["Parley:Webhooks:ClaimTimeout"] = "00:01:00";
        var a = await TestServer.StartAsync(settings, Data);
        var b = await TestServer.StartAsync(settings, Data);
        try
        {
            using var sentByA = new MetricCollector<long>(a.Services.GetRequiredService<IMeterFactory>(), Telemetry.WebhooksMeter, "webhook_deliveries");
            using var sentByB = new MetricCollector<long>(b.Services.GetRequiredService<IMeterFactory>(), Telemetry.WebhooksMeter, "webhook_deliveries");
            using var viaA = a.Client();
            using var viaB = b.Client();
            using (var register = await viaA.SendRawAsync(HttpMethod.Post, "/api/v1/auth/register", null, JsonSerializer.Serialize(new { username = admin, password = "correct horse" })))
            {
                Assert.True(register.IsSuccessStatusCode);
            }

            var adminSession = await viaB.LoginAsync(admin, "correct horse");
            await viaB.OkAsync<JsonElement>(HttpMethod.Post, "/api/v1/admin/webhooks", adminSession,
                new { url = receiver.Url.ToString(), eventTypes = new[] { DomainEventTypes.MessageStored } }, System.Net.HttpStatusCode.Created);
            var alice = await viaA.SignUpAsync("alice");
            var conversations = new List<Guid>();
            for (var i = 0; i < 3; i++)
            {
                conversations.Add((await viaA.DirectAsync(alice, (await viaA.SignUpAsync("peer")).UserId)).Id);
            }

            const int total = 60;
            for (var i = 0; i < total; i++)
            {
                await (i % 2 == 0 ? viaA : viaB).SendAsync(alice, conversations[i % 3], $"message {i}");
            }

            await Eventually.TrueAsync(() => receiver.Received.Select(r => r.EventId).Distinct().Count() >= total, $"{total} events at the receiver", TimeSpan.FromSeconds(60));
            long Delivered(MetricCollector<long> sent) => sent.GetMeasurementSnapshot().Where(m => m.Tags.TryGetValue("status", out var s) && (string?)s == "delivered").Sum(m => m.Value);
            // Each node counts what it sent, after recording it: the last count may come a moment after the POST.
            await Eventually.TrueAsync(() => Delivered(sentByA) + Delivered(sentByB) >= total, "both nodes' delivered counts to add up");

            Assert.Equal(total, receiver.Received.Count);
            Assert.Equal(total, Delivered(sentByA) + Delivered(sentByB));
            var received = receiver.Received.Select(r => r.Json.GetProperty("data")).ToList();
            foreach (var conversation in conversations)
            {
                Assert.Equal(Enumerable.Range(1, total / 3).Select(i => (long)i),
                    received.Where(d => d.GetProperty("conversationId").GetGuid() == conversation).Select(d => d.GetProperty("sequence").GetInt64()));
            }
        }
        finally
        {
            await a.DisposeStoppedAsync();
            await b.DisposeStoppedAsync();
        }
    }
}
