using System.Text.Json;
using Parley.Server.Tests.Infrastructure;

namespace Parley.Server.Tests;

/// <summary>
/// P5/P6: push jobs are durable on the log engine. A kill -9 with jobs claimed (their calls hanging at the provider) and
/// jobs still waiting loses none: after the restart every message is pushed at least once (a job claimed by the dead
/// process comes back when its claim runs out; one it had sent may come again: at least once, as documented).
/// </summary>
public sealed class PushAcrossKillTests : IDisposable
{
    private readonly string _data = Directory.CreateTempSubdirectory("parley-push-kill-").FullName;

    [Theory]
    [InlineData(TestEngines.Embedded)]
    [InlineData(TestEngines.Production)]
    public async Task Pending_push_jobs_survive_a_kill_and_every_message_is_pushed_at_least_once(string engine)
    {
        await using var gateway = await PushReceiver.StartAsync();
        var answering = false;
        gateway.Respond = _ => Volatile.Read(ref answering) ? (200, "") : null;
        var port = TestServer.FreePort();
        var settings = await TestEngines.SettingsAsync(engine);
        settings["Parley:Push:Webhook:Url"] = new Uri(gateway.BaseAddress, "/gateway").AbsoluteUri;
        settings["Parley:Push:Webhook:Secret"] = "gateway-secret-0123456789";
        settings["Parley:Push:CoalesceWindow"] = "00:00:00.300";
        settings["Parley:Push:ClaimTimeout"] = "00:00:03";
        settings["Parley:Push:ProviderTimeout"] = "00:00:02";
        settings["Parley:Push:PollInterval"] = "00:00:00.050";
        settings["Parley:Events:PollInterval"] = "00:00:00.050";
        var server = await ServerProcess.StartAsync(_data, port, settings);
        using var client = new ParleyClient(server.BaseAddress);
        var sender = await client.SignUpAsync("sender");
        var conversations = new List<Guid>();
        for (var i = 0; i < 4; i++)
        {
            var offline = await client.SignUpAsync("offline");
            await client.OkAsync<JsonElement>(HttpMethod.Post, "/api/v1/devices", offline, new { platform = "webhook", token = $"kill-{i}-{Guid.NewGuid():N}" }, System.Net.HttpStatusCode.Created);
            conversations.Add((await client.DirectAsync(sender, offline.UserId)).Id);
        }

        var sent = new List<Guid>();
        foreach (var conversation in conversations)
        {
            sent.Add((await client.SendAsync(sender, conversation, "before the kill")).MessageId);
        }

        // Every device's first push is in a call the provider holds; then more messages, into jobs of their own.
        await Eventually.TrueAsync(() => gateway.InFlight == conversations.Count, "the first pushes hanging at the provider", TimeSpan.FromSeconds(60));
        foreach (var conversation in conversations)
        {
            sent.Add((await client.SendAsync(sender, conversation, "just before the kill")).MessageId);
        }

        await server.KillAsync();
        var afterKill = gateway.Requests.Count;
        Volatile.Write(ref answering, true);
        gateway.ReleaseHanging();
        await Eventually.TrueAsync(() => TestServer.PortIsFree(port), $"port {port} to be free after the kill");
        await using (server = await ServerProcess.StartAsync(_data, port, settings))
        {
            await Eventually.TrueAsync(() =>
            {
                var pushed = gateway.Requests.Skip(afterKill)
                    .SelectMany(r => JsonDocument.Parse(r.Body).RootElement.GetProperty("messageIds").EnumerateArray().Select(m => m.GetGuid()))
                    .ToHashSet();
                return sent.All(pushed.Contains);
            }, "every message pushed after the restart", TimeSpan.FromSeconds(90));
        }
    }

    public void Dispose() => Directory.Delete(_data, recursive: true);
}
