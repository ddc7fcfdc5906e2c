namespace Parley.Server.Hosting;

/// <summary>Input limits under <c>Parley:Limits</c> (S6).</summary>
public sealed class LimitsOptions
{
    public const string Section = "Parley:Limits";

    public int MaxContentBytes { get; set; } = 10 * 1024;
    public int MaxMetadataBytes { get; set; } = 4 * 1024;
    public long MaxRequestBodyBytes { get; set; } = 64 * 1024;
    public int MaxClientMessageIdLength { get; set; } = 255;
    public int MaxGroupMembers { get; set; } = 1000;
    public int MaxTitleLength { get; set; } = 200;
    public int MaxPageSize { get; set; } = 200;
    public int DefaultPageSize { get; set; } = 50;
    public long MaxRealtimeFrameBytes { get; set; } = 512 * 1024;

    /// <summary>
    /// Open connections (HTTP and WebSocket) Kestrel accepts before refusing new ones. 0 = automatic: the process's
    /// open-file limit less 512 descriptors kept for the database, Redis, logs and files. Without a cap, a node at
    /// its descriptor limit failed every accept in a loop until it ran out of memory and aborted.
    /// </summary>
    public long MaxConnections { get; set; }

    /// <summary>The cap in force: <see cref="MaxConnections"/>, or the automatic one (null when no limit is known).</summary>
    public long? EffectiveMaxConnections => MaxConnections > 0 ? MaxConnections : ProcFiles.OpenFileLimit("self") is { } limit ? Math.Max(64, limit - 512) : null;

    /// <summary>
    /// Kestrel counts a WebSocket (upgraded) connection apart from plain HTTP ones, so the cap is split: a twentieth
    /// (16–2,048) for HTTP, the rest for realtime connections. Together they never exceed the cap.
    /// </summary>
    public (long? Http, long? Upgraded) ConnectionBudget
    {
        get
        {
            if (EffectiveMaxConnections is not { } cap)
            {
                return (null, null);
            }

            var http = Math.Clamp(cap / 20, 16, 2048);
            return (http, Math.Max(1, cap - http));
        }
    }

    public IEnumerable<string> Validate()
    {
        if (MaxContentBytes is < 1 or > 1024 * 1024)
        {
            yield return $"{Section}:MaxContentBytes must be between 1 and 1048576 (was {MaxContentBytes}).";
        }

        if (MaxRequestBodyBytes < MaxContentBytes + MaxMetadataBytes)
        {
            yield return $"{Section}:MaxRequestBodyBytes ({MaxRequestBodyBytes}) must be at least MaxContentBytes + MaxMetadataBytes ({MaxContentBytes + MaxMetadataBytes}).";
        }

        if (MaxMetadataBytes is < 2 or > 1024 * 1024 || MaxClientMessageIdLength is < 1 or > 1024 || MaxTitleLength is < 1 or > 10_000)
        {
            yield return $"{Section}:MaxMetadataBytes (2–1048576), MaxClientMessageIdLength (1–1024) and MaxTitleLength (1–10000) are out of range (were {MaxMetadataBytes} / {MaxClientMessageIdLength} / {MaxTitleLength}).";
        }

        if (MaxGroupMembers is < 2 or > 100_000)
        {
            yield return $"{Section}:MaxGroupMembers must be between 2 and 100000 (was {MaxGroupMembers}).";
        }

        if (DefaultPageSize < 1 || MaxPageSize < DefaultPageSize)
        {
            yield return $"{Section}:DefaultPageSize must be at least 1 and at most MaxPageSize (was {DefaultPageSize} / {MaxPageSize}).";
        }

        if (MaxConnections < 0)
        {
            yield return $"{Section}:MaxConnections must be 0 (automatic) or positive (was {MaxConnections}).";
        }

        if (MaxRealtimeFrameBytes < 1024)
        {
            yield return $"{Section}:MaxRealtimeFrameBytes must be at least 1024 (was {MaxRealtimeFrameBytes}).";
        }
    }
}

/// <summary>Token settings under <c>Parley:Auth</c> (M1).</summary>
public sealed class AuthOptions
{
    public const string Section = "Parley:Auth";

    public string Issuer { get; set; } = "parley";
    public string Audience { get; set; } = "parley";
    public TimeSpan AccessTokenLifetime { get; set; } = TimeSpan.FromMinutes(15);
    public TimeSpan RefreshTokenLifetime { get; set; } = TimeSpan.FromDays(30);

    /// <summary>PBKDF2 iterations for password hashes; lower only for tests.</summary>
    public int PasswordIterations { get; set; } = 100_000;

