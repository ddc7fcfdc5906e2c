using Parley.Core.Ports;

namespace Parley.Server.Embedded;

/// <summary>The embedded engine runs one node: nothing to carry.</summary>
public sealed class SingleNodeBus : IRealtimeBus
{
    public ValueTask PublishAsync(ReadOnlyMemory<byte> message, CancellationToken cancellationToken) => ValueTask.CompletedTask;

    public void Subscribe(Action<ReadOnlyMemory<byte>> handler)
    {
    }

    public event Action? Restored
    {
        add { }
        remove { }
    }
}
