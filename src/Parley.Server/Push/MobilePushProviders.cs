using System.Buffers.Text;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Options;
using Parley.Core.Push;
using Parley.Hosting;

namespace Parley.Server.Push;

/// <summary>Signs the short-lived JWTs the mobile providers want (RS256 for Google's OAuth, ES256 for Apple) and caches each until shortly before it runs out.</summary>
internal sealed class CachedToken(TimeProvider time, TimeSpan lifetime)
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private (string Value, DateTimeOffset Until)? _token;

    public async ValueTask<string> GetAsync(Func<CancellationToken, Task<(string Value, TimeSpan Lifetime)>> make, CancellationToken cancellationToken)
    {
        if (_token is { } cached && cached.Until > time.GetUtcNow())
        {
            return cached.Value;
        }

        await _gate.WaitAsync(cancellationToken);
        try
        {
            if (_token is { } again && again.Until > time.GetUtcNow())
            {
                return again.Value;
            }

            var (value, life) = await make(cancellationToken);
            var keep = life < lifetime ? life : lifetime;
            _token = (value, time.GetUtcNow() + keep - TimeSpan.FromMinutes(1));
            return value;
        }
        finally
        {
            _gate.Release();
        }
    }

    public void Forget() => _token = null;

    public static string Jwt(object header, object claims, Func<byte[], byte[]> sign)
    {
        var signed = $"{Base64Url.EncodeToString(JsonSerializer.SerializeToUtf8Bytes(header))}.{Base64Url.EncodeToString(JsonSerializer.SerializeToUtf8Bytes(claims))}";
        return $"{signed}.{Base64Url.EncodeToString(sign(Encoding.ASCII.GetBytes(signed)))}";
    }
}

/// <summary>
/// Firebase Cloud Messaging, HTTP v1 API: an OAuth2 access token from the service account (a JWT grant, cached for its
/// lifetime), then one POST per device to <c>/v1/projects/{project}/messages:send</c>. FCM answers 404 (UNREGISTERED)
/// for a token that is no longer valid: the device is unregistered.
/// </summary>
public sealed class FcmPushProvider(IHttpClientFactory clients, IOptions<PushOptions> options, TimeProvider time) : IPushProvider
{
    public const string ClientName = "push-fcm";
    public const string Scope = "https://www.googleapis.com/auth/firebase.messaging";

    private readonly CachedToken _accessToken = new(time, TimeSpan.FromMinutes(55));

    public string Platform => PushPlatforms.Fcm;

    public bool Configured => options.Value.FcmConfigured;

    public async Task<PushResult> SendAsync(PushJob job, CancellationToken cancellationToken)
    {
        var settings = options.Value.Fcm;
        var client = clients.CreateClient(ClientName);
        var token = await _accessToken.GetAsync(ct => FetchAccessTokenAsync(client, settings, ct), cancellationToken);
        var body = new
        {
            message = new
            {
                token = job.Token,
                notification = new { title = job.Title, body = job.Body },
                data = new Dictionary<string, string>
                {
                    ["conversationId"] = job.ConversationId.ToString(),
                    ["messageIds"] = string.Join(',', job.MessageIds),
                    ["count"] = job.Count.ToString(System.Globalization.CultureInfo.InvariantCulture),
                    ["badge"] = job.Badge.ToString(System.Globalization.CultureInfo.InvariantCulture),
                },
                android = new { priority = "high", collapse_key = job.ConversationId.ToString() },
                apns = new { payload = new { aps = new { badge = job.Badge } } },
            },
        };
        using var request = new HttpRequestMessage(HttpMethod.Post, $"{settings.Endpoint.TrimEnd('/')}/v1/projects/{Uri.EscapeDataString(settings.ProjectId!)}/messages:send")
        {
            Content = JsonContent(body),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var response = await client.SendAsync(request, cancellationToken);
        if (response.IsSuccessStatusCode)
        {
            return PushResult.Sent;
        }

        var detail = await response.Content.ReadAsStringAsync(cancellationToken);
        return PushResult.FromStatus(response.StatusCode, detail, response.StatusCode switch
        {
            // The cached access token was refused: the next attempt fetches a new one.
            HttpStatusCode.Unauthorized => ForgetToken(),
            // Only FCM's own UNREGISTERED says the token is gone; a bare 404 is a wrong project or endpoint.
            HttpStatusCode.NotFound => detail.Contains("UNREGISTERED", StringComparison.Ordinal) ? FailureKind.Gone : FailureKind.Permanent,
            _ => Failures.OfStatus(response.StatusCode),
        });
    }

    private FailureKind ForgetToken()
    {
        _accessToken.Forget();
        return FailureKind.Retryable;
    }

    private async Task<(string, TimeSpan)> FetchAccessTokenAsync(HttpClient client, PushOptions.FcmSettings settings, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow().ToUnixTimeSeconds();
        using var rsa = RSA.Create();
        rsa.ImportFromPem(settings.PrivateKey!.Replace("\\n", "\n", StringComparison.Ordinal));
        var assertion = CachedToken.Jwt(new { alg = "RS256", typ = "JWT" },
            new { iss = settings.ClientEmail, scope = Scope, aud = settings.TokenUri, iat = now, exp = now + 3600 },
            data => rsa.SignData(data, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1));
        using var response = await client.PostAsync(settings.TokenUri, new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["grant_type"] = "urn:ietf:params:oauth:grant-type:jwt-bearer",
            ["assertion"] = assertion,
        }), cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            // The token endpoint refusing is the provider failing: the dispatcher retries it like a 5xx from the send.
            throw new HttpRequestException($"The FCM token endpoint answered {(int)response.StatusCode}", null, response.StatusCode);
        }

