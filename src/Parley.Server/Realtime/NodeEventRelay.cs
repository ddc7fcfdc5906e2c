using System.Text.Json;
using Parley.Core.Ports;
using Parley.Server.Contracts;
using Parley.Server.Hosting;

namespace Parley.Server.Realtime;

/// <summary>
/// Relays realtime events between this node and the others over the <see cref="IRealtimeBus"/> port: publishes this
/// node's events and hands the other nodes' back as the same typed events (<see cref="NodeEventJsonContext"/>).
/// <para>
/// Publishes are group-committed: while one bus message is on its way, the events published meanwhile collect and go
/// out together as the next one, a JSON array, in the order they were published. Under load a delivery batch costs
/// the bus one message instead of one per stored message (a Redis round trip each, on the server every append
/// shares); when idle an event goes out alone, at once, as a single object.
/// </para>
/// </summary>
public sealed class NodeEventRelay(IRealtimeBus bus)
{
    /// <summary>Events per bus message at most, so one message stays small for the bus and for every subscriber.</summary>
    public const int MaxEventsPerFrame = 256;

    // Not a caller's token for the publish: the message carries other callers' events too.
    private readonly GroupCommit<byte[], bool> _publishes = new(async events =>
    {
        await bus.PublishAsync(Frame(events), CancellationToken.None);
        return [.. events.Select(_ => true)];
    }, MaxEventsPerFrame);

    /// <summary>Completes when the bus took the message carrying this event, or fails as that publish failed.</summary>
    public ValueTask PublishAsync(AddressedEvent addressed, CancellationToken cancellationToken) =>
        new(_publishes.SubmitAsync(Encode(addressed)).WaitAsync(cancellationToken));

    /// <summary>One event as itself (what a node of the previous version reads); several as a JSON array of them.</summary>
    private static byte[] Frame(IReadOnlyList<byte[]> events)
    {
        if (events.Count == 1)
        {
            return events[0];
        }

        var frame = new byte[events.Sum(e => e.Length + 1) + 1];
        var at = 0;
        foreach (var (index, bytes) in events.Index())
        {
            frame[at++] = (byte)(index == 0 ? '[' : ',');
            bytes.CopyTo(frame, at);
            at += bytes.Length;
        }

        frame[at] = (byte)']';
        return frame;
    }

    public void Subscribe(Action<AddressedEvent> handler) => bus.Subscribe(bytes =>
    {
        foreach (var addressed in DecodeFrame(bytes))
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

    /// <summary>The events of one bus message, in order; an element that is not a whole event of this version is skipped.</summary>
    public static IReadOnlyList<AddressedEvent> DecodeFrame(ReadOnlyMemory<byte> bytes)
    {
        var trimmed = bytes.Span.TrimStart(" \t\r\n"u8);
        if (trimmed.IsEmpty || trimmed[0] != (byte)'[')
        {
            return Decode(bytes) is { } single ? [single] : [];
        }

        // Each element is decoded from its own bytes, not through a JsonDocument, so a message's metadata reaches the
        // devices as the very JSON text the sender wrote (a document would re-escape its strings).
        var offset = bytes.Length - trimmed.Length;
        var events = new List<AddressedEvent>();
        var reader = new Utf8JsonReader(trimmed);
        try
        {
            reader.Read();
            while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
            {
                var start = (int)reader.TokenStartIndex;
                reader.Skip();
                if (Decode(bytes.Slice(offset + start, (int)reader.BytesConsumed - start)) is { } addressed)
                {
                    events.Add(addressed);
                }
            }
        }
        catch (JsonException)
        {
            // A torn or foreign message: what was whole before the damage still goes out.
        }

        return events;
    }
}
