using Parley.Core.Ports;

namespace Parley.Server.Embedded;

/// <summary>The embedded engine runs one node: its own cache is the only one, and the caller already dropped it.</summary>
public sealed class SingleNodeInvalidation : IClusterInvalidation
{
    public Task<bool> InvalidateAsync(Guid key, TimeSpan timeout, CancellationToken cancellationToken) => Task.FromResult(true);

    public void Subscribe(Action<Guid> handler)
    {
    }
}
