namespace Parley.Core.Ports;

/// <summary>
/// Carries realtime events between server nodes (D3): a node publishes what it delivered to its own devices, every
/// other node hands it to theirs. Delivery is best effort; a message lost here is recovered by sequence.
/// </summary>
public interface IRealtimeBus
{
    ValueTask PublishAsync(ReadOnlyMemory<byte> message, CancellationToken cancellationToken);

    /// <summary>Receives other nodes' messages (never this node's own).</summary>
    void Subscribe(Action<ReadOnlyMemory<byte>> handler);

    /// <summary>Raised when the bus reconnects after a break: anything published meanwhile may be lost.</summary>
    event Action? Restored;
}
