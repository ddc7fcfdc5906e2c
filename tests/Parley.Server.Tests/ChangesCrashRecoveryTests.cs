using System.Collections.Concurrent;
using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.SignalR.Client;
using Parley.Server.Tests.Infrastructure;

namespace Parley.Server.Tests;

public sealed class EmbeddedChangesCrashRecoveryTests() : ChangesCrashRecoveryTests(TestEngines.Embedded);

public sealed class ProductionChangesCrashRecoveryTests() : ChangesCrashRecoveryTests(TestEngines.Production);

/// <summary>
/// Issue 15: kill -9 during a stream of sends, edits, reactions and deletes for everyone, restart on the same data:
/// every acknowledged change is applied exactly once, and a device that resumes from the start sees the change
/// positions 1..N, N being the number of acknowledged changes that changed something.
/// </summary>
public abstract class ChangesCrashRecoveryTests(string engine) : IDisposable
{
    private const int MessagesPerSender = 12;
    private const int EditsPerMessage = 4;

    /// <summary>Each sent message takes its send and four more requests (four edits, or two edits, a reaction and the delete).</summary>
    private const int RequestsPerSender = MessagesPerSender * (1 + EditsPerMessage);

    /// <summary>About a third of the stream (two senders, three reactors making two requests per sender request) before the kill.</summary>
    private const int AcknowledgedBeforeKill = (2 + 3 * 2) * RequestsPerSender / 3;

    private static readonly string[] Keys = [":fire:", ":ok:", "👍"];
    private static readonly TimeSpan Within = TimeSpan.FromSeconds(120);

    private readonly string _data = Directory.CreateTempSubdirectory("parley-changes-crash-").FullName;
    private readonly Lock _gate = new();
    private readonly List<Sent> _sent = [];
    private readonly TaskCompletionSource _killNow = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly List<SemaphoreSlim> _reactorTurns = [];
    private int _expectedChanges;
    private int _acknowledged;
    private int _failedAttempts;

    [Fact]
    public async Task Killing_the_server_mid_stream_of_edits_and_reactions_loses_and_doubles_no_acknowledged_change()
    {
        var port = TestServer.FreePort();
        var settings = await TestEngines.SettingsAsync(engine);
        var server = await ServerProcess.StartAsync(_data, port, settings);
        using var client = new ParleyClient(server.BaseAddress);
        var (alice, bob) = (await client.SignUpAsync("alice"), await client.SignUpAsync("bob"));
        var reactors = new[] { await client.SignUpAsync("carol"), await client.SignUpAsync("dave"), await client.SignUpAsync("erin") };
        var group = (await client.GroupAsync(alice, "crash", [bob.UserId, .. reactors.Select(r => r.UserId)])).Id;
        var watcher = await ChangeRecorder.ConnectAsync(client, reactors[1]);

        _reactorTurns.AddRange(reactors.Select(_ => new SemaphoreSlim(0)));
        var actors = new List<Task>
        {
            Task.Run(() => SenderAsync(client, alice, group, "alice")),
            Task.Run(() => SenderAsync(client, bob, group, "bob")),
        };
        actors.AddRange(reactors.Select((r, i) => Task.Run(() => ReactorAsync(client, r, i))));
        var stream = Task.WhenAll(actors);

        await Task.WhenAny(_killNow.Task, stream).WaitAsync(TimeSpan.FromSeconds(60));
        if (!_killNow.Task.IsCompleted)
        {
            await stream; // an actor failed before the kill: its exception says why
        }

        await server.KillAsync();
        var liveBeforeCrash = watcher.Changes;
        await watcher.DisposeAsync();
        await Eventually.TrueAsync(() => TestServer.PortIsFree(port), $"port {port} to be free after the kill");
        server = await ServerProcess.StartAsync(_data, port, settings);
        await using (server)
        {
            await stream.WaitAsync(Within);
            Assert.True(_failedAttempts > 0, "the crash should have interrupted the stream");

            // Applied exactly once: each message's content, edit count and reactions are those of the model.
            await WaitUntilStoredAsync(client, alice, group, "the acknowledged changes");
            foreach (var sent in _sent)
            {
                var edits = await client.OkAsync<JsonElement>(HttpMethod.Get, $"/api/v1/messages/{sent.Id}/edits", alice);
                var items = edits.GetProperty("items").EnumerateArray().ToList();
                // A delete erases the edit history along with the content.
                Assert.Equal(sent.Deleted ? [] : sent.Versions.SkipLast(1), items.Select(e => e.GetProperty("previousContent").GetString()!));
                Assert.Equal(Enumerable.Range(1, items.Count), items.Select(e => e.GetProperty("editNumber").GetInt32()));
            }

            // No gap, no repeat: a device resuming from nothing gets change positions 1..N, N the changes that changed something.
            var replayed = await ReplayAllChangesAsync(client, reactors[2], group);
            Assert.Equal(_sent.Sum(s => s.Versions.Count - 1), replayed.Count(c => c.Name == "messageEdited"));
            Assert.Equal(_sent.Count(s => s.Deleted), replayed.Count(c => c.Name == "messageDeleted"));
            Assert.Equal(Reactions(_sent), Reactions(replayed));

            // What the watcher saw live before the crash is the same change at the same position: nothing was renumbered.
            Assert.Equal(liveBeforeCrash.Count, liveBeforeCrash.Select(c => c.Sequence).Distinct().Count());
            var positions = replayed.ToDictionary(c => c.Sequence);
            Assert.All(liveBeforeCrash, c => Assert.Equal(Describe(c), Describe(positions[c.Sequence])));

            // A client that lost its acks sends every edit and delete again with its clientChangeId: each is the change
            // already applied, not a new one (an old version would come back as the content, and take a position).
            var replays = 0;
            foreach (var sent in _sent)
            {
                if (sent.Deleted)
                {
                    await client.OkAsync<JsonElement>(HttpMethod.Delete, DeletePath(sent), sent.Sender, null, HttpStatusCode.Accepted);
                    replays++;
                    continue;
                }

                for (var edit = 1; edit < sent.Versions.Count; edit++)
                {
                    await client.OkAsync<JsonElement>(HttpMethod.Patch, $"/api/v1/messages/{sent.Id}", sent.Sender, EditBody(sent, edit), HttpStatusCode.Accepted);
                    replays++;
                }
            }

            // A new change after them, in the same partition: once it is applied, so are they.
            var marked = _sent.First(s => !s.Deleted);
            await client.OkAsync<JsonElement>(HttpMethod.Put, ReactionPath(marked, ":tada:"), reactors[0], null, HttpStatusCode.Accepted);
            Changed(() => marked.Reactions.Add((reactors[0].UserId, ":tada:")));
            await WaitUntilStoredAsync(client, alice, group, $"the {replays} changes sent again, and one more");
            await ReplayAllChangesAsync(client, reactors[2], group);
        }
    }

