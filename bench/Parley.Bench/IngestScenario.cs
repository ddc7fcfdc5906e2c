using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Parley.Server;

namespace Parley.Bench;

/// <summary>
/// `ingest`: authenticated POST …/messages spread over many conversations, at each requested rate, against
/// Parley and, in the same run, against a bare Kestrel endpoint that only answers 202 (the HTTP ceiling of
/// this machine and this load generator).
/// </summary>
public static class IngestScenario
{
    public static async Task<IReadOnlyList<StepResult>> RunAsync(BenchOptions options, Action<string> progress)
    {
        var results = new List<StepResult>();
        await using var baseline = await StartBaselineAsync();
        await using var parley = await StartParleyAsync(options);
        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = options.Connections, PooledConnectionLifetime = TimeSpan.FromMinutes(10) })
        {
            Timeout = TimeSpan.FromSeconds(30),
        };

        progress($"setting up {options.Conversations} conversations on {parley.Url}");
        var targets = await SetUpConversationsAsync(http, parley.Url, options.Conversations);
        var log = parley.App.Services.GetRequiredService<Parley.Core.Ports.IMessageLog>();
        foreach (var (rate, duration, record) in options.StepsWithWarmUp(1000))
        {
            foreach (var (name, url) in new[] { ("baseline", baseline.Url), ("parley", parley.Url) })
            {
                var run = Guid.NewGuid().ToString("N")[..8];
                var lagBefore = name == "parley" ? await LagAsync(log) : 0;
                var result = await OpenLoop.RunAsync(name, rate, duration, async i =>
                {
                    var (token, conversation) = targets[(int)(i % targets.Count)];
                    return await BenchApi.SendMessageAsync(http, url, token, conversation, $"bench message {i}", $"{run}-{i}");
                }, progress);
                if (!record)
                {
                    progress($"{name,-8} warmed up");
                    continue;
                }

                var persisted = "";
                if (name == "parley")
                {
                    // Accepted is half the story on one machine: the delivery workers share its cores. What the step
                    // also persisted (accepted minus the growth of the log's backlog) shows whether persistence kept up.
                    var lagAfter = await LagAsync(log);
                    var persistedPerSecond = (result.Succeeded - (lagAfter - lagBefore)) / result.DurationSeconds;
                    result = result with { Figures = new Dictionary<string, double> { ["persistedPerSecond"] = Math.Round(persistedPerSecond, 1), ["logLagAtEnd"] = lagAfter } };
                    persisted = $", persisted {persistedPerSecond:F0}/s, log backlog {lagAfter:N0}";
                }

                progress($"{name,-8} {rate,6}/s → {result.AchievedPerSecond,8:F0}/s ok, p50 {result.P50Ms:F2} ms, p99 {result.P99Ms:F2} ms, p99.9 {result.P999Ms:F2} ms, failed {result.Failed}{persisted}");
                results.Add(result);
            }
        }

        if (options.RedisEndpoint is { } redis)
        {
            var xadd = await XaddBaselineAsync(redis, options);
            progress($"xadd-baseline: {xadd.AchievedPerSecond:N0} XADD/s with {options.Connections} in flight, p99 {xadd.P99Ms:F2} ms");
            results.Add(xadd);
        }

        return results;
    }

    private static async Task<long> LagAsync(Parley.Core.Ports.IMessageLog log) =>
        (await log.GetLagAsync(CancellationToken.None)).Sum(l => l.Pending);

    /// <summary>
    /// The log's ceiling on this Redis: plain XADDs of an envelope-sized entry, as many in flight as HTTP
    /// connections, for one step's duration. Parley's append does more per message (idempotency key, id index,
    /// wake-up publish, all in one script), so this bounds what the production log could ever accept.
    /// </summary>
    private static async Task<StepResult> XaddBaselineAsync(string endpoint, BenchOptions options)
    {
        await using var redis = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(endpoint);
        var db = redis.GetDatabase();
        var stream = (StackExchange.Redis.RedisKey)$"bench:xadd:{Guid.NewGuid():N}";
        var payload = new string('x', 420);
        var histogram = StepResult.NewHistogram();
        long done = 0;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, options.Connections).Select(_ => Task.Run(async () =>
        {
            while (clock.Elapsed < options.Duration)
            {
                var started = System.Diagnostics.Stopwatch.GetTimestamp();
                await db.StreamAddAsync(stream, "m", payload);
                histogram.RecordValue(Math.Max(1, System.Diagnostics.Stopwatch.GetTimestamp() - started));
                Interlocked.Increment(ref done);
            }
        })));
        var elapsed = clock.Elapsed.TotalSeconds;
        await db.KeyDeleteAsync(stream);
        return StepResult.From("xadd-baseline", 0, elapsed, done, done, 0, done / elapsed, histogram);
    }

    internal static async Task<List<(string Token, Guid Conversation)>> SetUpConversationsAsync(HttpClient http, string url, int count)
    {
        var targets = new List<(string, Guid)>();
        for (var i = 0; i < count; i++)
        {
            var sender = await BenchApi.SignUpAsync(http, url);
            var peer = await BenchApi.SignUpAsync(http, url);
            targets.Add((sender.Token, await BenchApi.CreateConversationAsync(http, url, sender.Token, "direct", [peer.UserId])));
        }

        return targets;
    }

    /// <summary>
    /// Parley in this process on a free port, rate limits out of the way, data in a throwaway directory unless
    /// <paramref name="dataDirectory"/> is given (then the caller owns it).
    /// </summary>
    internal static async Task<Hosted> StartParleyAsync(BenchOptions options, string? dataDirectory = null, params string[] extra)
    {
        var data = dataDirectory ?? Directory.CreateTempSubdirectory("parley-bench-").FullName;
        string[] args =
        [
            "--urls", "http://127.0.0.1:0", "--Parley:DataDirectory=" + data, .. ServerSettings, .. options.ServerArgs, .. extra,
        ];
        var app = ParleyApp.Build(args);
        await app.StartAsync();
        return new Hosted(app, Address(app), dataDirectory is null ? data : null);
    }

    /// <summary>Limits that would otherwise measure the rate limiter instead of the server.</summary>
    internal static readonly string[] ServerSettings =
    [
        "--Parley:Auth:PasswordIterations=1000", "--Parley:RateLimits:MessagesPerSecond=10000000", "--Parley:RateLimits:MessageBurst=10000000",
        "--Parley:RateLimits:AuthPerMinute=10000000", "--Logging:LogLevel:Default=Warning",
    ];

    /// <summary>The same request shape answered with a fixed 202 and nothing else.</summary>
    private static async Task<Hosted> StartBaselineAsync()
    {
        var builder = WebApplication.CreateSlimBuilder(["--urls", "http://127.0.0.1:0"]);
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        var app = builder.Build();
        var ack = Encoding.UTF8.GetBytes("""{"messageId":"00000000-0000-0000-0000-000000000000","state":"pending"}""");
        app.MapPost("/api/v1/conversations/{id}/messages", async (HttpContext context) =>
        {
            await context.Request.Body.CopyToAsync(Stream.Null);
            context.Response.StatusCode = StatusCodes.Status202Accepted;
            context.Response.ContentType = "application/json";
            await context.Response.Body.WriteAsync(ack);
        });
        await app.StartAsync();
        return new Hosted(app, Address(app), null);
    }

    private static string Address(WebApplication app) =>
        app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();

    internal sealed record Hosted(WebApplication App, string Url, string? DataDirectory) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await App.StopAsync();
            await App.DisposeAsync();
            if (DataDirectory is not null)
            {
                try
                {
                    Directory.Delete(DataDirectory, recursive: true);
                }
                catch (IOException)
                {
                    // Best effort.
                }
            }
        }
    }
}
