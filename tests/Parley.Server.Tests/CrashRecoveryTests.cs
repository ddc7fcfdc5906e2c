using System.Collections.Concurrent;
using Parley.Server.Tests.Infrastructure;

namespace Parley.Server.Tests;

/// <summary>P6: kill -9 mid-stream, restart on the same data: every acknowledged message is stored and delivered exactly once.</summary>
public sealed class CrashRecoveryTests : IDisposable
{
    private readonly string _data = Directory.CreateTempSubdirectory("parley-crash-").FullName;

    [Theory]
    [InlineData(TestEngines.Embedded)]
    [InlineData(TestEngines.Production)]
    public async Task Killing_the_server_mid_stream_loses_and_duplicates_nothing_that_was_acknowledged(string engine)
    {
        var port = TestServer.FreePort();
        var settings = await TestEngines.SettingsAsync(engine);
        var server = await ServerProcess.StartAsync(_data, port, settings);
        using var client = new ParleyClient(server.BaseAddress);
        var alice = await client.SignUpAsync("alice");
        var bob = await client.SignUpAsync("bob");
        var conversations = new List<Guid>();
        for (var i = 0; i < 4; i++)
        {
            var other = i == 0 ? bob : await client.SignUpAsync("peer");
            conversations.Add((await client.DirectAsync(alice, other.UserId)).Id);
        }

        var bobDevice = await client.ConnectAsync(bob);
        var acked = new ConcurrentDictionary<string, Guid>();
        var total = 400;
        var killed = new TaskCompletionSource();
        var failedAttempts = 0;

        // Senders keep going across the crash: a send that got no answer is retried with the same client id,
        // exactly as a real client would, until the restarted server acknowledges it.
        var senders = Enumerable.Range(0, 4).Select(s => Task.Run(async () =>
        {
            for (var i = s; i < total; i += 4)
            {
                var clientId = $"m{i:D4}";
                var conversation = conversations[i % conversations.Count];
                var ack = await client.SendUntilAcknowledgedAsync(alice, conversation, $"message {i}", clientId, TimeSpan.FromSeconds(120),
                    () => Interlocked.Increment(ref failedAttempts));
                acked[clientId] = ack.MessageId;

                if (acked.Count >= total / 3)
                {
                    killed.TrySetResult();
                }
            }
        })).ToList();

        await killed.Task.WaitAsync(TimeSpan.FromSeconds(60));
        await server.KillAsync();
        var liveBeforeCrash = bobDevice.Messages.ToList();
        await bobDevice.DisposeAsync();
        await Eventually.TrueAsync(() => TestServer.PortIsFree(port), $"port {port} to be free after the kill");
        server = await ServerProcess.StartAsync(_data, port, settings);
        await using (server)
        {
            await Task.WhenAll(senders).WaitAsync(TimeSpan.FromSeconds(120));
            Assert.Equal(total, acked.Count);
            Assert.True(failedAttempts > 0, "the crash should have interrupted the senders");

            // Bob reconnects and catches up from history after the last sequence he saw live.
            await using var bobAgain = await client.ConnectAsync(bob);
            var stored = new List<Parley.Server.Tests.Infrastructure.Message>();
            foreach (var conversation in conversations)
            {
                var expected = Enumerable.Range(0, total).Count(i => i % conversations.Count == conversations.IndexOf(conversation));
                var messages = await client.WaitForStoredAsync(alice, conversation, expected, TimeSpan.FromSeconds(60));
                Assert.Equal(expected, messages.Count);
                Assert.Equal(Enumerable.Range(1, expected).Select(i => (long)i), messages.Select(m => m.Sequence));
                stored.AddRange(messages);
            }

            // Stored exactly once: one row per acknowledged message id and per client id.
            Assert.Equal(total, stored.Select(m => m.Id).Distinct().Count());
            Assert.Equal(acked.Values.Order(), stored.Select(m => m.Id).Order());
            Assert.Equal(acked.Keys.Order(StringComparer.Ordinal), stored.Select(m => m.ClientMessageId!).Order(StringComparer.Ordinal));

            // Delivered exactly once to Bob: what he saw live before the crash plus what he catches up on.
            var bobConversation = conversations[0];
            var seenLive = liveBeforeCrash.Where(m => m.ConversationId == bobConversation).ToList();
            Assert.Equal(seenLive.Count, seenLive.Select(m => m.Sequence).Distinct().Count());
            Assert.Equal(Enumerable.Range(1, seenLive.Count).Select(i => (long)i), seenLive.Select(m => m.Sequence));
            var lastSeen = seenLive.Count == 0 ? 0 : seenLive[^1].Sequence;
            var caughtUp = (await client.HistoryAsync(bob, bobConversation, $"?after={lastSeen}&limit=200")).Items;
            var delivered = seenLive.Concat(caughtUp).ToList();
            Assert.Equal(stored.Where(m => m.ConversationId == bobConversation).Select(m => m.Id), delivered.Select(m => m.Id));
        }
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
