using Parley.Core.Partitioning;

namespace Parley.Hosting;

/// <summary>Settings under <c>Parley:Log</c> shared by every log engine (docs/configuration.md).</summary>
public sealed class LogOptions
{
    public const string Section = "Parley:Log";

    /// <summary>Number of partitions. Fixed for the life of a log: changing it would reorder conversations.</summary>
    public int Partitions { get; set; } = Partitioner.DefaultPartitions;

    /// <summary>Retries after the first attempt before an entry is dead-lettered.</summary>
    public int MaxRetries { get; set; } = 3;

    /// <summary>Deliveries an entry gets in all: the first attempt plus <see cref="MaxRetries"/>.</summary>
    public int MaxDeliveries => MaxRetries + 1;

    /// <summary>How long an idempotency key is remembered by the log; the store's unique key covers the rest.</summary>
    public TimeSpan IdempotencyWindow { get; set; } = TimeSpan.FromHours(24);

    /// <summary>
    /// This node's consumer name in the Redis consumer group and the first part of its lease owner id (a random
    /// suffix per process keeps two processes of one name apart). Defaults to the machine name.
    /// </summary>
    public string ConsumerName { get; set; } = Environment.MachineName;

    /// <summary>Entries a worker takes in one batch.</summary>
    public int BatchSize { get; set; } = 100;

    /// <summary>
    /// Store transactions the delivery workers of one node run at once. Batches of other partitions that arrive while
    /// every one is busy wait and go together in the next (a group commit), so under load a commit serves many partitions.
    /// </summary>
    public int PersistConcurrency { get; set; } = 2;

    /// <summary>
    /// How long a node's lease on a partition lasts without renewal (renewed every quarter of it). After a node dies,
    /// its partitions wait at most this long for another node; a graceful stop hands them over at once.
    /// </summary>
    public TimeSpan LeaseTtl { get; set; } = TimeSpan.FromSeconds(10);

    public IEnumerable<string> Validate()
    {
        if (Partitions is < 1 or > Partitioner.MaxPartitions)
        {
            yield return $"{Section}:Partitions must be between 1 and {Partitioner.MaxPartitions} (was {Partitions}).";
        }

        if (MaxRetries is < 0 or > 100)
        {
            yield return $"{Section}:MaxRetries must be between 0 and 100 (was {MaxRetries}).";
        }

        if (IdempotencyWindow < TimeSpan.FromSeconds(1))
        {
            yield return $"{Section}:IdempotencyWindow must be at least 00:00:01 (was {IdempotencyWindow}).";
        }

        if (string.IsNullOrWhiteSpace(ConsumerName))
        {
            yield return $"{Section}:ConsumerName must not be empty.";
        }

        if (LeaseTtl < TimeSpan.FromSeconds(1) || LeaseTtl > TimeSpan.FromMinutes(10))
        {
            yield return $"{Section}:LeaseTtl must be between 00:00:01 and 00:10:00 (was {LeaseTtl}).";
        }

        if (BatchSize is < 1 or > 10_000)
        {
            yield return $"{Section}:BatchSize must be between 1 and 10000 (was {BatchSize}).";
        }

        if (PersistConcurrency is < 1 or > 64)
        {
            yield return $"{Section}:PersistConcurrency must be between 1 and 64 (was {PersistConcurrency}).";
        }
    }
}
