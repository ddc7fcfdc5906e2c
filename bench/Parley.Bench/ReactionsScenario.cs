using System.Diagnostics;
using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR.Client;

namespace Parley.Bench;

/// <summary>
/// `reactions`: one hot message. A group of --users members (a server in its own process), one message in it, and
/// every member toggling --keys reactions on that message (PUT / DELETE /api/v1/messages/{id}/reactions/{key}) at each
/// offered rate, open loop. Every change of the run goes through one log partition and one worker. Reported per step:
/// ack latency; the time from the last ack to the last reactionChanged on --watchers connected devices and to the
/// store holding the final counts; and whether the counts in history, the reader's own keys and the devices' last
/// counts equal what <see cref="ReactionModel"/> computed from the acknowledged requests, exactly.
/// </summary>
public static class ReactionsScenario
{
    /// <summary>How long the bench waits for the devices and the store to catch up after a step before calling it a miss.</summary>
    private static readonly TimeSpan CatchUp = TimeSpan.FromSeconds(60);

    public static async Task<IReadOnlyList<StepResult>> RunAsync(BenchOptions options, Action<string> progress)
    {
        var data = Directory.CreateTempSubdirectory("parley-bench-reactions-").FullName;
        var url = $"http://127.0.0.1:{Parley.Testing.ExternalServers.FreePort()}";
        using var server = ConnectionsScenario.StartServer(url, data, options);
        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = options.Connections, PooledConnectionLifetime = TimeSpan.FromMinutes(10) })
        {
            Timeout = TimeSpan.FromSeconds(60),
        };
        var watchers = new List<Watcher>();
        try
        {
            await ConnectionsScenario.WaitForLiveAsync(http, url, server);
            progress($"server pid {server.Id} on {url}; signing up {options.ReactionUsers} members");
            var users = new (string Token, Guid UserId)[options.ReactionUsers];
            await Parallel.ForEachAsync(Enumerable.Range(0, users.Length), new ParallelOptions { MaxDegreeOfParallelism = 32 }, async (i, _) =>
                users[i] = await BenchApi.SignUpAsync(http, url));
            var group = await BenchApi.CreateConversationAsync(http, url, users[0].Token, "group", []);
            await BenchApi.AddMembersAsync(http, url, users[0].Token, group, [.. users.Skip(1).Select(u => u.UserId)]);
            var message = await BenchApi.SendMessageForIdAsync(http, url, users[0].Token, group, "the hot message");
            await WaitUntilAsync(async () => (await BenchApi.NewestAsync(http, url, users[0].Token, group, 1)).Any(m => m.GetProperty("id").GetGuid() == message),
                TimeSpan.FromSeconds(30), "the message to be stored");
            foreach (var user in users.Take(options.Watchers))
            {
                watchers.Add(await Watcher.ConnectAsync(url, user.Token, message));
            }

            var model = new ReactionModel(options.ReactionUsers, options.ReactionKeys);
            progress($"{options.ReactionUsers} members × {options.ReactionKeys} keys on message {message}; {watchers.Count} devices connected");
            var results = new List<StepResult>();
            long issued = 0;
            foreach (var (rate, duration, record) in options.StepsWithWarmUp(1000))
            {
                var first = issued;
                issued += (long)(rate * duration.TotalSeconds);
                var appliedBefore = model.Applied;
                var refusedBefore = model.Refused;
                var unknownBefore = model.Unknown;
                var cpuBefore = ProcCpu.Seconds(server.Id);
                var step = await OpenLoop.RunAsync("parley", rate, duration, i => model.RunAsync(first + i, async (user, key, add) =>
                {
                    try
                    {
                        var status = await BenchApi.ReactAsync(http, url, users[user].Token, message, key, add);
                        return status == HttpStatusCode.Accepted ? ReactionOutcome.Applied : (int)status >= 500 ? ReactionOutcome.Unknown : ReactionOutcome.Refused;
                    }
                    catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or IOException)
                    {
                        return ReactionOutcome.Unknown;
                    }
                }), progress);

                // CPU after the catch-up: persisting and fanning out the step's changes is part of their cost (the few
                // history reads that watch the store are in it too).
                var figures = await CatchUpAsync(http, url, users[0].Token, group, model, watchers, progress);
                var cpu = ProcCpu.Seconds(server.Id) is { } cpuAfter && cpuBefore is { } cpuStart ? cpuAfter - cpuStart : -1;
                figures["applied"] = model.Applied - appliedBefore;
                figures["refused"] = model.Refused - refusedBefore;
                figures["unknown"] = model.Unknown - unknownBefore;
                figures["serverCpuSeconds"] = Math.Round(cpu, 3);
                figures["serverCpuUsPerChange"] = cpu >= 0 && figures["applied"] > 0 ? Math.Round(cpu / figures["applied"] * 1e6, 1) : -1;
                figures["users"] = options.ReactionUsers;
                figures["keys"] = options.ReactionKeys;
                figures["watchers"] = watchers.Count;
                figures["watchersLost"] = watchers.Count(w => w.Lost);
                var verdict = figures["mismatches"] == 0 ? "exact" : $"{figures["mismatches"]} MISMATCHES";
                var line = FormattableString.Invariant(
                    $"{(record ? "reactions" : "warm-up  ")} {rate,6}/s → {step.AchievedPerSecond,8:F0}/s acked, p50 {step.P50Ms:F2} ms, p99 {step.P99Ms:F2} ms, max {step.MaxMs:F1} ms, server {figures["serverCpuUsPerChange"]:F0} µs CPU/change, refused {figures["refused"]}, unknown {figures["unknown"]}; last ack → last event on every device {figures["lastAckToDevicesMs"]:F1} ms, → store {figures["lastAckToStoreMs"]:F1} ms; counts {verdict}");
                progress(line);
                if (record || figures["mismatches"] > 0)
                {
                    results.Add(step with { Target = record ? step.Target : "parley-warmup", Figures = figures });
                }
            }

            return results;
        }
        finally
        {
            await Task.WhenAll(watchers.Select(w => w.DisposeAsync().AsTask()));
            await ConnectionsScenario.StopServerAsync(server, data);
        }
    }

    /// <summary>
    /// After a step: when every device had the last change's event and when the store had the model's counts (ms after
    /// the last ack; -1 when not within <see cref="CatchUp"/>), then the exact comparison: counts in history, the reader's
    /// own keys, each device's last count per key.
    /// </summary>
    private static async Task<Dictionary<string, double>> CatchUpAsync(HttpClient http, string url, string token, Guid group, ReactionModel model, List<Watcher> watchers,
        Action<string> progress)
    {
        var expected = model.ExpectedCounts();
        var lastAck = model.LastAckAt;
        var clock = Stopwatch.StartNew();
        double storeMs = -1;
        var storeCaughtUp = false;
        List<string> differences = [];
        while (clock.Elapsed < CatchUp)
        {
            var stored = await ReadStoredAsync(http, url, token, group);
            differences = [.. ReactionModel.Differences(expected, stored.Counts)];
            if (differences.Count == 0)
            {
                storeMs = Ms(Stopwatch.GetTimestamp() - lastAck);
                storeCaughtUp = true;
                break;
            }

            await Task.Delay(10);
        }

        double devicesMs = -1;
        await WaitUntilAsync(() => Task.FromResult(watchers.All(w => w.Events >= model.Applied || w.Lost)), CatchUp - clock.Elapsed, null);
        var devicesCaughtUp = watchers.All(w => w.Events == model.Applied);
        if (devicesCaughtUp)
        {
            devicesMs = Ms(watchers.Max(w => w.LastEventAt) - lastAck);
        }

        // The comparison itself, on what the store and the devices hold now.
        var final = await ReadStoredAsync(http, url, token, group);
        var mismatches = new List<string>(ReactionModel.Differences(expected, final.Counts).Select(d => "history " + d));
        var mine = model.KeysOf(0);
        if (!mine.SetEquals(final.Mine))
        {
            mismatches.Add($"myReactions: expected [{string.Join(' ', mine.Order(StringComparer.Ordinal))}], got [{string.Join(' ', final.Mine.Order(StringComparer.Ordinal))}]");
        }

        foreach (var (watcher, index) in watchers.Select((w, i) => (w, i)))
        {
            if (watcher.Events != model.Applied)
            {
                mismatches.Add($"device {index}: {watcher.Events} reactionChanged events for {model.Applied} acknowledged changes");
            }

            mismatches.AddRange(ReactionModel.Differences(expected, watcher.LastCounts()).Select(d => $"device {index} {d}"));
        }

        if (model.Unknown > 0)
        {
            mismatches.Add($"{model.Unknown} requests with an unknown outcome: the model cannot be exact");
        }

        foreach (var mismatch in mismatches.Take(10))
        {
            progress("  mismatch: " + mismatch);
        }

        return new Dictionary<string, double>
        {
            // Either can be below 0: the last event, or the store, can be there before the client has read the last 202.
            ["lastAckToDevicesMs"] = Math.Round(devicesMs, 2),
            ["devicesCaughtUp"] = devicesCaughtUp ? 1 : 0,
            ["lastAckToStoreMs"] = Math.Round(storeMs, 2),
            ["storeCaughtUp"] = storeCaughtUp ? 1 : 0,
            ["mismatches"] = mismatches.Count,
            ["reactionsPresent"] = expected.Values.Sum(),
        };
    }

    private static double Ms(long ticks) => ticks * 1000.0 / Stopwatch.Frequency;

    private static async Task<(Dictionary<string, int> Counts, HashSet<string> Mine)> ReadStoredAsync(HttpClient http, string url, string token, Guid group)
    {
        var message = (await BenchApi.NewestAsync(http, url, token, group, 1)).Single();
        var counts = message.TryGetProperty("reactions", out var reactions)
            ? reactions.EnumerateArray().ToDictionary(r => r.GetProperty("key").GetString()!, r => r.GetProperty("count").GetInt32(), StringComparer.Ordinal)
            : new Dictionary<string, int>(StringComparer.Ordinal);
        var mine = message.TryGetProperty("myReactions", out var keys) && keys.ValueKind == JsonValueKind.Array
            ? keys.EnumerateArray().Select(k => k.GetString()!).ToHashSet(StringComparer.Ordinal)
            : new HashSet<string>(StringComparer.Ordinal);
        return (counts, mine);
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, TimeSpan timeout, string? what)
    {
        var deadline = Stopwatch.StartNew();
        while (!await condition())
        {
            if (deadline.Elapsed > timeout)
            {
                if (what is null)
                {
                    return;
                }

                throw new TimeoutException($"Waited {timeout.TotalSeconds:F0} s for {what}");
            }

            await Task.Delay(10);
        }
    }

    /// <summary>The event as the bench needs it (the server's ReactionChangedView).</summary>
    public sealed record ReactionEvent(Guid ConversationId, Guid MessageId, long Sequence, long ChangeSequence, string Key, Guid UserId, bool Added, int Count);

    /// <summary>A member's device (the SignalR client, JSON): counts the message's reactionChanged events and keeps each key's latest count.</summary>
    private sealed class Watcher : IAsyncDisposable
    {
        private readonly HubConnection _connection;
        private readonly Guid _message;
        private readonly Dictionary<string, (long ChangeSequence, int Count)> _latest = new(StringComparer.Ordinal);
        private long _events;
        private long _lastEventAt;

        private Watcher(HubConnection connection, Guid message)
        {
            _connection = connection;
            _message = message;
            _connection.On<ReactionEvent>("reactionChanged", Record);
            _connection.Closed += _ =>
            {
                Lost = true;
                return Task.CompletedTask;
            };
        }

        public long Events => Interlocked.Read(ref _events);

        /// <summary>Stopwatch timestamp of the latest event.</summary>
        public long LastEventAt => Interlocked.Read(ref _lastEventAt);

        public bool Lost { get; private set; }

        public static async Task<Watcher> ConnectAsync(string url, string token, Guid message)
        {
            var connection = new HubConnectionBuilder().WithUrl($"{url}/hubs/chat", o =>
            {
                o.AccessTokenProvider = () => Task.FromResult<string?>(token);
                o.SkipNegotiation = true;
                o.Transports = HttpTransportType.WebSockets;
            }).Build();
            var watcher = new Watcher(connection, message);
            await connection.StartAsync();
            return watcher;
        }

        private void Record(ReactionEvent e)
        {
            if (e.MessageId != _message)
            {
                return;
            }

            lock (_latest)
            {
                if (!_latest.TryGetValue(e.Key, out var latest) || latest.ChangeSequence < e.ChangeSequence)
                {
                    _latest[e.Key] = (e.ChangeSequence, e.Count);
                }

                Interlocked.Exchange(ref _lastEventAt, Stopwatch.GetTimestamp());
                Interlocked.Increment(ref _events);
            }
        }

        public Dictionary<string, int> LastCounts()
        {
            lock (_latest)
            {
                return _latest.ToDictionary(l => l.Key, l => l.Value.Count, StringComparer.Ordinal);
            }
        }

        public async ValueTask DisposeAsync() => await _connection.DisposeAsync();
    }
}