    /// <summary>The changes a new device gets when it resumes from nothing: positions 1..N exactly, N the model's count.</summary>
    private async Task<IReadOnlyList<Change>> ReplayAllChangesAsync(ParleyClient client, Session who, Guid group)
    {
        await using var device = await ChangeRecorder.ConnectAsync(client, who);
        var resumed = (await device.Connection.InvokeAsync<JsonElement>("Resume", new[] { new { conversationId = group, lastSequence = 0L, lastChangeSequence = 0L } }))[0];
        var changes = resumed.GetProperty("changes");
        Assert.Equal("recovered", changes.GetProperty("status").GetString());
        Assert.Equal(_expectedChanges, changes.GetProperty("latestChangeSequence").GetInt64());
        Assert.Equal(_expectedChanges, changes.GetProperty("replayed").GetInt64());
        // The replay went out before the answer; the client library hands it to the handlers on its own schedule.
        await Eventually.TrueAsync(() => device.Changes.Count >= _expectedChanges, $"the {_expectedChanges} replayed changes");
        var replayed = device.Changes;
        Assert.Equal(Enumerable.Range(1, _expectedChanges).Select(i => (long)i), replayed.Select(c => c.Sequence));
        return replayed;
    }

    /// <summary>Waits until the stored messages match the model, and fails with what still differs at the deadline.</summary>
    private async Task WaitUntilStoredAsync(ParleyClient client, Session reader, Guid group, string what)
    {
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (Mismatch(await client.OkAsync<JsonElement>(HttpMethod.Get, $"/api/v1/conversations/{group}/messages?after=0&limit=200", reader)) is { } mismatch)
        {
            Assert.True(DateTime.UtcNow < until, $"the stored messages never matched {what}: {mismatch}");
            await Task.Delay(100); // polling interval of this deadline-bounded wait
        }
    }

    /// <summary>A sender: sends her messages, and between sends edits her earlier ones; every sixth gets two edits, her reaction and a delete.</summary>
    private async Task SenderAsync(ParleyClient client, Session me, Guid group, string name)
    {
        var mine = new List<Sent>();
        for (var i = 0; i < MessagesPerSender; i++)
        {
            var content = $"{name} m{i}";
            var ack = await client.SendUntilAcknowledgedAsync(me, group, content, $"{name}-m{i}", Within, Failed);
            var sent = new Sent(ack.MessageId, me, content, deletable: i % 6 == 1);
            lock (_gate)
            {
                _sent.Add(sent);
            }

            mine.Add(sent);
            SenderAcknowledged();
            foreach (var earlier in mine.SkipLast(1))
            {
                await NextChangeAsync(client, me, earlier);
            }
        }

        while (mine.FirstOrDefault(m => !Finished(m)) is { } unfinished)
        {
            await NextChangeAsync(client, me, unfinished);
        }
    }

