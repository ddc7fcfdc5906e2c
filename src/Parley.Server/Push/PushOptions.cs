using Parley.Core.Push;

namespace Parley.Server.Push;

/// <summary>Settings under <c>Parley:Push</c> (P5, docs/configuration.md): when pushes are made, what they say, and the providers.</summary>
public sealed class PushOptions
{
    public const string Section = "Parley:Push";

    /// <summary>Off: no push jobs are made (devices can still be registered).</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>What a push shows: none, sender or preview (docs/configuration.md).</summary>
    public string Preview { get; set; } = PushPreviews.Preview;

    /// <summary>How long a push waits for more messages to the same device before it goes (they become one push).</summary>
    public TimeSpan CoalesceWindow { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>How long a dispatcher holds a job before another may take it (a dispatcher that died).</summary>
    public TimeSpan ClaimTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>How often an idle dispatcher looks for due jobs.</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>Jobs claimed at once; they are sent concurrently, up to <see cref="MaxConcurrency"/>.</summary>
    public int BatchSize { get; set; } = 100;

    public int MaxConcurrency { get; set; } = 32;

    /// <summary>How long one provider call may take before it counts as failed (and retried).</summary>
    public TimeSpan ProviderTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>The circuit breaker around each provider (Polly): it opens when at least <see cref="BreakerMinimumThroughput"/>
    /// calls in <see cref="BreakerSamplingDuration"/> failed at <see cref="BreakerFailureRatio"/> or more, stays open
    /// <see cref="BreakerBreakDuration"/>, then lets one probe through (half-open).</summary>
    public double BreakerFailureRatio { get; set; } = 0.5;

    public int BreakerMinimumThroughput { get; set; } = 10;

    public TimeSpan BreakerSamplingDuration { get; set; } = TimeSpan.FromSeconds(30);

    public TimeSpan BreakerBreakDuration { get; set; } = TimeSpan.FromSeconds(30);

    public WebPushSettings WebPush { get; set; } = new();

    public WebhookPushSettings Webhook { get; set; } = new();

    public FcmSettings Fcm { get; set; } = new();

    public ApnsSettings Apns { get; set; } = new();

    public sealed class WebPushSettings
    {
        /// <summary>The VAPID key pair (base64url: the 65-byte uncompressed P-256 public key and the 32-byte private key). Empty: one is made and kept in the data directory (one node only).</summary>
        public string? PublicKey { get; set; }

        public string? PrivateKey { get; set; }

        /// <summary>Who runs this server, for the push services: a mailto: or https: URL.</summary>
        public string Subject { get; set; } = "mailto:admin@localhost";

        /// <summary>The browsers' push services, allowed when <see cref="AllowedEndpoints"/> is not set.</summary>
        public static readonly string[] KnownPushServices =
        [
            "https://fcm.googleapis.com", "https://updates.push.services.mozilla.com", "https://*.push.services.mozilla.com",
            "https://web.push.apple.com", "https://*.notify.windows.com",
        ];

        /// <summary>
        /// Where subscriptions may point: scheme and host, a leading <c>*.</c> for any subdomain; unset, the browsers' own
        /// push services (<see cref="KnownPushServices"/>). A subscription's endpoint is a URL the client supplies; only
        /// these hosts are accepted, so the server cannot be made to POST anywhere else. A list given here replaces the
        /// default (null by default: the configuration binder would append to a list that had items).
        /// </summary>
        public string[]? AllowedEndpoints { get; set; }

        public IReadOnlyList<string> EffectiveAllowedEndpoints => AllowedEndpoints is { Length: > 0 } configured ? configured : KnownPushServices;
    }

    public sealed class WebhookPushSettings
    {
        /// <summary>The push gateway every <c>webhook</c> device's pushes are POSTed to, signed; empty: the platform is off.</summary>
        public string? Url { get; set; }

        /// <summary>The HMAC key the gateway verifies <c>Parley-Signature</c> with (16 characters or more).</summary>
        public string? Secret { get; set; }
    }

    public sealed class FcmSettings
    {
        /// <summary>The Firebase project; empty: the platform is off.</summary>
        public string? ProjectId { get; set; }

        /// <summary>The service account's client_email and PEM private_key (from its JSON key file).</summary>
        public string? ClientEmail { get; set; }

        public string? PrivateKey { get; set; }

        public string Endpoint { get; set; } = "https://fcm.googleapis.com";

        public string TokenUri { get; set; } = "https://oauth2.googleapis.com/token";
    }

    public sealed class ApnsSettings
    {
        /// <summary>The Apple developer team and the .p8 key's id and PEM contents; empty TeamId: the platform is off.</summary>
        public string? TeamId { get; set; }

        public string? KeyId { get; set; }

        public string? PrivateKey { get; set; }

        /// <summary>The app's bundle id (apns-topic).</summary>
        public string? Topic { get; set; }

        public string Endpoint { get; set; } = "https://api.push.apple.com";
    }

    public bool WebhookConfigured => !string.IsNullOrWhiteSpace(Webhook.Url);

    public bool FcmConfigured => !string.IsNullOrWhiteSpace(Fcm.ProjectId);

    public bool ApnsConfigured => !string.IsNullOrWhiteSpace(Apns.TeamId);

    public IEnumerable<string> Validate()
    {
        if (!PushPreviews.All.Contains(Preview))
        {
            yield return $"{Section}:Preview must be one of {string.Join(", ", PushPreviews.All)} (was '{Preview}').";
        }

        if (CoalesceWindow < TimeSpan.Zero || CoalesceWindow > TimeSpan.FromMinutes(5))
        {
            yield return $"{Section}:CoalesceWindow must be between 00:00:00 and 00:05:00 (was {CoalesceWindow}).";
        }

        if (ClaimTimeout < TimeSpan.FromSeconds(1) || ProviderTimeout <= TimeSpan.Zero || ProviderTimeout >= ClaimTimeout)
        {
            yield return $"{Section}:ProviderTimeout must be positive and shorter than {Section}:ClaimTimeout (at least 1 second); were {ProviderTimeout} and {ClaimTimeout}.";
        }

        if (PollInterval < TimeSpan.FromMilliseconds(10) || PollInterval > TimeSpan.FromMinutes(1))
        {
            yield return $"{Section}:PollInterval must be between 00:00:00.010 and 00:01:00 (was {PollInterval}).";
        }

        if (BatchSize is < 1 or > 10_000 || MaxConcurrency is < 1 or > 1_000)
        {
            yield return $"{Section}:BatchSize must be between 1 and 10000 and {Section}:MaxConcurrency between 1 and 1000 (were {BatchSize} and {MaxConcurrency}).";
        }

        if (BreakerFailureRatio is <= 0 or > 1 || BreakerMinimumThroughput < 2 || BreakerSamplingDuration < TimeSpan.FromMilliseconds(500) || BreakerBreakDuration < TimeSpan.FromMilliseconds(500))
        {
            yield return $"{Section}:BreakerFailureRatio must be in (0, 1], BreakerMinimumThroughput at least 2, BreakerSamplingDuration and BreakerBreakDuration at least 00:00:00.5.";
        }

        if (string.IsNullOrWhiteSpace(WebPush.PublicKey) != string.IsNullOrWhiteSpace(WebPush.PrivateKey))
        {
            yield return $"{Section}:WebPush:PublicKey and {Section}:WebPush:PrivateKey must be set together (or both left empty for a generated pair).";
        }

        if (!Uri.TryCreate(WebPush.Subject, UriKind.Absolute, out var subject) || subject.Scheme is not ("mailto" or "https"))
        {
            yield return $"{Section}:WebPush:Subject must be a mailto: or https: URL (was '{WebPush.Subject}').";
        }

        foreach (var allowed in WebPush.EffectiveAllowedEndpoints)
        {
            if (!Uri.TryCreate(allowed.Replace("*.", "", StringComparison.Ordinal), UriKind.Absolute, out var uri) || uri.Scheme is not ("https" or "http") || uri.AbsolutePath != "/")
            {
                yield return $"{Section}:WebPush:AllowedEndpoints entries must be a scheme and host such as https://fcm.googleapis.com or https://*.notify.windows.com (was '{allowed}').";
            }
        }

        if (WebhookConfigured)
        {
            if (!Uri.TryCreate(Webhook.Url, UriKind.Absolute, out var url) || url.Scheme is not ("https" or "http"))
            {
                yield return $"{Section}:Webhook:Url must be an absolute http(s) URL (was '{Webhook.Url}').";
            }

            if (Webhook.Secret is not { Length: >= 16 })
            {
                yield return $"{Section}:Webhook:Secret must be set, 16 characters or more, when {Section}:Webhook:Url is.";
            }
        }

        if (FcmConfigured && (string.IsNullOrWhiteSpace(Fcm.ClientEmail) || string.IsNullOrWhiteSpace(Fcm.PrivateKey)
            || !Uri.TryCreate(Fcm.Endpoint, UriKind.Absolute, out _) || !Uri.TryCreate(Fcm.TokenUri, UriKind.Absolute, out _)))
        {
            yield return $"{Section}:Fcm:ClientEmail and {Section}:Fcm:PrivateKey must be set (from the service account's key file), and Endpoint and TokenUri be absolute URLs, when {Section}:Fcm:ProjectId is.";
        }

        if (ApnsConfigured && (string.IsNullOrWhiteSpace(Apns.KeyId) || string.IsNullOrWhiteSpace(Apns.PrivateKey) || string.IsNullOrWhiteSpace(Apns.Topic)
            || !Uri.TryCreate(Apns.Endpoint, UriKind.Absolute, out _)))
        {
            yield return $"{Section}:Apns:KeyId, {Section}:Apns:PrivateKey (the .p8 key's PEM) and {Section}:Apns:Topic (the bundle id) must be set, and Endpoint be an absolute URL, when {Section}:Apns:TeamId is.";
        }
    }

    /// <summary>Whether a Web Push subscription endpoint is one of the allowed push services.</summary>
    public bool AllowsEndpoint(Uri endpoint) => WebPush.EffectiveAllowedEndpoints.Any(allowed =>
    {
        var wildcard = allowed.Contains("://*.", StringComparison.Ordinal);
        var pattern = new Uri(allowed.Replace("*.", "", StringComparison.Ordinal));
        return string.Equals(endpoint.Scheme, pattern.Scheme, StringComparison.OrdinalIgnoreCase)
            && endpoint.Port == pattern.Port
            && (string.Equals(endpoint.Host, pattern.Host, StringComparison.OrdinalIgnoreCase)
                || (wildcard && endpoint.Host.EndsWith("." + pattern.Host, StringComparison.OrdinalIgnoreCase)));
    });
}
