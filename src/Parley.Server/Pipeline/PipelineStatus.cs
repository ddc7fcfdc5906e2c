using System.Collections.Concurrent;

namespace Parley.Server.Pipeline;

/// <summary>Which partitions are holding a batch because a dependency is down, for readiness and operators.</summary>
public sealed class PipelineStatus
{
    private readonly ConcurrentDictionary<int, Outage> _outages = new();

    public IReadOnlyDictionary<int, Outage> Outages => _outages;

    public void Unavailable(int partition, string operation, Exception error, DateTimeOffset now) =>
        _outages.AddOrUpdate(partition, _ => new Outage(operation, error.Message, now), (_, existing) => existing with { Error = error.Message });

    public void Recovered(int partition) => _outages.TryRemove(partition, out _);

    public sealed record Outage(string Operation, string Error, DateTimeOffset Since);
}
