namespace Parley.Server.Tests.Infrastructure;

/// <summary>One POST a webhook receiver got: the body as bytes on the wire and Parley's headers.</summary>
public sealed record ReceivedWebhook(byte[] Body, string? Signature, string? EventId, string? EventType, string? DeliveryId, string? ContentType)
{
    public System.Text.Json.JsonElement Json => System.Text.Json.JsonDocument.Parse(Body).RootElement;

    public static ReceivedWebhook From(ReceivedRequest r) => new(r.Body, Header(r, "parley-signature"), Header(r, "parley-event-id"), Header(r, "parley-event-type"),
        Header(r, "parley-delivery-id"), Header(r, "content-type"));

    private static string? Header(ReceivedRequest r, string name) => r.Headers.TryGetValue(name, out var value) ? value : null;
}

/// <summary>
/// A webhook receiver for the tests: the local provider stand-in (<see cref="PushReceiver"/>, Kestrel on a free loopback
/// port) seen as webhooks, answering with the status <see cref="Respond"/> picks, so a test can play a failing,
/// recovering or refusing receiver.
/// </summary>
public sealed class WebhookReceiver : IAsyncDisposable
{
    private readonly PushReceiver _receiver;
    private int _count;

    private WebhookReceiver(PushReceiver receiver) => _receiver = receiver;

    /// <summary>The status for a request, given how many came before it (0 for the first).</summary>
    public Func<int, int> Respond { get; set; } = _ => 200;

    public Uri Url => new(_receiver.BaseAddress, "/hook");

    public IReadOnlyList<ReceivedWebhook> Received => [.. _receiver.To("/hook").Select(ReceivedWebhook.From)];

    public static async Task<WebhookReceiver> StartAsync()
    {
        var webhooks = new WebhookReceiver(await PushReceiver.StartAsync());
        webhooks._receiver.Respond = _ => (webhooks.Respond(Interlocked.Increment(ref webhooks._count) - 1), "");
        return webhooks;
    }

    public ValueTask DisposeAsync() => _receiver.DisposeAsync();
}
