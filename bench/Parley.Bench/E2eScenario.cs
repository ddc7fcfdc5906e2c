using System.Buffers.Text;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using HdrHistogram;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR.Client;

namespace Parley.Bench;

/// <summary>
/// `e2e`: a Parley server in its own process (so its CPU and memory are its own) and --devices light devices, two
/// per user (one speaking the SignalR JSON protocol, one MessagePack: raw WebSockets, see <see cref="LightDevice"/>),
/// users paired in direct conversations. Messages are sent over REST at each offered rate (open loop, after an
/// unrecorded warm-up) and the clock runs from each send to its arrival on every device of both members, the
/// sender's own devices included. A second case sends one message at a time to a --group-size group with one device
/// per member. Per step the server's CPU time, RSS and GC pause time are reported, with a breakdown of where a message
/// spends its time inside the server, from the server's own histograms (<see cref="ServerMetrics"/>).
/// </summary>
public static class E2eScenario
{
    private const string Event = "messageCreated";

    /// <summary>
    /// A fresh server's CPU per message and its p99 at 250 msgs/s to 1,000 devices kept falling for about 30 to 40 s
    /// (15.1 → 12.2 → 9.4 → 7.6 CPU-s and 169 → 40 → 17 → 12 ms over four 10 s steps): tiered JIT at work. Measured
    /// steps start after that.
    /// </summary>
    private static readonly TimeSpan E2eWarmUp = TimeSpan.FromSeconds(30);

    /// <summary>The server's stages in path order: figure name, histogram, label filter. A histogram the server does not export is skipped.</summary>
    private static readonly (string Stage, string Metric, (string Label, string Value)[] Filter)[] Stages =
    [
        ("ingress", "producer_enqueue_duration_ms", [("status", "accepted")]),
        ("queue", "delivery_queue_wait_ms", []),
        ("persist", "delivery_persist_duration_ms", [("status", "ok")]),
        ("fanout", "delivery_pipeline_step_duration_ms", [("step", "fanout")]),
        ("ack", "delivery_pipeline_step_duration_ms", [("step", "ack")]),
        ("outbound", "realtime_outbound_wait_ms", []),
        ("server", "delivery_pipeline_duration_ms", []),
    ];

