using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
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
/// server runs with its own runtime settings. Per step also the server's CPU per page and its GC pause time. With --rich a
/// second conversation, as long, has replies and reactions on most of its messages, and every step reads both kinds of
/// page from the same server ("parley" and "parley-rich", with the rich pages' p50 and p99 as a ratio of the plain ones).
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
        var targets = await SeedAsync(options, data, progress);
        await SettleAsync(options, progress);

        var url = $"http://127.0.0.1:{Parley.Testing.ExternalServers.FreePort()}";
        using var server = ConnectionsScenario.StartServer(url, data, options);
        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = options.Connections }) { Timeout = TimeSpan.FromSeconds(30) };
        try
        {
            await ConnectionsScenario.WaitForLiveAsync(http, url, server);
            progress($"server pid {server.Id} on {url}");
            var payload = await PayloadAsync(http, url, targets, progress);
            var results = new List<StepResult>();
            var stepIndex = 0;
            foreach (var (rate, duration, record) in options.StepsWithWarmUp(500, HistoryWarmUp))
            {
                if (!record)
                {
                    // Every kind of page the steps read, so each is past the JIT before it is measured.
                    await OpenLoop.RunAsync("warm-up", rate, duration, i => ReadPageAsync(http, url, targets[(int)(i % targets.Count)], options.Messages), progress);
                    continue;
                }

                // With two kinds of page, the order alternates between steps: neither always reads a server the other just warmed.
                var order = stepIndex++ % 2 == 0 ? targets : [.. targets.AsEnumerable().Reverse()];
                var step = new List<StepResult>();
                foreach (var target in order)
                {
                    step.Add(await ReadStepAsync(http, url, server, target, rate, duration, options, progress));
                }

                if (step.FirstOrDefault(r => r.Target == "parley") is { } plain && step.FirstOrDefault(r => r.Target == "parley-rich") is { } rich)
                {
                    var figures = new Dictionary<string, double>(rich.Figures!)
                    {
                        ["p50VsPlain"] = plain.P50Ms > 0 ? Math.Round(rich.P50Ms / plain.P50Ms, 3) : -1,
                        ["p99VsPlain"] = plain.P99Ms > 0 ? Math.Round(rich.P99Ms / plain.P99Ms, 3) : -1,
                    };
                    step[step.IndexOf(rich)] = rich with { Figures = figures };
                    progress(FormattableString.Invariant($"history  {rate,6}/s: rich pages against plain ones, p50 ×{figures["p50VsPlain"]:F2}, p99 ×{figures["p99VsPlain"]:F2}"));
                }

                results.AddRange(step.OrderBy(r => r.Target, StringComparer.Ordinal).Select(r => r with { Figures = new Dictionary<string, double>(r.Figures!.Concat(payload[r.Target])) }));
            }

            return results;
        }
        finally
        {
            await ConnectionsScenario.StopServerAsync(server, data);
        }
    }

    /// <summary>
    /// What the pages of each conversation carry, from one page in the middle as the reading server serves it: messages
    /// with a reply preview, with reactions, with the reader's own reactions, and the page's size. Shows the rich seed
    /// took, and what a server that does not know these fields sends instead.
    /// </summary>
    private static async Task<Dictionary<string, Dictionary<string, double>>> PayloadAsync(HttpClient http, string url, List<Target> targets, Action<string> progress)
    {
        var payload = new Dictionary<string, Dictionary<string, double>>(StringComparer.Ordinal);
        foreach (var target in targets)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, $"{url}/api/v1/conversations/{target.Conversation}/messages?limit=50");
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", target.Token);
            using var response = await http.SendAsync(request);
            response.EnsureSuccessStatusCode();
            var bytes = await response.Content.ReadAsByteArrayAsync();
            var items = JsonDocument.Parse(bytes).RootElement.GetProperty("items").EnumerateArray().ToList();
            int With(string property) => items.Count(m => m.TryGetProperty(property, out var value)
                && (value.ValueKind == JsonValueKind.Object || (value.ValueKind == JsonValueKind.Array && value.GetArrayLength() > 0)));
            payload[target.Name] = new Dictionary<string, double>
            {
                ["pageMessages"] = items.Count,
                ["pageWithReplyTo"] = With("replyTo"),
                ["pageWithReactions"] = With("reactions"),
                ["pageWithMyReactions"] = With("myReactions"),
                ["pageBytes"] = bytes.Length,
            };
            progress($"  {target.Name}: a page of {items.Count} messages is {bytes.Length:N0} bytes; {With("replyTo")} with replyTo, {With("reactions")} with reactions, {With("myReactions")} with myReactions");
        }

        return payload;
    }

    /// <summary>One step of page reads from one conversation, with the server's CPU per page and GC pause time over it.</summary>
    private static async Task<StepResult> ReadStepAsync(HttpClient http, string url, Process server, Target target, int rate, TimeSpan duration, BenchOptions options,
        Action<string> progress)
    {
        var cpuBefore = ProcCpu.Seconds(server.Id);
        var gcBefore = (await ServerMetrics.ScrapeAsync(http, url)).GcPauseMs();
        var result = await OpenLoop.RunAsync(target.Name, rate, duration, _ => ReadPageAsync(http, url, target, options.Messages), progress);

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
        progress($"history  {rate,6}/s {target.Name,-12} → {result.AchievedPerSecond,8:F0}/s ok, p50 {result.P50Ms:F2} ms, p99 {result.P99Ms:F2} ms, p99.9 {result.P999Ms:F2} ms, failed {result.Failed}"
            + $"; server {result.Figures["serverCpuUsPerPage"]:F0} µs CPU/page, GC pauses {gc:F1} ms");
        return result;
    }

    private static async Task<bool> ReadPageAsync(HttpClient http, string url, Target target, int messages)
    {
        var before = 51 + (long)(Random.Shared.NextDouble() * (messages - 50));
        using var request = new HttpRequestMessage(HttpMethod.Get, $"{url}/api/v1/conversations/{target.Conversation}/messages?before={before}&limit=50");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", target.Token);
        using var response = await http.SendAsync(request);
        await response.Content.CopyToAsync(Stream.Null);
        return response.StatusCode == HttpStatusCode.OK;
    }

    /// <summary>A conversation the steps read, as whom, and the name its steps are reported under.</summary>
    private sealed record Target(string Name, string Token, Guid Conversation);

    /// <summary>
    /// Two users in a direct conversation and --messages messages in it, written by a server in this process that is then
    /// stopped; with --rich also a second pair's conversation of as many messages where most are replies and carry
    /// reactions (<see cref="RichBatch"/>).
    /// </summary>
    private static async Task<List<Target>> SeedAsync(BenchOptions options, string data, Action<string> progress)
    {
        await using var parley = await IngestScenario.StartParleyAsync(options, data);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        var conversations = await IngestScenario.SetUpConversationsAsync(http, parley.Url, options.Rich ? 2 : 1);
        var store = parley.App.Services.GetRequiredService<IMessageStore>();
        var members = parley.App.Services.GetRequiredService<IConversationStore>();
        var targets = new List<Target>();
        foreach (var ((token, conversation), index) in conversations.Select((c, i) => (c, i)))
        {
            var rich = index == 1;
            var name = rich ? "parley-rich" : "parley";
            var users = await members.GetMemberIdsAsync(conversation, default);
            var started = Stopwatch.StartNew();
            var recent = new List<Guid>();
            for (var done = 0; done < options.Messages;)
            {
                var count = Math.Min(5000, options.Messages - done);
                var batch = rich ? RichBatch(conversation, users, done, count, recent) : PlainBatch(conversation, users[0], done, count);
                await store.PersistBatchAsync(batch, default);
                done += count;
                if (done % 100_000 == 0 || done == options.Messages)
                {
                    progress($"  {name}: seeded {done:N0} messages{(rich ? " with their replies and reactions" : "")} in {started.Elapsed.TotalSeconds:F0} s");
                }
            }

            targets.Add(new Target(name, token, conversation));
        }

        return targets;
    }

    private static List<MessageEnvelope> PlainBatch(Guid conversation, Guid sender, int first, int count) =>
        [.. Enumerable.Range(first, count).Select(i => Send(conversation, sender, i, null))];

    /// <summary>
    /// Messages <paramref name="first"/>… of the rich conversation, each followed by its reactions. The two members take
    /// turns; three messages in four reply to one of the 50 before them (a preview, a thread root, reply counts);
    /// eight in ten carry reactions: both members' <c>:thumbs_up:</c> on every other one, <c>:heart:</c> and <c>:tada:</c> on
    /// some, so pages hold one to three keys with counts of one or two and the reader's own keys.
    /// <paramref name="recent"/> carries the last ids across batches.
    /// </summary>
    internal static List<MessageEnvelope> RichBatch(Guid conversation, IReadOnlyList<Guid> members, int first, int count, List<Guid> recent)
    {
        var batch = new List<MessageEnvelope>(count * 3);
        for (var i = first; i < first + count; i++)
        {
            var sender = members[i % members.Count];
            Guid? replyTo = i % 4 != 0 && recent.Count > 0 ? recent[recent.Count - 1 - (int)((i * 7919L) % recent.Count)] : null;
            var message = Send(conversation, sender, i, replyTo);
            batch.Add(message);
            recent.Add(message.MessageId);
            if (recent.Count > 50)
            {
                recent.RemoveAt(0);
            }

            if (i % 10 >= 8)
            {
                continue;
            }

            batch.Add(React(conversation, members[0], message.MessageId, ":thumbs_up:"));
            if (i % 2 == 0)
            {
                batch.Add(React(conversation, members[^1], message.MessageId, ":thumbs_up:"));
            }

            if (i % 3 == 0)
            {
                batch.Add(React(conversation, members[^1], message.MessageId, ":heart:"));
            }

            if (i % 5 == 0)
            {
                batch.Add(React(conversation, members[0], message.MessageId, ":tada:"));
            }
        }

        return batch;
    }

    private static MessageEnvelope Send(Guid conversation, Guid sender, int i, Guid? replyTo) => new()
    {
        MessageId = Guid.CreateVersion7(),
        ConversationId = conversation,
        SenderId = sender,
        Type = MessageTypes.Text,
        Content = $"history message {i} with a little text in it",
        IdempotencyKey = $"bench:{conversation:N}:{i}",
        CorrelationId = Guid.CreateVersion7(),
        AcceptedAt = DateTimeOffset.UtcNow,
        ReplyTo = replyTo,
    };

    private static MessageEnvelope React(Guid conversation, Guid user, Guid message, string key)
    {
        var id = Guid.CreateVersion7();
        return new MessageEnvelope
        {
            MessageId = id,
            ConversationId = conversation,
            SenderId = user,
            Type = MessageChangeKinds.Reaction,
            Content = "",
            IdempotencyKey = $"bench:reaction:{id:N}",
            CorrelationId = Guid.CreateVersion7(),
            AcceptedAt = DateTimeOffset.UtcNow,
            Kind = MessageChangeKinds.Reaction,
            TargetId = message,
            ReactionKey = key,
            Added = true,
        };
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
        // The rich conversation also filled the reactions and changes tables, which its pages read.
        var tables = options.Rich ? $"\"{schema}\".messages, \"{schema}\".reactions, \"{schema}\".message_changes" : $"\"{schema}\".messages";
        await using var command = new NpgsqlCommand($"VACUUM (ANALYZE) {tables}", connection) { CommandTimeout = 600 };
        await command.ExecuteNonQueryAsync();
        progress($"  vacuumed and analyzed {tables} in {started.Elapsed.TotalSeconds:F0} s");
    }
}
