using System.Collections.Concurrent;
using System.Diagnostics;
using Parley.Server.Hosting;
using Parley.Server.Tests.Infrastructure;

namespace Parley.Server.Tests;

/// <summary>O2: one trace runs from the HTTP request through the log append to the worker's persist and fanout.</summary>
public sealed class TracingTests
{
    [Theory]
    [InlineData(TestEngines.Embedded)]
    [InlineData(TestEngines.Production)]
    public async Task One_trace_spans_ingress_log_persist_and_fanout(string engine)
    {
        var traceId = ActivityTraceId.CreateRandom();
        var spans = new ConcurrentQueue<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => ParleyActivities.Sources.Contains(source.Name) || source.Name == "Microsoft.AspNetCore",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = activity =>
            {
                if (activity.TraceId == traceId)
                {
                    spans.Enqueue(activity);
                }
            },
        };
        ActivitySource.AddActivityListener(listener);

        await using var server = await TestServer.StartAsync(await TestEngines.SettingsAsync(engine));
        using var client = server.Client();
        var alice = await client.SignUpAsync();
        var bob = await client.SignUpAsync();
        var conversation = await client.DirectAsync(alice, bob.UserId);
        await using var bobDevice = await client.ConnectAsync(bob);

        using var request = new HttpRequestMessage(HttpMethod.Post, $"/api/v1/conversations/{conversation.Id}/messages")
        {
            Content = new StringContent("""{"content":"traced"}""", System.Text.Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", alice.AccessToken);
        request.Headers.Add("traceparent", $"00-{traceId}-{ActivitySpanId.CreateRandom()}-01");
        using (var response = await client.Http.SendAsync(request))
        {
            Assert.Equal(System.Net.HttpStatusCode.Accepted, response.StatusCode);
        }

        await bobDevice.WaitForMessagesAsync(m => m.Count >= 1);
        await Eventually.TrueAsync(() => spans.Any(s => s.OperationName == ParleyActivities.Names.Fanout), "the fan-out span");

        var byName = spans.ToDictionary(s => s.OperationName, StringComparer.Ordinal);
        var send = byName[ParleyActivities.Names.Send];
        var append = byName[ParleyActivities.Names.Append];
        var persist = byName[ParleyActivities.Names.Persist];
        var fanout = byName[ParleyActivities.Names.Fanout];
        Assert.Equal(send.SpanId, append.ParentSpanId);
        Assert.Equal(send.SpanId, persist.ParentSpanId);
        Assert.Equal(persist.SpanId, fanout.ParentSpanId);
        Assert.Equal(conversation.Id.ToString(), persist.GetTagItem(ParleyActivities.Tags.ConversationId)?.ToString());
        Assert.Equal(1L, persist.GetTagItem(ParleyActivities.Tags.Sequence));
    }
}
