using System.Text.Json;
using Parley.Core.Ports;
using Parley.Server.Contracts;

namespace Parley.Server.Realtime;

/// <summary>
/// Relays realtime events between this node and the others over the <see cref="IRealtimeBus"/> port: publishes this
/// node's events and hands the other nodes' back as the same typed events (<see cref="NodeEventJsonContext"/>).
/// </summary>
public sealed class NodeEventRelay(IRealtimeBus bus)
{
    public ValueTask PublishAsync(AddressedEvent addressed, CancellationToken cancellationToken) =>
        bus.PublishAsync(Encode(addressed), cancellationToken);

    public void Subscribe(Action<AddressedEvent> handler) => bus.Subscribe(bytes =>
    {
        if (Decode(bytes) is { } addressed)
        {
            handler(addressed);
        }
    });

    public event Action? Restored
    {
        add => bus.Restored += value;
        remove => bus.Restored -= value;
    }

    public static byte[] Encode(AddressedEvent addressed) => JsonSerializer.SerializeToUtf8Bytes(addressed, NodeEventJsonContext.Default.AddressedEvent);

    /// <summary>Null for anything that is not a whole event of this version: nothing a device could use.</summary>
    public static AddressedEvent? Decode(ReadOnlyMemory<byte> bytes)
    {
        try
        {
            return JsonSerializer.Deserialize(bytes.Span, NodeEventJsonContext.Default.AddressedEvent);
        }
        catch (Exception ex) when (ex is JsonException or NotSupportedException)
        {
            // NotSupportedException: an event name this version does not know (the base type is abstract).
            return null;
        }
    }
}
