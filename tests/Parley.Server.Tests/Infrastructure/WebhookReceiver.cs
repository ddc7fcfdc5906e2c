using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Parley.Server.Tests.Infrastructure;

/// <summary>One POST a webhook receiver got: the body as bytes on the wire and Parley's headers.</summary>
public sealed record ReceivedWebhook(byte[] Body, string? Signature, string? EventId, string? EventType, string? DeliveryId, string? ContentType)
{
    public System.Text.Json.JsonElement Json => System.Text.Json.JsonDocument.Parse(Body).RootElement;
}

/// <summary>
/// A real HTTP receiver (Kestrel on a free loopback port) for webhook tests: records every POST and answers with the
/// status <see cref="Respond"/> picks, so a test can play a failing, recovering or refusing receiver.
/// </summary>
public sealed class WebhookReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentQueue<ReceivedWebhook> _received = new();

    private WebhookReceiver(WebApplication app) => _app = app;

    /// <summary>The status for a request, given how many came before it (0 for the first).</summary>
    public Func<int, int> Respond { get; set; } = _ => StatusCodes.Status200OK;

    public Uri Url { get; private set; } = null!;

    public IReadOnlyList<ReceivedWebhook> Received => [.. _received];

    public static async Task<WebhookReceiver> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        var receiver = new WebhookReceiver(app);
        var count = 0;
        app.MapPost("/hook", async (HttpContext context) =>
        {
            using var buffer = new MemoryStream();
            await context.Request.Body.CopyToAsync(buffer);
            var headers = context.Request.Headers;
            var index = Interlocked.Increment(ref count) - 1;
            receiver._received.Enqueue(new ReceivedWebhook(buffer.ToArray(), headers["Parley-Signature"], headers["Parley-Event-Id"], headers["Parley-Event-Type"],
                headers["Parley-Delivery-Id"], context.Request.ContentType));
            return Results.StatusCode(receiver.Respond(index));
        });
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        receiver.Url = new Uri(new Uri(address), "/hook");
        return receiver;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
