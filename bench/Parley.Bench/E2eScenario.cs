using System.Diagnostics;
using System.Globalization;
using HdrHistogram;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR.Client;

namespace Parley.Bench;

/// <summary>
/// `e2e`: --devices connected SignalR devices, two per user (one JSON, one MessagePack), users paired in direct
/// conversations. Messages are sent over REST at each offered rate (open loop) and the clock runs from when each
/// send was due to its arrival on every device of both members, the sender's own devices included. A second case
/// sends one message at a time to a --group-size group with one device per member.
/// </summary>
public static class E2eScenario
{
    private const string Event = "messageCreated";

    public static async Task<IReadOnlyList<StepResult>> RunAsync(BenchOptions options, Action<string> progress)
    {
        await using var parley = await IngestScenario.StartParleyAsync(options);
        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = options.Connections }) { Timeout = TimeSpan.FromSeconds(60) };
        var results = new List<StepResult>();

        var users = Math.Max(2, options.Devices / 2 / 2 * 2);
        progress($"signing up {users} users and connecting {users * 2} devices (half JSON, half MessagePack) to {parley.Url}");
        var sessions = await ParallelAsync(users, _ => BenchApi.SignUpAsync(http, parley.Url));
        var conversations = await ParallelAsync(users / 2, i => BenchApi.CreateConversationAsync(http, parley.Url, sessions[2 * i].Token, "direct", [sessions[(2 * i) + 1].UserId]));
        var probe = new Probe();
        var devices = await ParallelAsync(users * 2, i => ConnectAsync(parley.Url, sessions[i / 2].Token, messagePack: i % 2 == 1, probe));
        try
        {
            var step = 0;
            foreach (var rate in options.Rates)
            {
                var expectedPerSend = 4; // two members, two devices each
                var (json, msgpack) = probe.Begin(step);
                var run = Guid.NewGuid().ToString("N")[..8];
                var send = await OpenLoop.RunAsync("send", rate, options.Duration, async i =>
                {
                    var conversation = conversations[(int)(i % conversations.Count)];
                    var sender = sessions[(int)(i % conversations.Count) * 2].Token;
                    return await SendAsync(http, parley.Url, sender, conversation, $"{run}-{i}", step);
                }, progress);
                var expected = send.Succeeded * expectedPerSend;
                var clock = Stopwatch.StartNew();
                await probe.WaitForAsync(expected, TimeSpan.FromSeconds(30));
                var elapsed = send.DurationSeconds + clock.Elapsed.TotalSeconds;
                foreach (var (name, histogram) in new[] { ("e2e-json", json), ("e2e-msgpack", msgpack) })
                {
                    var result = StepResult.From(name, rate, elapsed, send.Sent * 2, histogram.TotalCount, (send.Sent * 2) - histogram.TotalCount, histogram.TotalCount / elapsed, histogram,
                        new Dictionary<string, double> { ["devices"] = devices.Count, ["sendsPerSecond"] = send.AchievedPerSecond, ["sendFailures"] = send.Failed });
                    progress($"{name,-11} {rate,6} msgs/s → {result.AchievedPerSecond,8:F0} deliveries/s, p50 {result.P50Ms:F2} ms, p95 {result.P95Ms:F2} ms, p99 {result.P99Ms:F2} ms, missing {result.Failed}");
                    results.Add(result);
                }

                step++;
            }
        }
        finally
        {
            await Task.WhenAll(devices.Select(d => d.DisposeAsync().AsTask()));
        }

        results.Add(await FanoutAsync(options, parley.Url, http, progress));
        return results;
    }

    /// <summary>One message at a time (5 per second) to a group of --group-size members, one device each.</summary>
    private static async Task<StepResult> FanoutAsync(BenchOptions options, string url, HttpClient http, Action<string> progress)
    {
        progress($"fanout: signing up {options.GroupSize} members and connecting one device each");
        var members = await ParallelAsync(options.GroupSize, _ => BenchApi.SignUpAsync(http, url));
        var group = await BenchApi.CreateConversationAsync(http, url, members[0].Token, "group", members.Skip(1).Select(m => m.UserId).ToArray());
        var probe = new Probe();
        var devices = await ParallelAsync(members.Count, i => ConnectAsync(url, members[i].Token, messagePack: i % 2 == 1, probe));
        try
        {
            var (json, msgpack) = probe.Begin(0);
            const int rate = 5;
            var duration = options.Smoke ? TimeSpan.FromSeconds(1) : TimeSpan.FromSeconds(Math.Max(4, options.Duration.TotalSeconds));
            var run = Guid.NewGuid().ToString("N")[..8];
            var send = await OpenLoop.RunAsync("fanout", rate, duration, i => SendAsync(http, url, members[0].Token, group, $"{run}-{i}", 0));
            var clock = Stopwatch.StartNew();
            await probe.WaitForAsync(send.Succeeded * members.Count, TimeSpan.FromSeconds(30));
            json.Add(msgpack);
            var elapsed = send.DurationSeconds + clock.Elapsed.TotalSeconds;
            var expected = send.Sent * members.Count;
            var result = StepResult.From($"fanout-{members.Count}", rate, elapsed, expected, json.TotalCount, expected - json.TotalCount, json.TotalCount / elapsed, json,
                new Dictionary<string, double> { ["groupSize"] = members.Count, ["messages"] = send.Succeeded });
            progress($"{result.Target,-11} {send.Succeeded} messages × {members.Count} devices → p50 {result.P50Ms:F2} ms, p95 {result.P95Ms:F2} ms, p99 {result.P99Ms:F2} ms, missing {result.Failed}");
            return result;
        }
        finally
        {
            await Task.WhenAll(devices.Select(d => d.DisposeAsync().AsTask()));
        }
    }

    /// <summary>Send time travels in the content ("step dueTimestamp …") so every device can time its own arrival.</summary>
    private static Task<bool> SendAsync(HttpClient http, string url, string token, Guid conversation, string clientMessageId, int step) =>
        BenchApi.SendMessageAsync(http, url, token, conversation, $"{step} {Stopwatch.GetTimestamp()} e2e", clientMessageId);

    internal static async Task<HubConnection> ConnectAsync(string url, string token, bool messagePack, Probe probe)
    {
        var builder = new HubConnectionBuilder().WithUrl($"{url}/hubs/chat", o =>
        {
            o.AccessTokenProvider = () => Task.FromResult<string?>(token);
            o.SkipNegotiation = true;
            o.Transports = HttpTransportType.WebSockets;
        });
        if (messagePack)
        {
            builder.AddMessagePackProtocol();
        }

        var connection = builder.Build();
        connection.On<E2eEvent>(Event, e => probe.Record(e.Content, messagePack));
        await connection.StartAsync();
        return connection;
    }

    private static async Task<List<T>> ParallelAsync<T>(int count, Func<int, Task<T>> create)
    {
        var results = new T[count];
        await Parallel.ForEachAsync(Enumerable.Range(0, count), new ParallelOptions { MaxDegreeOfParallelism = 32 }, async (i, _) => results[i] = await create(i));
        return [.. results];
    }

    /// <summary>The event as the bench needs it; MessagePack maps the server's PascalCase keys, JSON its camelCase ones.</summary>
    public sealed record E2eEvent(Guid ConversationId, long Sequence, string Content);

    /// <summary>Arrival times per step and protocol; deliveries from an earlier step are not counted in a later one.</summary>
    internal sealed class Probe
    {
        private int _step = -1;
        private LongConcurrentHistogram _json = StepResult.NewHistogram();
        private LongConcurrentHistogram _msgpack = StepResult.NewHistogram();

        public (LongConcurrentHistogram Json, LongConcurrentHistogram MessagePack) Begin(int step)
        {
            (_json, _msgpack) = (StepResult.NewHistogram(), StepResult.NewHistogram());
            Volatile.Write(ref _step, step);
            return (_json, _msgpack);
        }

        public void Record(string content, bool messagePack)
        {
            var now = Stopwatch.GetTimestamp();
            var parts = content.Split(' ', 3);
            if (parts.Length == 3 && int.Parse(parts[0], CultureInfo.InvariantCulture) == Volatile.Read(ref _step))
            {
                (messagePack ? _msgpack : _json).RecordValue(Math.Max(1, now - long.Parse(parts[1], CultureInfo.InvariantCulture)));
            }
        }

        public async Task WaitForAsync(long expected, TimeSpan timeout)
        {
            var deadline = Stopwatch.StartNew();
            while (_json.TotalCount + _msgpack.TotalCount < expected && deadline.Elapsed < timeout)
            {
                await Task.Delay(20);
            }
        }
    }
}