    private static bool Finished(Sent m) => m.Deleted || m.Versions.Count - 1 == EditsPerMessage;

    private async Task NextChangeAsync(ParleyClient client, Session me, Sent m)
    {
        if (Finished(m))
        {
            return;
        }

        var edits = m.Versions.Count - 1;
        if (m.Deletable && edits == 2)
        {
            // Nobody else touches a message about to be deleted: a change after the delete would be refused (MESSAGE_DELETED).
            await client.ChangeUntilAcknowledgedAsync(me, HttpMethod.Put, ReactionPath(m, Keys[1]), null, Within, Failed);
            Changed(() => m.Reactions.Add((me.UserId, Keys[1])));
            SenderAcknowledged();
            await client.ChangeUntilAcknowledgedAsync(me, HttpMethod.Delete, DeletePath(m), null, Within, Failed);
            Changed(() =>
            {
                m.Deleted = true;
                m.Reactions.Clear();
                return true;
            });
            SenderAcknowledged();
            return;
        }

        // Distinct contents: every edit changes something, so each acknowledged one must add exactly one version.
        var content = $"{m.Versions[0]} v{edits + 1}";
        await client.ChangeUntilAcknowledgedAsync(me, HttpMethod.Patch, $"/api/v1/messages/{m.Id}", EditBody(m, edits + 1, content), Within, Failed);
        Changed(() =>
        {
            m.Versions.Add(content);
            return true;
        });
        SenderAcknowledged();
    }

    /// <summary>
    /// A reactor: one reaction request per request a sender has had acknowledged, so reactions stay interleaved with the
    /// edits across the crash. Mostly toggles one of its keys; every fifth adds one it may already have (unchanged then).
    /// Reactions carry no client id: a retried one is the same add or remove, which changes nothing the second time.
    /// </summary>
    private async Task ReactorAsync(ParleyClient client, Session me, int index)
    {
        for (var i = 0; i < 2 * RequestsPerSender; i++)
        {
            Assert.True(await _reactorTurns[index].WaitAsync(Within), "the senders stopped");
            Sent target;
            bool add;
            var key = Keys[(i + index) % Keys.Length];
            lock (_gate)
            {
                var open = _sent.Where(s => !s.Deletable).ToList();
                target = open[(i * 5 + index) % open.Count];
                add = i % 5 == 0 || !target.Reactions.Contains((me.UserId, key));
            }

            await client.ChangeUntilAcknowledgedAsync(me, add ? HttpMethod.Put : HttpMethod.Delete, ReactionPath(target, key), null, Within, Failed);
            Changed(() => add ? target.Reactions.Add((me.UserId, key)) : target.Reactions.Remove((me.UserId, key)));
            Acknowledged();
        }
    }

    /// <summary>Edit number <paramref name="edit"/> of <paramref name="m"/>: its content (the acknowledged one by default) and its clientChangeId.</summary>
    private static object EditBody(Sent m, int edit, string? content = null) => new { content = content ?? m.Versions[edit], clientChangeId = $"edit-{m.Id:N}-{edit}" };

    private static string DeletePath(Sent m) => $"/api/v1/messages/{m.Id}?for=everyone&clientChangeId=delete-{m.Id:N}";

    private static string ReactionPath(Sent m, string key) => $"/api/v1/messages/{m.Id}/reactions/{Uri.EscapeDataString(key)}";

    /// <summary>Applies an acknowledged change to the model; <paramref name="apply"/> says whether it changed something (then it takes a change position).</summary>
    private void Changed(Func<bool> apply)
    {
        lock (_gate)
        {
            if (apply())
            {
                _expectedChanges++;
            }
        }
    }

    private void SenderAcknowledged()
    {
        foreach (var turns in _reactorTurns)
        {
            turns.Release();
        }

        Acknowledged();
    }

    private void Acknowledged()
    {
        if (Interlocked.Increment(ref _acknowledged) >= AcknowledgedBeforeKill)
        {
            _killNow.TrySetResult();
        }
    }

    private void Failed() => Interlocked.Increment(ref _failedAttempts);


