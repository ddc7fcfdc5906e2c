using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;

namespace Parley.Bench;

/// <summary>
/// Backpressure under load: a group where some members' devices never read. The same sends run twice against a server
/// in its own process, first with no slow device (the baseline), then with --slow of them. Reported: the fast devices'
/// send-to-arrival latency, the server's peak RSS over its start-of-step RSS, and how many slow devices it cut off.
/// </summary>
public static partial class SlowConsumersScenario
{
    private static readonly string Padding = new('x', 4096);

    public static async Task<IReadOnlyList<StepResult>> RunAsync(BenchOptions options, Action<string> progress)
    {
        var data = Directory.CreateTempSubdirectory("parley-bench-slow-").FullName;
        var url = $"http://127.0.0.1:{Parley.Testing.ExternalServers.FreePort()}";
        using var server = ConnectionsScenario.StartServer(url, data, options);
        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = options.Connections }) { Timeout = TimeSpan.FromSeconds(60) };
        using var invoker = ConnectionsScenario.Invoker(IPAddress.Loopback);
        var fastCount = options.Smoke ? 2 : 20;
        var results = new List<StepResult>();
        var slow = new List<System.Net.WebSockets.ClientWebSocket>();
        var devices = new List<Microsoft.AspNetCore.SignalR.Client.HubConnection>();
        try
        {
            await ConnectionsScenario.WaitForLiveAsync(http, url, server);
            var sender = await BenchApi.SignUpAsync(http, url);
            var fast = await Task.WhenAll(Enumerable.Range(0, fastCount).Select(_ => BenchApi.SignUpAsync(http, url)));
            var slowUsers = await Task.WhenAll(Enumerable.Range(0, options.SlowConsumers).Select(_ => BenchApi.SignUpAsync(http, url)));
            var group = await BenchApi.CreateConversationAsync(http, url, sender.Token, "group", [.. fast.Select(f => f.UserId), .. slowUsers.Select(s => s.UserId)]);
            var probe = new E2eScenario.Probe();
            foreach (var user in fast)
            {
                devices.Add(await E2eScenario.ConnectAsync(url, user.Token, messagePack: false, probe));
            }

            var rate = options.Rates[0];
            progress($"server pid {server.Id} on {url}; group of 1 sender, {fastCount} fast and {options.SlowConsumers} slow members; {rate} msgs/s for {options.Duration.TotalSeconds:F0} s per step");
            for (var step = 0; step < 2; step++)
            {
                var withSlow = step == 1;
                if (withSlow)
                {
                    // They complete the SignalR handshake and then never read: the server's writes to them back up.
                    foreach (var user in slowUsers)
                    {
                        slow.Add(await ConnectionsScenario.ConnectAsync(url, user.Token, invoker, CancellationToken.None));
                    }
                }

                await Task.Delay(TimeSpan.FromSeconds(options.Smoke ? 0.2 : 2));
                var disconnectsBefore = await SlowDisconnectsAsync(http, url);
                var rssBefore = ConnectionsScenario.ServerRss(server);
                var peak = rssBefore;
                using var sampling = new CancellationTokenSource();
                var sampler = Task.Run(async () =>
                {
                    while (!sampling.IsCancellationRequested)
                    {
                        peak = Math.Max(peak, ConnectionsScenario.ServerRss(server));
                        await Task.Delay(100);
                    }
                });

                var histogram = probe.Begin(step).Json;
                var run = Guid.NewGuid().ToString("N")[..8];
                // 4 KB messages, so a non-reading device fills the kernel's socket buffers (megabytes on loopback) within
                // seconds and the backlog reaches the server's own per-connection queue.
                var send = await OpenLoop.RunAsync("send", rate, options.Duration, i => BenchApi.SendMessageAsync(http, url, sender.Token, group,
                    $"{step} {Stopwatch.GetTimestamp()} {Padding}", $"{run}-{i}"), progress);
                var clock = Stopwatch.StartNew();
                await probe.WaitForAsync(send.Succeeded * fastCount, TimeSpan.FromSeconds(30));
                await sampling.CancelAsync();
                await sampler;
                var elapsed = send.DurationSeconds + clock.Elapsed.TotalSeconds;
                var cutOff = await SlowDisconnectsAsync(http, url) - disconnectsBefore;
                var expected = send.Succeeded * fastCount;
                var name = withSlow ? $"fast-devices-with-{options.SlowConsumers}-slow" : "fast-devices-baseline-no-slow";
                var result = StepResult.From(name, rate, elapsed, expected, histogram.TotalCount, expected - histogram.TotalCount, histogram.TotalCount / elapsed, histogram,
                    new Dictionary<string, double>
                    {
                        ["fastDevices"] = fastCount,
                        ["slowDevices"] = withSlow ? options.SlowConsumers : 0,
                        ["slowDevicesCutOff"] = cutOff,
                        ["serverRssStartMb"] = Math.Round(rssBefore / 1048576.0, 1),
                        ["serverRssPeakMb"] = Math.Round(peak / 1048576.0, 1),
                        ["serverRssGrowthMb"] = Math.Round((peak - rssBefore) / 1048576.0, 1),
                    });
                progress($"{name}: deliveries {result.Succeeded}/{expected}, p50 {result.P50Ms:F2} ms, p99 {result.P99Ms:F2} ms; slow devices cut off {cutOff}; server RSS {rssBefore / 1048576.0:F0} MB → peak {peak / 1048576.0:F0} MB");
                results.Add(result);
            }
        }
        finally
        {
            foreach (var socket in slow)
            {
                socket.Abort();
                socket.Dispose();
            }

            await Task.WhenAll(devices.Select(d => d.DisposeAsync().AsTask()));
            await ConnectionsScenario.StopServerAsync(server, data);
        }

        return results;
    }

    /// <summary>The server's own count, from its Prometheus endpoint.</summary>
    private static async Task<double> SlowDisconnectsAsync(HttpClient http, string url)
    {
        var text = await http.GetStringAsync(new Uri($"{url}/metrics"));
        return SlowDisconnectsLine().Matches(text).Sum(m => double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture));
    }

    [GeneratedRegex(@"^realtime_slow_consumer_disconnects_total(?:\{[^}]*\})? ([0-9.eE+]+)", RegexOptions.Multiline)]
    private static partial Regex SlowDisconnectsLine();
}
