using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Parley.Core.Messaging;
using Parley.Core.Ports;

namespace Parley.Bench;

/// <summary>
/// `history`: 50-message page reads at random positions of one conversation holding --messages messages
/// (1,000,000 by default). The conversation is set up and seeded (straight through the store port, in large batches)
/// by a server hosted in this process, which then stops; the pages are read from a server in its own process on the
/// same data, as a deployment runs it: the load generator's allocations and GC pauses are not the server's, and the
/// server runs with its own runtime settings. Per step also the server's CPU per page and its GC pause time.
/// </summary>
public static class HistoryScenario
{
    /// <summary>
    /// The server is a fresh process, and its first seconds are mostly the tiered JIT: at 5 pages/s after 5 s of
    /// warm-up it spent 63 ms of CPU per page over the next 10 s, then 11 ms, then 8 ms (most of that idle housekeeping).
    /// </summary>
    private static readonly TimeSpan HistoryWarmUp = TimeSpan.FromSeconds(20);

    public static async Task<IReadOnlyList<StepResult>> RunAsync(BenchOptions options, Action<string> progress)
    {
        var data = Directory.CreateTempSubdirectory("parley-bench-history-").FullName;
        var (token, conversation) = await SeedAsync(options, data, progress);
        await SettleAsync(options, progress);

        var url = $"http://127.0.0.1:{Parley.Testing.ExternalServers.FreePort()}";
        using var server = ConnectionsScenario.StartServer(url, data, options);
        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = options.Connections }) { Timeout = TimeSpan.FromSeconds(30) };
        try
        {
            await ConnectionsScenario.WaitForLiveAsync(http, url, server);
            progress($"server pid {server.Id} on {url}");
            var results = new List<StepResult>();
            foreach (var (rate, duration, record) in options.StepsWithWarmUp(500, HistoryWarmUp))
            {
                var cpuBefore = ProcCpu.Seconds(server.Id);
                var gcBefore = (await ServerMetrics.ScrapeAsync(http, url)).GcPauseMs();
                var result = await OpenLoop.RunAsync("parley", rate, duration, async i =>
                {
                    var before = 51 + (long)(Random.Shared.NextDouble() * (options.Messages - 50));
                    using var request = new HttpRequestMessage(HttpMethod.Get, $"{url}/api/v1/conversations/{conversation}/messages?before={before}&limit=50");
                    request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
                    using var response = await http.SendAsync(request);
                    await response.Content.CopyToAsync(Stream.Null);
                    return response.StatusCode == HttpStatusCode.OK;
                }, progress);
                if (!record)
                {
                    continue;
                }

                // CPU first, then the scrape: its own cost stays out of the step.
                var cpu = ProcCpu.Seconds(server.Id) is { } cpuAfter && cpuBefore is { } cpuStart ? cpuAfter - cpuStart : -1;
                var gc = (await ServerMetrics.ScrapeAsync(http, url)).GcPauseMs() is { } gcAfter && gcBefore is { } gcStart ? gcAfter - gcStart : -1;
                result = result with
                {
                    Figures = new Dictionary<string, double>
                    {
                        ["serverCpuSeconds"] = Math.Round(cpu, 3),
                        ["serverCpuUsPerPage"] = cpu >= 0 && result.Succeeded > 0 ? Math.Round(cpu / result.Succeeded * 1e6, 1) : -1,
                        ["gcPauseMs"] = Math.Round(gc, 2),
                    },
                };
                progress($"history  {rate,6}/s → {result.AchievedPerSecond,8:F0}/s ok, p50 {result.P50Ms:F2} ms, p99 {result.P99Ms:F2} ms, p99.9 {result.P999Ms:F2} ms, failed {result.Failed}"
                    + $"; server {result.Figures["serverCpuUsPerPage"]:F0} µs CPU/page, GC pauses {gc:F1} ms");
                results.Add(result);
            }

            return results;
        }
        finally
        {
            await ConnectionsScenario.StopServerAsync(server, data);
        }
    }

    /// <summary>Two users in a direct conversation and --messages messages in it, written by a server in this process that is then stopped.</summary>
    private static async Task<(string Token, Guid Conversation)> SeedAsync(BenchOptions options, string data, Action<string> progress)
    {
        await using var parley = await IngestScenario.StartParleyAsync(options, data);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        var (token, conversation) = (await IngestScenario.SetUpConversationsAsync(http, parley.Url, 1))[0];
        var sender = (await parley.App.Services.GetRequiredService<IConversationStore>().GetMemberIdsAsync(conversation, default))[0];

        var store = parley.App.Services.GetRequiredService<IMessageStore>();
        var started = Stopwatch.StartNew();
        for (var done = 0; done < options.Messages;)
        {
            var batch = Enumerable.Range(done, Math.Min(5000, options.Messages - done)).Select(i => new MessageEnvelope
            {
                MessageId = Guid.CreateVersion7(),
                ConversationId = conversation,
                SenderId = sender,
                Type = MessageTypes.Text,
                Content = $"history message {i} with a little text in it",
                IdempotencyKey = $"bench:{conversation:N}:{i}",
                CorrelationId = Guid.CreateVersion7(),
                AcceptedAt = DateTimeOffset.UtcNow,
            }).ToList();
            await store.PersistBatchAsync(batch, default);
            done += batch.Count;
            if (done % 100_000 == 0 || done == options.Messages)
            {
                progress($"  seeded {done:N0} messages in {started.Elapsed.TotalSeconds:F0} s");
            }
        }

        return (token, conversation);
    }

    /// <summary>
    /// A table that has just taken a million rows in seconds is not one a deployment reads from: autovacuum would
    /// start on it during the first measured step (on this 2-core machine, beside the server), and the first read of
    /// each page would still set its hint bits, writing it. A table that grew over months has had both done long ago.
    /// </summary>
    private static async Task SettleAsync(BenchOptions options, Action<string> progress)
    {
        if (options.PostgresConnectionString is not { } connectionString)
        {
            return;
        }

        var schema = options.ServerArgs.Where(a => a.StartsWith("--Parley:Postgres:Schema=", StringComparison.OrdinalIgnoreCase))
            .Select(a => a[(a.IndexOf('=', StringComparison.Ordinal) + 1)..]).LastOrDefault() ?? "messaging";
        var started = Stopwatch.StartNew();
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($"VACUUM (ANALYZE) \"{schema}\".messages", connection) { CommandTimeout = 600 };
        await command.ExecuteNonQueryAsync();
        progress($"  vacuumed and analyzed the messages table in {started.Elapsed.TotalSeconds:F0} s");
    }
}