    public IEnumerable<string> Validate()
    {
        if (AccessTokenLifetime < TimeSpan.FromSeconds(10) || AccessTokenLifetime > TimeSpan.FromDays(1))
        {
            yield return $"{Section}:AccessTokenLifetime must be between 00:00:10 and 1.00:00:00 (was {AccessTokenLifetime}).";
        }

        if (RefreshTokenLifetime <= AccessTokenLifetime)
        {
            yield return $"{Section}:RefreshTokenLifetime must be longer than AccessTokenLifetime (was {RefreshTokenLifetime}).";
        }

        if (PasswordIterations < 1000)
        {
            yield return $"{Section}:PasswordIterations must be at least 1000 (was {PasswordIterations}).";
        }

        if (string.IsNullOrWhiteSpace(Issuer) || string.IsNullOrWhiteSpace(Audience))
        {
            yield return $"{Section}:Issuer and {Section}:Audience must not be empty.";
        }
    }
}

/// <summary>Per-user and per-client rates under <c>Parley:RateLimits</c> (S5).</summary>
public sealed class RateLimitOptions
{
    public const string Section = "Parley:RateLimits";

    /// <summary>Sustained messages a user may send per second (REST and realtime together).</summary>
    public int MessagesPerSecond { get; set; } = 50;

    /// <summary>The bucket size: how many messages a user may send at once before the sustained rate applies.</summary>
    public int MessageBurst { get; set; } = 200;

    /// <summary>Register / login / refresh attempts per client address per minute.</summary>
    public int AuthPerMinute { get; set; } = 600;

    public IEnumerable<string> Validate()
    {
        if (MessagesPerSecond < 1 || MessageBurst < 1 || AuthPerMinute < 1)
        {
            yield return $"{Section}:MessagesPerSecond, MessageBurst and AuthPerMinute must all be at least 1.";
        }
    }
}

/// <summary>Message features under <c>Parley:Messages</c> (M8).</summary>
public sealed class MessagesOptions
{
    public const string Section = "Parley:Messages";

    /// <summary>How long after sending a sender may edit a message; absent or zero: always.</summary>
    public TimeSpan? EditWindow { get; set; }

    /// <summary>How often the expiry worker looks for disappearing messages that are due: the most they outlive their time by.</summary>
    public TimeSpan ExpiryInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>The most expired messages one pass deletes; the next pass follows at once while there are more.</summary>
    public int ExpiryBatch { get; set; } = 500;

    /// <summary>How far ahead a send may be scheduled (<c>sendAt</c>).</summary>
    public TimeSpan MaxScheduleAhead { get; set; } = TimeSpan.FromDays(30);

    /// <summary>How often each node looks for scheduled messages that are due: a message goes out up to this late.</summary>
    public TimeSpan ScheduleInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// How long a node's claim on a due scheduled message holds. A node that dies holding one delays that message by up
    /// to this much; another node then sends it, and its idempotency key folds a second append into the first.
    /// </summary>
    public TimeSpan ScheduleClaimTimeout { get; set; } = TimeSpan.FromSeconds(30);

    public IEnumerable<string> Validate()
    {
        if (EditWindow < TimeSpan.Zero)
        {
            yield return $"{Section}:EditWindow must not be negative (was {EditWindow}).";
        }

        if (ExpiryInterval < TimeSpan.FromMilliseconds(10) || ExpiryInterval > TimeSpan.FromMinutes(10))
        {
            yield return $"{Section}:ExpiryInterval must be between 00:00:00.010 and 00:10:00 (was {ExpiryInterval}).";
        }

        if (ExpiryBatch is < 1 or > 10_000)
        {
            yield return $"{Section}:ExpiryBatch must be between 1 and 10000 (was {ExpiryBatch}).";
        }

        if (MaxScheduleAhead < TimeSpan.FromMinutes(1))
        {
            yield return $"{Section}:MaxScheduleAhead must be at least 00:01:00 (was {MaxScheduleAhead}).";
        }

        if (ScheduleInterval < TimeSpan.FromMilliseconds(10) || ScheduleInterval > TimeSpan.FromMinutes(10))
        {
            yield return $"{Section}:ScheduleInterval must be between 00:00:00.010 and 00:10:00 (was {ScheduleInterval}).";
        }

        if (ScheduleClaimTimeout < TimeSpan.FromSeconds(1))
        {
            yield return $"{Section}:ScheduleClaimTimeout must be at least 00:00:01 (was {ScheduleClaimTimeout}).";
        }
    }
}