    public static async Task<IReadOnlyList<StepResult>> RunAsync(BenchOptions options, Action<string> progress)
    {
        var wanted = options.Devices + options.GroupSize + 1024;
        if (ConnectionsScenario.RaiseFileLimit(wanted) < (ulong)wanted)
        {
            progress($"warning: this process may not open {wanted:N0} files: devices beyond its limit fail to connect");
        }

        var data = Directory.CreateTempSubdirectory("parley-bench-e2e-").FullName;
        var url = $"http://127.0.0.1:{Parley.Testing.ExternalServers.FreePort()}";
        using var server = ConnectionsScenario.StartServer(url, data, options);
        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = options.Connections, PooledConnectionLifetime = TimeSpan.FromMinutes(10) })
        {
            Timeout = TimeSpan.FromSeconds(60),
        };
        using var invoker = ConnectionsScenario.Invoker(IPAddress.Loopback);
        try
        {
            await ConnectionsScenario.WaitForLiveAsync(http, url, server);
            progress($"server pid {server.Id} on {url} ({options.Engine}{(options.ServerArgs.Count > 0 ? ", " + string.Join(' ', options.ServerArgs.Select(Redact)) : "")})");
            var results = await PairsAsync(options, server, url, http, invoker, progress);
            results.Add(await FanoutAsync(options, server, url, http, invoker, progress));
            return results;
        }
        finally
        {
            await ConnectionsScenario.StopServerAsync(server, data);
        }
    }

    private static string Redact(string arg) => arg.Contains("Password=", StringComparison.OrdinalIgnoreCase) ? arg[..(arg.IndexOf('=', StringComparison.Ordinal) + 1)] + "…" : arg;

    /// <summary>Users paired in direct conversations, two devices each: every message reaches 4 devices.</summary>
    private static async Task<List<StepResult>> PairsAsync(BenchOptions options, Process server, string url, HttpClient http, HttpMessageInvoker invoker, Action<string> progress)
    {
        var users = Math.Max(2, options.Devices / 2 / 2 * 2);
        progress($"signing up {users} users and connecting {users * 2} devices (half JSON, half MessagePack)");
        var sessions = await ParallelAsync(users, _ => BenchApi.SignUpAsync(http, url));
        var conversations = await ParallelAsync(users / 2, i => BenchApi.CreateConversationAsync(http, url, sessions[2 * i].Token, "direct", [sessions[(2 * i) + 1].UserId]));
        var probe = new Probe();
        await using var devices = await DeviceSet.ConnectAsync(url, [.. Enumerable.Range(0, users * 2).Select(i => sessions[i / 2].Token)], invoker, probe);
        const int expectedPerSend = 4; // two members, two devices each
        var results = new List<StepResult>();
        var step = 0;
        foreach (var (rate, duration, record) in options.StepsWithWarmUp(int.MaxValue, E2eWarmUp))
        {
            var contentStep = step++;
            var (json, msgpack) = probe.Begin(contentStep);
            var window = await ServerWindow.BeginAsync(server, http, url);
            var run = Guid.NewGuid().ToString("N")[..8];
            var send = await OpenLoop.RunAsync("send", rate, duration, i =>
            {
                var pair = (int)(i % conversations.Count);
                return SendAsync(http, url, sessions[pair * 2].Token, conversations[pair], $"{run}-{i}", contentStep);
            }, progress);
            var expected = send.Succeeded * expectedPerSend;
            var clock = Stopwatch.StartNew();
            await probe.WaitForAsync(expected, TimeSpan.FromSeconds(30));
            var elapsed = send.DurationSeconds + clock.Elapsed.TotalSeconds;
            var deliveries = json.TotalCount + msgpack.TotalCount;
            if (!record)
            {
                // Its deliveries are awaited above, so none of its work leaks into the first measured step.
                progress($"warm-up {rate} msgs/s for {duration.TotalSeconds:F0} s: {deliveries}/{expected} deliveries");
                continue;
            }

            var figures = await window.EndAsync(deliveries, send.Succeeded);
            figures["devices"] = devices.Count;
            figures["devicesLost"] = devices.Lost;
            figures["sendsPerSecond"] = send.AchievedPerSecond;
            figures["sendFailures"] = send.Failed;
            foreach (var (name, histogram) in new[] { ("e2e-json", json), ("e2e-msgpack", msgpack) })
            {
                var result = StepResult.From(name, rate, elapsed, send.Sent * 2, histogram.TotalCount, (send.Sent * 2) - histogram.TotalCount, histogram.TotalCount / elapsed, histogram,
                    new Dictionary<string, double>(figures));
                progress($"{name,-11} {rate,6} msgs/s → {result.AchievedPerSecond,8:F0} deliveries/s, p50 {result.P50Ms:F2} ms, p95 {result.P95Ms:F2} ms, p99 {result.P99Ms:F2} ms, missing {result.Failed}");
                results.Add(result);
            }

            progress(ServerLine($"{rate} msgs/s", figures));
        }

        return results;
    }

    /// <summary>One message at a time (5 per second) to a group of --group-size members, one device each.</summary>
    private static async Task<StepResult> FanoutAsync(BenchOptions options, Process server, string url, HttpClient http, HttpMessageInvoker invoker, Action<string> progress)
    {
        progress($"fanout: signing up {options.GroupSize} members and connecting one device each");
        var members = await ParallelAsync(options.GroupSize, _ => BenchApi.SignUpAsync(http, url));
        // The group starts with its owner alone; every member is added in one request once all devices are connected,
        // so the add (issue 14: membership events to every member, invalidation on every node) and the first message
        // to the new members are measured as a team would meet them.
        var group = await BenchApi.CreateConversationAsync(http, url, members[0].Token, "group", []);
        var probe = new Probe();
        await using var devices = await DeviceSet.ConnectAsync(url, [.. members.Select(m => m.Token)], invoker, probe);
        var adding = Stopwatch.StartNew();
        await BenchApi.AddMembersAsync(http, url, members[0].Token, group, [.. members.Skip(1).Select(m => m.UserId)]);
        var addMembersMs = adding.Elapsed.TotalMilliseconds;
        var (firstJson, firstMsgpack) = probe.Begin(-1);
        var firstWindow = await ServerWindow.BeginAsync(server, http, url);
        var first = Stopwatch.StartNew();
        if (!await SendAsync(http, url, members[0].Token, group, "first-" + Guid.NewGuid().ToString("N")[..8], -1))
        {
            throw new InvalidOperationException("The first message to the new members was refused");
        }

        await probe.WaitForAsync(members.Count, TimeSpan.FromSeconds(30));
        var firstAllMs = first.Elapsed.TotalMilliseconds;
        firstJson.Add(firstMsgpack);

        // Devices can have it before the server has recorded it: let the server count it, so the steady-state window
        // below covers its own messages only.
        await firstWindow.EndAsync(firstJson.TotalCount, 1);
        progress(FormattableString.Invariant(
            $"fanout: added {members.Count - 1} members in {addMembersMs:F0} ms; first message on {firstJson.TotalCount}/{members.Count} devices, the last after {firstAllMs:F0} ms (p50 {firstJson.GetValueAtPercentile(50) * 1000.0 / Stopwatch.Frequency:F1} ms)"));
        var (json, msgpack) = probe.Begin(0);
        var window = await ServerWindow.BeginAsync(server, http, url);
        const int rate = 5;
        var duration = options.Smoke ? TimeSpan.FromSeconds(1) : TimeSpan.FromSeconds(Math.Max(4, options.Duration.TotalSeconds));
        var run = Guid.NewGuid().ToString("N")[..8];
        var send = await OpenLoop.RunAsync("fanout", rate, duration, i => SendAsync(http, url, members[0].Token, group, $"{run}-{i}", 0));
        var clock = Stopwatch.StartNew();
        await probe.WaitForAsync(send.Succeeded * members.Count, TimeSpan.FromSeconds(30));
        json.Add(msgpack);
        var elapsed = send.DurationSeconds + clock.Elapsed.TotalSeconds;
        var expected = send.Sent * members.Count;
        var figures = await window.EndAsync(json.TotalCount, send.Succeeded);
        figures["groupSize"] = members.Count;
        figures["addMembersMs"] = Math.Round(addMembersMs, 1);
        figures["firstMessageAllDevicesMs"] = firstJson.TotalCount == members.Count ? Math.Round(firstAllMs, 1) : -1;
        figures["firstMessageP50Ms"] = Math.Round(firstJson.GetValueAtPercentile(50) * 1000.0 / Stopwatch.Frequency, 2);
        figures["messages"] = send.Succeeded;
        figures["devicesLost"] = devices.Lost;
        figures["addMembersMs"] = Math.Round(addMembersMs, 1);
        figures["firstMessageAllDevicesMs"] = firstJson.TotalCount == members.Count ? Math.Round(firstAllMs, 1) : -1;
        figures["firstMessageP50Ms"] = Math.Round(firstJson.GetValueAtPercentile(50) * 1000.0 / Stopwatch.Frequency, 2);
        var result = StepResult.From($"fanout-{members.Count}", rate, elapsed, expected, json.TotalCount, expected - json.TotalCount, json.TotalCount / elapsed, json, figures);
        progress($"{result.Target,-11} {rate} msgs/s: {send.Succeeded} messages × {members.Count} devices → p50 {result.P50Ms:F2} ms, p95 {result.P95Ms:F2} ms, p99 {result.P99Ms:F2} ms, missing {result.Failed}");
        progress(ServerLine($"fanout-{members.Count}", figures));
        return result;
    }

    private static string ServerLine(string label, Dictionary<string, double> figures)
    {
        var stages = Stages.Select(s => s.Stage).Distinct().Where(s => figures.ContainsKey($"stage.{s}.count"))
            .Select(s => $"{s} {Ms(figures[$"stage.{s}.p50Ms"])}/{Ms(figures[$"stage.{s}.p99Ms"])}");
        return FormattableString.Invariant(
            $"  server {label}: CPU {figures["serverCpuSeconds"]:F2} s ({figures["serverCpuUsPerDelivery"]:F0} µs/delivery), RSS {figures["serverRssMb"]:F0} MB, GC pause {Ms(figures["gcPauseMs"])} ms; stage p50/p99 ms: {string.Join(", ", stages)}");

        static string Ms(double value) => value < 0 ? "–" : value.ToString(value >= 100 ? "F0" : "0.##", CultureInfo.InvariantCulture);
    }

    /// <summary>Send time travels in the content ("step timestamp …") so every device can time its own arrival.</summary>
    private static Task<bool> SendAsync(HttpClient http, string url, string token, Guid conversation, string clientMessageId, int step) =>
        BenchApi.SendMessageAsync(http, url, token, conversation, $"{step} {Stopwatch.GetTimestamp()} e2e", clientMessageId);

    /// <summary>The server's figures over one step: CPU and GC pause deltas, RSS at the end, stage histograms as deltas.</summary>
    private sealed class ServerWindow
    {
        private readonly Process _server;
        private readonly HttpClient _http;
        private readonly string _url;
        private readonly ServerMetrics _before;
        private readonly double? _cpuBefore;

        private ServerWindow(Process server, HttpClient http, string url, ServerMetrics before, double? cpuBefore) =>
            (_server, _http, _url, _before, _cpuBefore) = (server, http, url, before, cpuBefore);

        public static async Task<ServerWindow> BeginAsync(Process server, HttpClient http, string url)
        {
            var before = await ServerMetrics.ScrapeAsync(http, url);
            return new ServerWindow(server, http, url, before, ProcCpu.Seconds(server.Id));
        }

        /// <param name="deliveries">Arrivals on devices over the step.</param>
        /// <param name="accepted">Messages accepted over the step: the server's own per-message histogram should count as many.</param>
        public async Task<Dictionary<string, double>> EndAsync(long deliveries, long accepted)
        {
            // CPU first, then the scrapes: their own cost stays out of the step.
            var cpu = ProcCpu.Seconds(_server.Id) is { } after && _cpuBefore is { } before ? after - before : -1;
            var rss = ConnectionsScenario.ServerRss(_server);

            // A device can see a message before the worker records its ack: wait (briefly) until the server has
            // counted every accepted message, so the stage counts cover the same messages as the latencies.
            var end = await ServerMetrics.ScrapeAsync(_http, _url);
            var deadline = Stopwatch.StartNew();
            while (end.Histogram("delivery_pipeline_duration_ms") is { } pipeline && pipeline.Since(_before.Histogram("delivery_pipeline_duration_ms")).Count < accepted
                && deadline.Elapsed < TimeSpan.FromSeconds(5))
            {
                await Task.Delay(100);
                end = await ServerMetrics.ScrapeAsync(_http, _url);
            }

            var figures = new Dictionary<string, double>
            {
                ["serverCpuSeconds"] = Math.Round(cpu, 3),
                ["serverCpuUsPerDelivery"] = cpu >= 0 && deliveries > 0 ? Math.Round(cpu / deliveries * 1e6, 1) : -1,
                ["serverRssMb"] = Math.Round(rss / 1048576.0, 1),
                ["gcPauseMs"] = end.GcPauseMs() is { } pauseAfter && _before.GcPauseMs() is { } pauseBefore ? Math.Round(pauseAfter - pauseBefore, 2) : -1,
            };
            foreach (var (stage, metric, filter) in Stages)
            {
                if (end.Histogram(metric, filter) is not { } histogram)
                {
                    continue;
                }

                var delta = histogram.Since(_before.Histogram(metric, filter));
                figures[$"stage.{stage}.count"] = delta.Count;
                figures[$"stage.{stage}.p50Ms"] = Quantile(delta, 0.50);
                figures[$"stage.{stage}.p99Ms"] = Quantile(delta, 0.99);
            }

            return figures;
        }

        private static double Quantile(ServerMetrics.HistogramSnapshot histogram, double q) => histogram.Quantile(q) is var value && double.IsFinite(value) ? Math.Round(value, 3) : -1;
    }

    /// <summary>Light devices and the loop that pings them every 10 s (the server drops a client silent for 30 s).</summary>
    private sealed class DeviceSet : IAsyncDisposable
    {
        private readonly List<LightDevice> _devices;
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _pinger;

        private DeviceSet(List<LightDevice> devices)
        {
            _devices = devices;
            _pinger = PingAsync();
        }

        public int Count => _devices.Count;

        public int Lost => _devices.Count(d => d.Lost);

        /// <summary>One device per token, alternately JSON and MessagePack (even index JSON).</summary>
        public static async Task<DeviceSet> ConnectAsync(string url, IReadOnlyList<string> tokens, HttpMessageInvoker invoker, Probe probe)
        {
            var devices = new LightDevice?[tokens.Count];
            try
            {
                await Parallel.ForEachAsync(Enumerable.Range(0, tokens.Count), new ParallelOptions { MaxDegreeOfParallelism = 32 }, async (i, cancellationToken) =>
                    devices[i] = await LightDevice.ConnectAsync(url, tokens[i], messagePack: i % 2 == 1, invoker, probe, cancellationToken));
            }
            catch
            {
                await Task.WhenAll(devices.OfType<LightDevice>().Select(d => d.DisposeAsync().AsTask()));
                throw;
            }

            return new DeviceSet([.. devices.OfType<LightDevice>()]);
        }

        private async Task PingAsync()
        {
            try
            {
                while (true)
                {
                    await Task.Delay(TimeSpan.FromSeconds(10), _stop.Token);
                    foreach (var device in _devices)
                    {
                        await device.PingAsync(_stop.Token);
                    }
                }
            }
            catch (OperationCanceledException)
            {
                // Disposed.
            }
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            await _pinger;
            await Task.WhenAll(_devices.Select(d => d.DisposeAsync().AsTask()));
            _stop.Dispose();
        }
    }

    /// <summary>A full SignalR client (HubConnection), for scenarios that want the real client library (`slow`).</summary>
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

        /// <summary>The same from the content's UTF-8 bytes, without making a string of them.</summary>
        public void Record(ReadOnlySpan<byte> content, bool messagePack)
        {
            var now = Stopwatch.GetTimestamp();
            if (Utf8Parser.TryParse(content, out int step, out var used) && used < content.Length && content[used] == (byte)' '
                && Utf8Parser.TryParse(content[(used + 1)..], out long sent, out _) && step == Volatile.Read(ref _step))
            {
                (messagePack ? _msgpack : _json).RecordValue(Math.Max(1, now - sent));
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