        using var json = JsonDocument.Parse(await response.Content.ReadAsStreamAsync(cancellationToken));
        var expiresIn = json.RootElement.TryGetProperty("expires_in", out var e) && e.TryGetInt32(out var seconds) ? seconds : 3600;
        return (json.RootElement.GetProperty("access_token").GetString()!, TimeSpan.FromSeconds(expiresIn));
    }

    internal static ByteArrayContent JsonContent(object body)
    {
        var content = new ByteArrayContent(JsonSerializer.SerializeToUtf8Bytes(body));
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        return content;
    }
}

/// <summary>
/// Apple Push Notification service: HTTP/2 POST to <c>/3/device/{token}</c> with a provider token (an ES256 JWT from the
/// team's .p8 key, reused for 50 minutes as Apple asks). 410 (Unregistered) and 400 BadDeviceToken mean the token is
/// gone: the device is unregistered.
/// </summary>
public sealed class ApnsPushProvider(IHttpClientFactory clients, IOptions<PushOptions> options, TimeProvider time) : IPushProvider
{
    public const string ClientName = "push-apns";

    private readonly CachedToken _providerToken = new(time, TimeSpan.FromMinutes(50));

    public string Platform => PushPlatforms.Apns;

    public bool Configured => options.Value.ApnsConfigured;

    public async Task<PushResult> SendAsync(PushJob job, CancellationToken cancellationToken)
    {
        var settings = options.Value.Apns;
        var token = await _providerToken.GetAsync(_ => Task.FromResult((ProviderToken(settings), TimeSpan.FromMinutes(50))), cancellationToken);
        var body = new Dictionary<string, object>
        {
            ["aps"] = new Dictionary<string, object>
            {
                ["alert"] = new { title = job.Title, body = job.Body },
                ["badge"] = job.Badge,
                ["sound"] = "default",
                ["thread-id"] = job.ConversationId.ToString(),
            },
            ["conversationId"] = job.ConversationId.ToString(),
            ["messageIds"] = job.MessageIds.Select(id => id.ToString()).ToArray(),
        };
        using var request = new HttpRequestMessage(HttpMethod.Post, $"{settings.Endpoint.TrimEnd('/')}/3/device/{Uri.EscapeDataString(job.Token)}")
        {
            Content = FcmPushProvider.JsonContent(body),
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("bearer", token);
        request.Headers.Add("apns-topic", settings.Topic);
        request.Headers.Add("apns-push-type", "alert");
        request.Headers.Add("apns-priority", "10");
        request.Headers.Add("apns-id", job.Id.ToString());
        using var response = await clients.CreateClient(ClientName).SendAsync(request, cancellationToken);
        if (response.IsSuccessStatusCode)
        {
            return PushResult.Sent;
        }

        var detail = await response.Content.ReadAsStringAsync(cancellationToken);
        if (response.StatusCode == HttpStatusCode.Forbidden && detail.Contains("ExpiredProviderToken", StringComparison.Ordinal))
        {
            // A provider token Apple no longer takes: the next attempt signs a new one.
            _providerToken.Forget();
            return PushResult.FromStatus(response.StatusCode, detail, FailureKind.Retryable);
        }

        return PushResult.FromStatus(response.StatusCode, detail,
            (response.StatusCode == HttpStatusCode.BadRequest && detail.Contains("BadDeviceToken", StringComparison.Ordinal)) || response.StatusCode == HttpStatusCode.Gone
                ? FailureKind.Gone
                : response.StatusCode == HttpStatusCode.NotFound ? FailureKind.Permanent : Failures.OfStatus(response.StatusCode));
    }

    private string ProviderToken(PushOptions.ApnsSettings settings)
    {
        using var key = ECDsa.Create();
        key.ImportFromPem(settings.PrivateKey!.Replace("\\n", "\n", StringComparison.Ordinal));
        return CachedToken.Jwt(new { alg = "ES256", kid = settings.KeyId }, new { iss = settings.TeamId, iat = time.GetUtcNow().ToUnixTimeSeconds() },
            data => key.SignData(data, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation));
    }
}
