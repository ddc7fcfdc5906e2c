using System.Text.Json;
using Parley.Server.Tests.Infrastructure;

namespace Parley.Server.Tests;

/// <summary>
/// Two nodes share the outbox: the push planner runs on one of them at a time (its lease), so a message to an offline
/// device is pushed once, not once per node.
/// </summary>
public sealed class PushAcrossNodesTests() : ScratchDirectoryTest("parley-push-nodes-")
{
    [Fact]
    public async Task With_two_nodes_every_message_to_an_offline_device_is_pushed_exactly_once()
    {
        await using var gateway = await PushReceiver.StartAsync();
        gateway.Respond = _ => (200, "");
        var settings = await TestEngines.SettingsAsync(TestEngines.Production);
        settings["Parley:Push:Webhook:Url"] = new Uri(gateway.BaseAddress, "/gateway").AbsoluteUri;
        settings["Parley:Push:Webhook:Secret"] = "gateway-secret-0123456789";
        settings["Parley:Push:CoalesceWindow"] = "00:00:00";
        settings["Parley:Push:PollInterval"] = "00:00:00.050";
        settings["Parley:Events:PollInterval"] = "00:00:00.050";
        await using var a = await ServerProcess.StartAsync(Data, TestServer.FreePort(), settings);
        await using var b = await ServerProcess.StartAsync(Data, TestServer.FreePort(), settings);
        using var viaA = new ParleyClient(a.BaseAddress);
        using var viaB = new ParleyClient(b.BaseAddress);
        var (sender, offline) = (await viaA.SignUpAsync(), await viaB.SignUpAsync());
        await viaB.OkAsync<JsonElement>(HttpMethod.Post, "/api/v1/devices", offline, new { platform = "webhook", token = "two-nodes" }, System.Net.HttpStatusCode.Created);
        var conversation = (await viaA.DirectAsync(sender, offline.UserId)).Id;

        var sent = new List<Guid>();
        for (var i = 0; i < 20; i++)
        {
            sent.Add((await (i % 2 == 0 ? viaA : viaB).SendAsync(sender, conversation, $"m{i}")).MessageId);
        }

        List<Guid> Pushed() => [.. gateway.Requests.SelectMany(r => JsonDocument.Parse(r.Body).RootElement.GetProperty("messageIds").EnumerateArray().Select(m => m.GetGuid()))];
        await Eventually.TrueAsync(() => sent.All(Pushed().Contains), "every message pushed");
        // Both nodes poll the outbox all along; a second planner would have pushed some message again by now.
        await viaA.SendAsync(sender, conversation, "last");
        await Eventually.TrueAsync(() => Pushed().Count >= sent.Count + 1, "the last message pushed");
        var pushed = Pushed();
        Assert.Equal(pushed.Count, pushed.Distinct().Count());
    }
}