    /// <summary>What differs between the stored messages and the model, or null when nothing does.</summary>
    private string? Mismatch(JsonElement page)
    {
        var stored = page.GetProperty("items").EnumerateArray().ToDictionary(m => m.GetProperty("id").GetGuid());
        var problems = new List<string>();
        if (stored.Count != _sent.Count)
        {
            problems.Add($"{stored.Count} messages stored, {_sent.Count} sent");
        }

        foreach (var sent in _sent)
        {
            var expected = sent.Deleted ? "deleted '' " : $"'{sent.Versions[^1]}' {sent.Versions.Count - 1} edits ";
            expected += Counts(sent.Reactions.GroupBy(r => r.Key, StringComparer.Ordinal).Select(g => (g.Key, g.Count())));
            var actual = !stored.TryGetValue(sent.Id, out var view)
                ? "not stored"
                : (view.Flag("deleted") ? "deleted " : "") + $"'{view.GetProperty("content").GetString()}' "
                    + (view.Flag("deleted") ? "" : $"{view.Count("editCount")} edits ")
                    + Counts(view.TryGetProperty("reactions", out var r) ? r.EnumerateArray().Select(k => (k.GetProperty("key").GetString()!, k.GetProperty("count").GetInt32())) : []);
            if (!string.Equals(expected, actual, StringComparison.Ordinal))
            {
                problems.Add($"{sent.Versions[0]}: expected {expected}, stored {actual}");
            }
        }

        return problems.Count == 0 ? null : string.Join("; ", problems);

        static string Counts(IEnumerable<(string Key, int Count)> counts) =>
            "[" + string.Join(",", counts.OrderBy(c => c.Key, StringComparer.Ordinal).Select(c => $"{c.Key}={c.Count}")) + "]";
    }

    /// <summary>The final (message, user, key) reactions of the model.</summary>
    private static string Reactions(IEnumerable<Sent> sent) =>
        string.Join(",", sent.SelectMany(s => s.Reactions.Select(r => $"{s.Id:N}/{r.User:N}/{r.Key}")).Order(StringComparer.Ordinal));

    /// <summary>The same, folded from reactionChanged and messageDeleted events in change order.</summary>
    private static string Reactions(IEnumerable<Change> changes)
    {
        var present = new HashSet<(Guid Message, Guid User, string Key)>();
        foreach (var c in changes)
        {
            switch (c.Name)
            {
                case "reactionChanged" when c.Payload.GetProperty("added").GetBoolean():
                    present.Add((c.MessageId, c.Payload.GetProperty("userId").GetGuid(), c.Payload.GetProperty("key").GetString()!));
                    break;
                case "reactionChanged":
                    present.Remove((c.MessageId, c.Payload.GetProperty("userId").GetGuid(), c.Payload.GetProperty("key").GetString()!));
                    break;
                case "messageDeleted":
                    present.RemoveWhere(r => r.Message == c.MessageId);
                    break;
            }
        }

        return string.Join(",", present.Select(r => $"{r.Message:N}/{r.User:N}/{r.Key}").Order(StringComparer.Ordinal));
    }

    private static string Describe(Change c) => c.Name == "reactionChanged"
        ? $"{c.Name} {c.MessageId} {c.Payload.GetProperty("userId").GetGuid()} {c.Payload.GetProperty("key").GetString()} {c.Payload.GetProperty("added").GetBoolean()}"
        : $"{c.Name} {c.MessageId}";

    public void Dispose()
    {
        foreach (var turns in _reactorTurns)
        {
            turns.Dispose();
        }

        try
        {
            Directory.Delete(_data, recursive: true);
        }
        catch (IOException)
        {
            // Best effort.
        }

        GC.SuppressFinalize(this);
    }

    /// <summary>One sent message as the clients know it from their acknowledged requests.</summary>
    private sealed class Sent(Guid id, Session sender, string content, bool deletable)
    {
        public Guid Id { get; } = id;

        public Session Sender { get; } = sender;

        public bool Deletable { get; } = deletable;

        /// <summary>The content as sent, then after each acknowledged edit.</summary>
        public List<string> Versions { get; } = [content];

        public HashSet<(Guid User, string Key)> Reactions { get; } = [];

        public bool Deleted { get; set; }
    }

    private sealed record Change(string Name, long Sequence, Guid MessageId, JsonElement Payload);

    /// <summary>A device recording the change events it receives, in arrival order.</summary>
    private sealed class ChangeRecorder : IAsyncDisposable
    {
        private readonly ConcurrentQueue<Change> _changes = new();

        private ChangeRecorder(HubConnection connection)
        {
            Connection = connection;
            foreach (var name in new[] { "messageEdited", "messageDeleted", "reactionChanged" })
            {
                connection.On<JsonElement>(name, p => _changes.Enqueue(new Change(name, p.GetProperty("changeSequence").GetInt64(), p.GetProperty("messageId").GetGuid(), p)));
            }
        }

        public HubConnection Connection { get; }

        public IReadOnlyList<Change> Changes => [.. _changes];

        public static async Task<ChangeRecorder> ConnectAsync(ParleyClient client, Session who)
        {
            var recorder = new ChangeRecorder(client.BuildConnection(who));
            await recorder.Connection.StartAsync();
            return recorder;
        }

        public ValueTask DisposeAsync() => Connection.DisposeAsync();
    }
}
