using Parley.Core.Ports;
using Parley.Server.Embedded;
using Parley.Specification;

namespace Parley.Server.Tests;

/// <summary>The realtime bus specification against the embedded engine's bus: one node, nothing to carry.</summary>
public sealed class InProcessRealtimeBusSpecification : RealtimeBusSpecification
{
    protected override Task<IReadOnlyList<IRealtimeBus>> CreateNodesAsync(int count)
    {
        Assert.Equal(1, count); // the embedded engine runs one node
        return Task.FromResult<IReadOnlyList<IRealtimeBus>>([new SingleNodeBus()]);
    }

    // SingleNodeBus delivers nothing at all and holds nothing in flight: once PublishAsync returned, it is done.
    protected override Task DrainAsync(IRealtimeBus node) => Task.CompletedTask;
}
