namespace Parley.Server.Webhooks;

/// <summary>Settings under <c>Parley:Webhooks</c>: how deliveries are sent, retried and given up on (docs/configuration.md).</summary>
public sealed class WebhooksOptions
{
    public const string Section = "Parley:Webhooks";

    /// <summary>How long one POST may take, connect to last byte; longer is a failed (retryable) attempt.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>The wait after the first failed attempt; each further failure doubles it, up to <see cref="MaxBackoff"/>.</summary>
    public TimeSpan InitialBackoff { get; set; } = TimeSpan.FromSeconds(1);

    public TimeSpan MaxBackoff { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>Attempts of one delivery before it is dead (a permanent failure kills it at once).</summary>
    public int MaxAttempts { get; set; } = 10;

    /// <summary>Failed attempts in a row (over all its deliveries) that disable a subscription; 0 never disables.</summary>
    public int DisableAfterFailures { get; set; } = 20;

    /// <summary>How long an idle dispatcher waits before it looks for due deliveries again.</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>How long a claimed delivery is this node's; a node that dies mid-send leaves it to another after this.</summary>
    public TimeSpan ClaimTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Deliveries claimed at once, and sent at once (at most one per subscription and aggregate is ever in flight).</summary>
    public int BatchSize { get; set; } = 32;

    public IEnumerable<string> Validate()
    {
        if (Timeout < TimeSpan.FromMilliseconds(100) || Timeout > TimeSpan.FromMinutes(5))
        {
            yield return $"{Section}:Timeout must be between 00:00:00.100 and 00:05:00 (was {Timeout}).";
        }

        if (InitialBackoff < TimeSpan.FromMilliseconds(10))
        {
            yield return $"{Section}:InitialBackoff must be at least 00:00:00.010 (was {InitialBackoff}).";
        }

        if (MaxBackoff < InitialBackoff || MaxBackoff > TimeSpan.FromDays(1))
        {
            yield return $"{Section}:MaxBackoff must be between Parley:Webhooks:InitialBackoff and 1.00:00:00 (was {MaxBackoff}).";
        }

        if (MaxAttempts is < 1 or > 100)
        {
            yield return $"{Section}:MaxAttempts must be between 1 and 100 (was {MaxAttempts}).";
        }

        if (DisableAfterFailures is < 0 or > 100_000)
        {
            yield return $"{Section}:DisableAfterFailures must be between 0 (never) and 100000 (was {DisableAfterFailures}).";
        }

        if (PollInterval < TimeSpan.FromMilliseconds(10) || PollInterval > TimeSpan.FromMinutes(1))
        {
            yield return $"{Section}:PollInterval must be between 00:00:00.010 and 00:01:00 (was {PollInterval}).";
        }

        if (ClaimTimeout <= Timeout)
        {
            yield return $"{Section}:ClaimTimeout must be longer than Parley:Webhooks:Timeout, or a slow POST loses its claim mid-send (was {ClaimTimeout}).";
        }

        if (BatchSize is < 1 or > 1000)
        {
            yield return $"{Section}:BatchSize must be between 1 and 1000 (was {BatchSize}).";
        }
    }

    /// <summary>The wait before attempt <paramref name="attempts"/> + 1: doubling from <see cref="InitialBackoff"/>, capped, with ±20 % jitter so receivers coming back are not hit in lockstep.</summary>
    public TimeSpan Backoff(int attempts)
    {
        var ms = InitialBackoff.TotalMilliseconds * Math.Pow(2, Math.Min(Math.Max(attempts - 1, 0), 30));
        var jittered = Math.Min(ms, MaxBackoff.TotalMilliseconds) * (0.8 + (Random.Shared.NextDouble() * 0.4));
        return TimeSpan.FromMilliseconds(Math.Min(jittered, MaxBackoff.TotalMilliseconds));
    }
}
