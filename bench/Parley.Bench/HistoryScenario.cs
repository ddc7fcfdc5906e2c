using System.Net;
using System.Net.Http.Headers;
using Microsoft.Extensions.DependencyInjection;
using Parley.Core.Messaging;
using Parley.Core.Ports;

namespace Parley.Bench;

/// <summary>
/// `history`: 50-message page reads at random positions of one conversation holding --messages messages
/// (1,000,000 by default), seeded straight through the store port in large batches.
/// </summary>
public static class HistoryScenario
{
    public static async Task<IReadOnlyList<StepResult>> RunAsync(BenchOptions options, Action<string> progress)
    {
        await using var parley = await IngestScenario.StartParleyAsync(options);
        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = options.Connections }) { Timeout = TimeSpan.FromSeconds(30) };
        var (token, conversation) = (await IngestScenario.SetUpConversationsAsync(http, parley.Url, 1))[0];
        var sender = (await parley.App.Services.GetRequiredService<IConversationStore>().GetMemberIdsAsync(conversation, default))[0];

        var store = parley.App.Services.GetRequiredService<IMessageStore>();
        var started = DateTime.UtcNow;
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
                progress($"  seeded {done:N0} messages in {(DateTime.UtcNow - started).TotalSeconds:F0} s");
            }
        }

        var results = new List<StepResult>();
        foreach (var (rate, duration, record) in options.StepsWithWarmUp(500))
        {
            var result = await OpenLoop.RunAsync("parley", rate, duration, async i =>
            {
                var before = 51 + (long)(Random.Shared.NextDouble() * (options.Messages - 50));
                using var request = new HttpRequestMessage(HttpMethod.Get, $"{parley.Url}/api/v1/conversations/{conversation}/messages?before={before}&limit=50");
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
                using var response = await http.SendAsync(request);
                await response.Content.CopyToAsync(Stream.Null);
                return response.StatusCode == HttpStatusCode.OK;
            }, progress);
            if (!record)
            {
                continue;
            }

            progress($"history  {rate,6}/s → {result.AchievedPerSecond,8:F0}/s ok, p50 {result.P50Ms:F2} ms, p99 {result.P99Ms:F2} ms, p99.9 {result.P999Ms:F2} ms, failed {result.Failed}");
            results.Add(result);
        }

        return results;
    }
}
