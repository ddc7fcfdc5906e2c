namespace Parley.Redis;

/// <summary>Settings under <c>Parley:Redis</c> (docs/configuration.md).</summary>
public sealed class RedisOptions
{
    public const string Section = "Parley:Redis";

    /// <summary>A StackExchange.Redis configuration string, e.g. <c>127.0.0.1:6379,password=…</c>.</summary>
    public string Configuration { get; set; } = "";

    /// <summary>Every key Parley writes starts with this, so several deployments can share one Redis.</summary>
    public string KeyPrefix { get; set; } = "parley";

    public string ConsumerGroup { get; set; } = "delivery";

    /// <summary>How long another consumer's entry must sit unacknowledged before this node takes it over.</summary>
    public TimeSpan ReclaimIdle { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Replicas that must confirm an append before it is acknowledged (Redis WAIT). 0 acknowledges once the
    /// primary has it. With 1+, an append that is not replicated in time is refused (503) and the client retries.
    /// </summary>
    public int WaitReplicas { get; set; }

    public TimeSpan WaitTimeout { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// How long an append may wait for Redis before the send fails with 503 ENQUEUE_FAILED. While Redis is down
    /// the client library queues commands until it reconnects; without this bound a send would hang that long.
    /// The WAIT for replicas (<see cref="WaitTimeout"/>) comes on top.
    /// </summary>
    public TimeSpan AppendTimeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Approximate cap on the dead-letter stream.</summary>
    public int DeadLetterMaxLength { get; set; } = 100_000;

    /// <summary>
    /// Run the Redis client's socket I/O and completions on its own dedicated threads (StackExchange.Redis's default)
    /// rather than on the .NET thread pool. Off by default: on a small node those threads, mostly waking to find little
    /// to do, competed with the thread pool for the same cores; the server spent 12-21 % less CPU per delivery without
    /// them at the same latency (docs/benchmarks.md).
    /// </summary>
    public bool DedicatedSocketThreads { get; set; }

    public IEnumerable<string> Validate()
    {
        if (string.IsNullOrWhiteSpace(Configuration))
        {
            yield return $"{Section}:Configuration is required when Parley:Engine is Production.";
        }

        if (string.IsNullOrWhiteSpace(KeyPrefix) || string.IsNullOrWhiteSpace(ConsumerGroup))
        {
            yield return $"{Section}:KeyPrefix and {Section}:ConsumerGroup must not be empty.";
        }

        if (WaitReplicas < 0 || WaitTimeout <= TimeSpan.Zero)
        {
            yield return $"{Section}:WaitReplicas must be 0 or more and {Section}:WaitTimeout positive (was {WaitReplicas} / {WaitTimeout}).";
        }

        if (AppendTimeout < TimeSpan.FromMilliseconds(100) || AppendTimeout > TimeSpan.FromMinutes(1))
        {
            yield return $"{Section}:AppendTimeout must be between 00:00:00.1 and 00:01:00 (was {AppendTimeout}).";
        }

        if (ReclaimIdle < TimeSpan.FromSeconds(1))
        {
            yield return $"{Section}:ReclaimIdle must be at least 00:00:01 (was {ReclaimIdle}).";
        }
    }
}
