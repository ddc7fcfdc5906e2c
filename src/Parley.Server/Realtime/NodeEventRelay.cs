using System.Text.Json;
using Parley.Core.Ports;
using Parley.Server.Contracts;

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

    private readonly Lock _gate = new();
    private List<(byte[] Event, TaskCompletionSource Done)> _waiting = [];
    private bool _running;

    /// <summary>Completes when the bus took the message carrying this event, or fails as that publish failed.</summary>
    public ValueTask PublishAsync(AddressedEvent addressed, CancellationToken cancellationToken)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        bool lead;
        lock (_gate)
        {
            _waiting.Add((Encode(addressed), done));
            lead = !_running;
            _running = true;
        }

        if (lead)
        {
            _ = Task.Run(DrainAsync, CancellationToken.None);
        }

        return new ValueTask(done.Task.WaitAsync(cancellationToken));
    }

    private async Task DrainAsync()
    {
        while (true)
        {
            List<(byte[] Event, TaskCompletionSource Done)> taken;
            lock (_gate)
            {
                if (_waiting.Count == 0)
                {
                    _running = false;
                    return;
                }

                if (_waiting.Count <= MaxEventsPerFrame)
                {
                    (taken, _waiting) = (_waiting, []);
                }
                else
                {
                    taken = _waiting[..MaxEventsPerFrame];
                    _waiting.RemoveRange(0, MaxEventsPerFrame);
                }
            }

            try
            {
                // Not the caller's token: the message carries other callers' events too.
                await bus.PublishAsync(Frame(taken), CancellationToken.None);
                foreach (var (_, done) in taken)
                {
                    done.TrySetResult();
                }
            }
            catch (Exception ex)
            {
                foreach (var (_, done) in taken)
                {
                    done.TrySetException(ex);
                }
            }
        }
    }

    /// <summary>One event as itself (what a node of the previous version reads); several as a JSON array of them.</summary>
    private static byte[] Frame(List<(byte[] Event, TaskCompletionSource Done)> events)
    {
        if (events.Count == 1)
        {
            return events[0].Event;
        }

        var frame = new byte[events.Sum(e => e.Event.Length + 1) + 1];
        var at = 0;
        foreach (var (index, (bytes, _)) in events.Index())
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
