using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using Parley.Core.Events;
using Parley.Server.Tests.Infrastructure;

namespace Parley.Server.Tests;

/// <summary>
/// E1: the outbox reader follows the domain events across a kill -9. The event file (Parley:Events:FilePath) is the
/// consumer: after the restart it must hold every committed change's event exactly once, in order.
/// </summary>
public sealed class DomainEventFileAcrossKillTests : IDisposable
{
    private readonly string _data = Directory.CreateTempSubdirectory("parley-events-").FullName;

    [Theory]
    [InlineData(TestEngines.Embedded)]
    [InlineData(TestEngines.Production)]
    public async Task The_event_file_holds_every_change_exactly_once_in_order_across_a_kill(string engine)
    {
        var port = TestServer.FreePort();
        var settings = await TestEngines.SettingsAsync(engine);
        settings["Parley:Events:FilePath"] = "events/events.jsonl";
        settings["Parley:Events:BatchSize"] = "16";
        var file = Path.Combine(_data, "events", "events.jsonl");
        var server = await ServerProcess.StartAsync(_data, port, settings);
        using var client = new ParleyClient(server.BaseAddress);
        var alice = await client.SignUpAsync("alice");
        var peers = new List<Session>();
        var conversations = new List<Guid>();
        for (var i = 0; i < 3; i++)
        {
            peers.Add(await client.SignUpAsync("peer"));
            conversations.Add((await client.DirectAsync(alice, peers[^1].UserId)).Id);
        }

        const int total = 240;
        var acked = new ConcurrentDictionary<string, Guid>();
        var killed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var senders = client.SendAcrossAKillAsync(alice, conversations, total, killed.Task, acked);

        // Kill while the reader is mid-stream: some messages are in the file, more are still coming.
        await Eventually.TrueAsync(() => Lines(file).Count(l => l.Type == DomainEventTypes.MessageStored) >= 40, "the first stored messages in the event file", TimeSpan.FromSeconds(60));
        await server.KillAsync();
        Assert.True(acked.Count < total, "the kill should come before the senders finish");
        killed.SetResult();
        await Eventually.TrueAsync(() => TestServer.PortIsFree(port), $"port {port} to be free after the kill");
        server = await ServerProcess.StartAsync(_data, port, settings);
        await using (server)
        {
            await senders.WaitAsync(TimeSpan.FromSeconds(120));
            await Eventually.TrueAsync(() => Lines(file).Count(l => l.Type == DomainEventTypes.MessageStored) >= total, $"{total} stored messages in the event file", TimeSpan.FromSeconds(90));

            var lines = Lines(file);
            Assert.Equal(lines.Count, lines.Select(l => l.Id).Distinct().Count());
            Assert.True(lines.Zip(lines.Skip(1)).All(p => p.First.Cursor < p.Second.Cursor), "cursors must increase line by line");
            var counts = lines.GroupBy(l => l.Type).ToDictionary(g => g.Key, g => g.Count());
            Assert.Equal(4, counts[DomainEventTypes.UserRegistered]);
            Assert.Equal(4, counts[DomainEventTypes.SessionStarted]);
            Assert.Equal(3, counts[DomainEventTypes.ConversationCreated]);
            Assert.Equal(total, counts[DomainEventTypes.MessageStored]);
            Assert.Equal(4, counts.Count);

            var stored = lines.Where(l => l.Type == DomainEventTypes.MessageStored).Select(l => l.Data).ToList();
            Assert.Equal(acked.Values.Order(), stored.Select(d => d.GetProperty("messageId").GetGuid()).Order());
            foreach (var conversation in conversations)
            {
                var sequences = stored.Where(d => d.GetProperty("conversationId").GetGuid() == conversation).Select(d => d.GetProperty("sequence").GetInt64()).ToList();
                Assert.Equal(Enumerable.Range(1, sequences.Count).Select(i => (long)i), sequences);
            }
        }
    }

    private sealed record Line(Guid Id, string Type, EventCursor Cursor, JsonElement Data);

    /// <summary>The complete lines of the file as it is now (the server may be writing the next one).</summary>
    private static List<Line> Lines(string path)
    {
        if (!File.Exists(path))
        {
            return [];
        }

        string text;
        using (var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete))
        using (var reader = new StreamReader(stream, Encoding.UTF8))
        {
            text = reader.ReadToEnd();
        }

        var complete = text[..(text.LastIndexOf('\n') + 1)];
        return complete.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line =>
        {
            var root = JsonDocument.Parse(line).RootElement;
            return new Line(root.GetProperty("id").GetGuid(), root.GetProperty("type").GetString()!,
                EventCursor.Parse(root.GetProperty("cursor").GetString()!), root.GetProperty("data").Clone());
        }).ToList();
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(_data, recursive: true);
        }
        catch (IOException)
        {
            // Best effort.
        }
    }
}
