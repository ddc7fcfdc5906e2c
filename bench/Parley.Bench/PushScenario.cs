using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Parley.Bench;

/// <summary>
/// Push to offline devices (P5), in one run against a server in its own process whose push gateway
/// (<c>Parley:Push:Webhook:Url</c>) is a receiver in this process:
/// 1. one message to a group of --offline members, each with a registered device and no connection: time from the send
///    to the last of their pushes at the gateway;
/// 2. live delivery to up to 50 online members at the first rate with no push work at all (the baseline); 3. the same
///    while pushes flow to a gateway that answers (the offline group gets a message every 2 s); 4. the same while the
///    gateway hangs (never answers): a push provider that hangs must not move the live p99. The gateway runs in this
///    process, on the same cores as the server: step 3 includes the cost of the pushes themselves.
/// </summary>
public static class PushScenario
{
    public static async Task<IReadOnlyList<StepResult>> RunAsync(BenchOptions options, Action<string> progress)
    {
        var offlineCount = options.Smoke ? 20 : options.OfflineRecipients;
        var liveCount = options.Smoke ? 2 : Math.Min(options.Devices, 50);
        await using var gateway = await Gateway.StartAsync();
        options.ServerArgs.AddRange(
        [
            "--Parley:Push:Webhook:Url=" + gateway.Url, "--Parley:Push:Webhook:Secret=bench-gateway-secret-0123",
            "--Parley:Push:CoalesceWindow=00:00:00", "--Parley:Push:ProviderTimeout=00:00:05",
            $"--Parley:Limits:MaxGroupMembers={offlineCount + 10}",
        ]);
        var data = Directory.CreateTempSubdirectory("parley-bench-push-").FullName;
        var url = $"http://127.0.0.1:{Parley.Testing.ExternalServers.FreePort()}";
        using var server = ConnectionsScenario.StartServer(url, data, options);
        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = options.Connections }) { Timeout = TimeSpan.FromSeconds(60) };
        var results = new List<StepResult>();
        var devices = new List<Microsoft.AspNetCore.SignalR.Client.HubConnection>();
        try
        {
            await ConnectionsScenario.WaitForLiveAsync(http, url, server);
            var sender = await BenchApi.SignUpAsync(http, url);
            var offline = new (string Token, Guid UserId)[offlineCount];
            await Parallel.ForEachAsync(Enumerable.Range(0, offlineCount), new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (i, _) =>
            {
                offline[i] = await BenchApi.SignUpAsync(http, url);
                await RegisterAsync(http, url, offline[i].Token, $"bench-{i}");
            });
            var offlineGroup = await BenchApi.CreateConversationAsync(http, url, sender.Token, "group", [.. offline.Select(o => o.UserId)]);
            var live = await Task.WhenAll(Enumerable.Range(0, liveCount).Select(_ => BenchApi.SignUpAsync(http, url)));
            var liveGroup = await BenchApi.CreateConversationAsync(http, url, sender.Token, "group", [.. live.Select(l => l.UserId)]);
            var probe = new E2eScenario.Probe();
            foreach (var user in live)
            {
                devices.Add(await E2eScenario.ConnectAsync(url, user.Token, messagePack: false, probe));
            }

            progress($"server pid {server.Id} on {url}; {offlineCount} offline members with a device, {liveCount} online devices; gateway {gateway.Url}");

            // 1. One message, every offline member's push.
            gateway.Reset(answer: true);
            var started = Stopwatch.GetTimestamp();
            await BenchApi.SendMessageForIdAsync(http, url, sender.Token, offlineGroup, "to everyone offline");
            var arrivals = await gateway.WaitForTokensAsync(offlineCount, started, TimeSpan.FromSeconds(120));
            var elapsed = Stopwatch.GetElapsedTime(started).TotalSeconds;
            var fanout = StepResult.From($"push-{offlineCount}-offline", offlineCount, elapsed, offlineCount, arrivals.TotalCount, offlineCount - arrivals.TotalCount,
                arrivals.TotalCount / elapsed, arrivals, new Dictionary<string, double> { ["offlineRecipients"] = offlineCount, ["lastPushSeconds"] = Math.Round(elapsed, 3) });
            progress($"{fanout.Target}: {fanout.Succeeded}/{offlineCount} pushes, the last after {elapsed:F2} s ({fanout.AchievedPerSecond:F0}/s); p50 {fanout.P50Ms:F0} ms, p99 {fanout.P99Ms:F0} ms from the send");
            results.Add(fanout);

            // 2, 3 and 4. Live delivery without pushes, with pushes flowing to a gateway that answers, then hangs.
            var rate = options.Rates[0];
            for (var step = 0; step < 3; step++)
            {
                var pushing = step > 0;
                var hanging = step == 2;
                gateway.Reset(answer: !hanging);
                await Task.Delay(TimeSpan.FromSeconds(options.Smoke ? 0.2 : 2));
                using var background = new CancellationTokenSource();
                var pushLoad = Task.Run(async () =>
                {
                    while (pushing && !background.IsCancellationRequested)
                    {
                        await BenchApi.SendMessageAsync(http, url, sender.Token, offlineGroup, "more for the offline", Guid.NewGuid().ToString("N"));
                        await Task.Delay(TimeSpan.FromSeconds(2), background.Token).ContinueWith(_ => { }, TaskScheduler.Default);
                    }
                });
                var histogram = probe.Begin(step).Json;
                var run = Guid.NewGuid().ToString("N")[..8];
                var send = await OpenLoop.RunAsync("send", rate, options.Duration, i => BenchApi.SendMessageAsync(http, url, sender.Token, liveGroup,
                    $"{step} {Stopwatch.GetTimestamp()} live", $"{run}-{i}"), progress);
                var clock = Stopwatch.StartNew();
                await probe.WaitForAsync(send.Succeeded * liveCount, TimeSpan.FromSeconds(30));
                await background.CancelAsync();
                await pushLoad;
                var expected = send.Succeeded * liveCount;
                var took = send.DurationSeconds + clock.Elapsed.TotalSeconds;
                var name = step switch { 0 => "live-baseline-no-push", 1 => "live-with-pushes-provider-answering", _ => "live-with-pushes-provider-hanging" };
                var result = StepResult.From(name, rate, took, expected, histogram.TotalCount, expected - histogram.TotalCount, histogram.TotalCount / took, histogram,
                    new Dictionary<string, double>
                    {
                        ["onlineDevices"] = liveCount,
                        ["pushRequestsSeen"] = gateway.Requests,
                        ["pushRequestsHanging"] = gateway.InFlight,
                    });
                progress($"{name}: deliveries {result.Succeeded}/{expected}, p50 {result.P50Ms:F2} ms, p99 {result.P99Ms:F2} ms; gateway saw {gateway.Requests} push requests, {gateway.InFlight} hanging now");
                results.Add(result);
            }

            if (results.Count == 4 && results[1].P99Ms > 0 && results[2].P99Ms > 0)
            {
                progress($"live p99 / no push: provider answering {results[2].P99Ms / results[1].P99Ms:F2}, provider hanging {results[3].P99Ms / results[1].P99Ms:F2}; hanging / answering {results[3].P99Ms / results[2].P99Ms:F2}");
            }
        }
        finally
        {
            gateway.Reset(answer: true);
            await Task.WhenAll(devices.Select(d => d.DisposeAsync().AsTask()));
            await ConnectionsScenario.StopServerAsync(server, data);
        }

        return results;
    }

    private static async Task RegisterAsync(HttpClient http, string url, string token, string pushToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, $"{url}/api/v1/devices") { Content = JsonContent.Create(new { platform = "webhook", token = pushToken }) };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var response = await http.SendAsync(request);
        response.EnsureSuccessStatusCode();
    }

    /// <summary>The push gateway: records which device tokens it got pushes for, and answers 200 or never.</summary>
    private sealed class Gateway : IAsyncDisposable
    {
        private readonly WebApplication _app;
        private ConcurrentDictionary<string, long> _tokens = new();
        private CancellationTokenSource _hang = new();
        private volatile bool _answer = true;
        private long _requests;
        private int _inFlight;

        private Gateway(WebApplication app) => _app = app;

        public string Url { get; private set; } = "";

        public long Requests => Interlocked.Read(ref _requests);

        public int InFlight => Volatile.Read(ref _inFlight);

        public static async Task<Gateway> StartAsync()
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.Logging.ClearProviders();
            builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
            var app = builder.Build();
            var gateway = new Gateway(app);
            app.Run(gateway.HandleAsync);
            await app.StartAsync();
            gateway.Url = app.Urls.First().Replace("[::]", "127.0.0.1", StringComparison.Ordinal) + "/gateway";
            return gateway;
        }

        public void Reset(bool answer)
        {
            _answer = answer;
            _tokens = new ConcurrentDictionary<string, long>();
            var held = Interlocked.Exchange(ref _hang, new CancellationTokenSource());
            held.Cancel();
            held.Dispose();
        }

        /// <summary>Arrival times (Stopwatch ticks after <paramref name="since"/>) of the first push for each of <paramref name="count"/> tokens.</summary>
        public async Task<HdrHistogram.LongConcurrentHistogram> WaitForTokensAsync(int count, long since, TimeSpan timeout)
        {
            var deadline = Stopwatch.StartNew();
            while (_tokens.Count < count && deadline.Elapsed < timeout)
            {
                await Task.Delay(10);
            }

            var histogram = StepResult.NewHistogram();
            foreach (var at in _tokens.Values)
            {
                histogram.RecordValue(Math.Max(1, at - since));
            }

            return histogram;
        }

        private async Task HandleAsync(HttpContext context)
        {
            var now = Stopwatch.GetTimestamp();
            Interlocked.Increment(ref _requests);
            using var body = await JsonDocument.ParseAsync(context.Request.Body);
            _tokens.TryAdd(body.RootElement.GetProperty("token").GetString()!, now);
            if (_answer)
            {
                context.Response.StatusCode = 200;
                return;
            }

            Interlocked.Increment(ref _inFlight);
            try
            {
                using var hang = CancellationTokenSource.CreateLinkedTokenSource(Volatile.Read(ref _hang).Token, context.RequestAborted);
                await Task.Delay(Timeout.Infinite, hang.Token).ContinueWith(_ => { }, TaskScheduler.Default);
                context.Response.StatusCode = 503;
            }
            finally
            {
                Interlocked.Decrement(ref _inFlight);
            }
        }

        public async ValueTask DisposeAsync()
        {
            Reset(answer: true);
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
    }
}
