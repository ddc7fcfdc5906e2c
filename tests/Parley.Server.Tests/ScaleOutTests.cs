using System.Collections.Concurrent;
using Microsoft.AspNetCore.SignalR.Client;
using Parley.Server.Tests.Infrastructure;

namespace Parley.Server.Tests;

/// <summary>D3: two server processes sharing PostgreSQL and Redis, one of them killed (-9) mid-stream.</summary>
public sealed class ScaleOutTests() : ScratchDirectoryTest("parley-scaleout-")
{
    [Fact]
    public async Task Every_device_gets_every_message_once_while_one_of_two_nodes_is_killed_and_its_clients_move_to_the_other()
    {
        var settings = await TestEngines.SettingsAsync(TestEngines.Production);
        settings["Parley:Redis:ReclaimIdle"] = "00:00:02"; // the survivor takes over the dead node's log entries quickly
        var a = await ServerProcess.StartAsync(Data, TestServer.FreePort(), settings);
        await using var b = await ServerProcess.StartAsync(Data, TestServer.FreePort(), settings); // same keys directory
        try
        {
            using var viaA = new ParleyClient(a.BaseAddress);
            using var viaB = new ParleyClient(b.BaseAddress);
            var (me, peer) = (await viaA.SignUpAsync(), await viaB.SignUpAsync());
            var conversation = (await viaA.DirectAsync(peer, me.UserId)).Id;

            async Task<(HubConnection Connection, ConcurrentQueue<Message> Messages)> DeviceAsync(Uri node, Session who, bool messagePack, long from)
            {
                var device = await RealtimeTests.ConnectAsync(node, who, messagePack, resume: true);
                await device.Connection.InvokeAsync<List<ResumeResultDto>>("Resume", new[] { new ResumePositionDto { ConversationId = conversation, LastSequence = from } });
                return (device.Connection, device.Messages);
            }

            var onA = await DeviceAsync(a.BaseAddress, me, messagePack: false, 0);
            var onB = await DeviceAsync(b.BaseAddress, me, messagePack: true, 0);
            var peerOnB = await DeviceAsync(b.BaseAddress, peer, messagePack: false, 0);

            const int total = 60;
            var aAlive = true;
            for (var i = 0; i < total; i++)
            {
                if (i == 20)
                {
                    await a.KillAsync();
                    aAlive = false;
                }

                // A send that got no answer is retried on the surviving node with the same client id, until a deadline.
                var retryUntil = DateTime.UtcNow.AddSeconds(60);
                while (true)
                {
                    Assert.True(DateTime.UtcNow < retryUntil, $"m{i} was not accepted by either node within 60 s");
                    try
                    {
                        await (aAlive && i % 2 == 0 ? viaA : viaB).SendAsync(peer, conversation, $"m{i}", $"c{i}");
                        break;
                    }
                    catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or IOException)
                    {
                        aAlive = false;
                    }
                }
            }

            // The device that was on the killed node reconnects to the survivor and resumes from what it had.
            var had = onA.Messages.Select(m => m.Sequence).DefaultIfEmpty(0).Max();
            var moved = await DeviceAsync(b.BaseAddress, me, messagePack: false, had);
            await RealtimeTests.Until(seconds: 60, done: () => moved.Messages.Count + onA.Messages.Count >= total && onB.Messages.Count >= total && peerOnB.Messages.Count >= total);
            // One more message as the end marker on every live device: a duplicate would have come before it.
            await viaB.SendAsync(peer, conversation, "end", "end");
            await RealtimeTests.Until(seconds: 60, done: () => new[] { moved, onB, peerOnB }.All(d => d.Messages.Any(m => m.Sequence == total + 1)));

            var expected = Enumerable.Range(1, total + 1).Select(s => (long)s).ToList();
            Assert.Equal(expected, onB.Messages.Select(m => m.Sequence));
            Assert.Equal(expected, peerOnB.Messages.Select(m => m.Sequence));
            Assert.Equal(expected, onA.Messages.Concat(moved.Messages).Select(m => m.Sequence));
            Assert.Equal(total + 1, (await viaB.AllMessagesAsync(me, conversation)).Count);
            foreach (var connection in new[] { onA.Connection, onB.Connection, peerOnB.Connection, moved.Connection })
            {
                await connection.DisposeAsync();
            }
        }
        finally
        {
            await a.DisposeAsync();
        }
    }
}
