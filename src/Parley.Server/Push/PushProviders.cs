using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Options;
using Parley.Core.Events;
using Parley.Core.Push;
using Parley.Hosting;

namespace Parley.Server.Push;

/// <summary>What one provider call came to. <see cref="Failure"/> says what the dispatcher does next (<see cref="Failures"/>).</summary>
public sealed record PushResult(FailureKind? Failure, string? ErrorType = null, string? Error = null)
{
    public static readonly PushResult Sent = new((FailureKind?)null);

    public bool Succeeded => Failure is null;

    public static PushResult FromStatus(HttpStatusCode status, string? detail) => FromStatus(status, detail, Failures.OfStatus(status));

    /// <summary>A failed answer judged by the provider's own rules where they differ from the general ones.</summary>
    public static PushResult FromStatus(HttpStatusCode status, string? detail, FailureKind kind) =>
        new(kind, Failures.ErrorType(status), $"The provider answered {(int)status}{(string.IsNullOrWhiteSpace(detail) ? "" : $": {Truncate(detail)}")}");

    public static string Truncate(string text) => text.Length <= 500 ? text : text[..500];
}

/// <summary>
/// One push provider (P5). A provider sends and reports; it never retries, waits or unregisters: the dispatcher does
/// that, the same way for every provider, under the provider's circuit breaker.
/// </summary>
public interface IPushProvider
{
    string Platform { get; }

    /// <summary>Whether this server is set up to send on the platform; devices of a platform that is not are refused at registration.</summary>
    bool Configured { get; }

    Task<PushResult> SendAsync(PushJob job, CancellationToken cancellationToken);
}

/// <summary>The JSON a push carries to the app: what the notification shows and where it leads.</summary>
public static class PushPayload
{
    public static byte[] Serialize(PushJob job, string? token = null)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("id", job.Id);
            if (token is not null)
            {
                json.WriteString("token", token);
            }

            json.WriteString("title", job.Title);
            json.WriteString("body", job.Body);
            json.WriteString("conversationId", job.ConversationId);
            json.WriteStartArray("messageIds");
            foreach (var id in job.MessageIds)
            {
                json.WriteStringValue(id);
            }

            json.WriteEndArray();
            json.WriteNumber("count", job.Count);
            json.WriteNumber("badge", job.Badge);
            json.WriteEndObject();
        }

        return buffer.ToArray();
    }
}

/// <summary>
/// The generic push gateway (platform <c>webhook</c>): every push is POSTed, signed (<see cref="WebhookSignature"/>), to
/// the one gateway URL in <c>Parley:Push:Webhook:Url</c> with the device's opaque token in the body; the gateway knows
/// where the token leads. Never a URL a client supplied. Only a 410 from the gateway means the token is gone: a 404 is
/// more likely a wrong URL, and must not unregister every device it is asked about.
/// </summary>
public sealed class WebhookPushProvider(IHttpClientFactory clients, IOptions<PushOptions> options, TimeProvider time) : IPushProvider
{
    public const string ClientName = "push-webhook";

    public string Platform => PushPlatforms.Webhook;

    public bool Configured => options.Value.WebhookConfigured;

    public async Task<PushResult> SendAsync(PushJob job, CancellationToken cancellationToken)
    {
        var settings = options.Value.Webhook;
        var body = PushPayload.Serialize(job, job.Token);
        using var request = new HttpRequestMessage(HttpMethod.Post, settings.Url) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        request.Headers.Add(WebhookSignature.Header, WebhookSignature.Sign(settings.Secret!, time.GetUtcNow(), body));
        request.Headers.Add("Parley-Push-Id", job.Id.ToString());
        using var response = await clients.CreateClient(ClientName).SendAsync(request, cancellationToken);
        return response.IsSuccessStatusCode
            ? PushResult.Sent
            : PushResult.FromStatus(response.StatusCode, await response.Content.ReadAsStringAsync(cancellationToken),
                response.StatusCode == HttpStatusCode.NotFound ? FailureKind.Permanent : Failures.OfStatus(response.StatusCode));
    }
}

/// <summary>
/// Web Push (RFC 8030) with VAPID (RFC 8292) and the payload encrypted to the subscription's keys (RFC 8291,
/// aes128gcm), by Lib.Net.Http.WebPush: the encryption is the part not to write by hand. The device's token is the
/// subscription as JSON (<c>{endpoint, keys: {p256dh, auth}}</c>).
/// </summary>
public sealed class WebPushProvider(IHttpClientFactory clients, VapidKeys keys, IOptions<PushOptions> options) : IPushProvider
{
    public const string ClientName = "push-webpush";

    public string Platform => PushPlatforms.WebPush;

    public bool Configured => true;

    public async Task<PushResult> SendAsync(PushJob job, CancellationToken cancellationToken)
    {
        var subscription = WebPushSubscriptions.Parse(job.Token);
        var (publicKey, privateKey) = await keys.GetAsync(cancellationToken);
        var client = new Lib.Net.Http.WebPush.PushServiceClient(clients.CreateClient(ClientName))
        {
            AutoRetryAfter = false,
            DefaultAuthentication = new Lib.Net.Http.WebPush.Authentication.VapidAuthentication(publicKey, privateKey) { Subject = options.Value.WebPush.Subject },
        };
        var message = new Lib.Net.Http.WebPush.PushMessage(Encoding.UTF8.GetString(PushPayload.Serialize(job)))
        {
            Topic = null,
            TimeToLive = 24 * 3600,
            Urgency = Lib.Net.Http.WebPush.PushMessageUrgency.High,
        };
        try
        {
            await client.RequestPushMessageDeliveryAsync(subscription, message, cancellationToken);
            return PushResult.Sent;
        }
        catch (Lib.Net.Http.WebPush.PushServiceClientException e)
        {
            return PushResult.FromStatus(e.StatusCode, e.Body ?? e.Message);
        }
    }
}

/// <summary>Web Push subscriptions as devices register them and as the token column keeps them.</summary>
public static class WebPushSubscriptions
{
    public static Lib.Net.Http.WebPush.PushSubscription Parse(string token)
    {
        using var json = JsonDocument.Parse(token);
        var subscription = new Lib.Net.Http.WebPush.PushSubscription { Endpoint = json.RootElement.GetProperty("endpoint").GetString() };
        var keys = json.RootElement.GetProperty("keys");
        subscription.SetKey(Lib.Net.Http.WebPush.PushEncryptionKeyName.P256DH, keys.GetProperty("p256dh").GetString());
        subscription.SetKey(Lib.Net.Http.WebPush.PushEncryptionKeyName.Auth, keys.GetProperty("auth").GetString());
        return subscription;
    }

    /// <summary>The token for a subscription: compact and in one order, so the same subscription registered twice is one device.</summary>
    public static string Token(string endpoint, string p256dh, string auth)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("endpoint", endpoint);
            json.WriteStartObject("keys");
            json.WriteString("p256dh", p256dh);
            json.WriteString("auth", auth);
            json.WriteEndObject();
            json.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.ToArray());
    }
}
