using System.Text.Json;
using System.Text.Json.Serialization;
using Parley.Core.Ports;
using Parley.Server.Messaging;

namespace Parley.Server.Realtime;

/// <summary>One realtime event and who it is for; what travels between nodes.</summary>
public sealed record RealtimeEnvelope(string Name, IReadOnlyList<Guid> UserIds, Guid? ExceptUser, MessageView? Message, object? Payload)
{
    public static RealtimeEnvelope ForMessage(MessageView message, IReadOnlyList<Guid> userIds) => new(RealtimeEvents.MessageCreated, userIds, null, message, null);

    public static RealtimeEnvelope ForEvent(string name, object payload, IReadOnlyList<Guid> userIds, Guid? exceptUser) => new(name, userIds, exceptUser, null, payload);
}

/// <summary>Serialises envelopes onto <see cref="IRealtimeBus"/> and back into the same typed payloads.</summary>
public sealed class RealtimeBus(IRealtimeBus bus)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Converters = { new JsonTextAsStringConverter() },
    };

    public ValueTask PublishAsync(RealtimeEnvelope envelope, CancellationToken cancellationToken)
    {
        var wire = new Wire(envelope.Name, envelope.UserIds, envelope.ExceptUser,
            envelope.Message is null ? JsonSerializer.SerializeToElement(envelope.Payload, envelope.Payload!.GetType(), Json) : JsonSerializer.SerializeToElement(envelope.Message, Json));
        return bus.PublishAsync(JsonSerializer.SerializeToUtf8Bytes(wire, Json), cancellationToken);
    }

    public void Subscribe(Action<RealtimeEnvelope> handler) => bus.Subscribe(bytes =>
    {
        if (Decode(bytes) is { } envelope)
        {
            handler(envelope);
        }
    });

    /// <summary>Null for anything that is not one of this version's events: nothing a device could use.</summary>
    private static RealtimeEnvelope? Decode(ReadOnlyMemory<byte> bytes)
    {
        try
        {
            var wire = JsonSerializer.Deserialize<Wire>(bytes.Span, Json);
            return wire?.Name switch
            {
                RealtimeEvents.MessageCreated => RealtimeEnvelope.ForMessage(wire.Body.Deserialize<MessageView>(Json)!, wire.UserIds),
                RealtimeEvents.Receipt => RealtimeEnvelope.ForEvent(wire.Name, wire.Body.Deserialize<ReceiptView>(Json)!, wire.UserIds, wire.ExceptUser),
                RealtimeEvents.Typing => RealtimeEnvelope.ForEvent(wire.Name, wire.Body.Deserialize<TypingEvent>(Json)!, wire.UserIds, wire.ExceptUser),
                RealtimeEvents.Presence => RealtimeEnvelope.ForEvent(wire.Name, wire.Body.Deserialize<PresenceEvent>(Json)!, wire.UserIds, wire.ExceptUser),
                _ => null,
            };
        }
        catch (JsonException)
        {
            return null;
        }
    }

    public event Action? Restored
    {
        add => bus.Restored += value;
        remove => bus.Restored -= value;
    }

    private sealed record Wire(string Name, IReadOnlyList<Guid> UserIds, Guid? ExceptUser, JsonElement Body);
}

/// <summary>Hands other nodes' events to this node's devices; after a bus break, devices re-check what they may have missed.</summary>
public sealed class RealtimeBusSubscriber(RealtimeBus bus, RealtimeNotifier notifier, ConnectionRegistry registry) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        bus.Subscribe(notifier.DeliverLocal);
        bus.Restored += () =>
        {
            foreach (var device in registry.All)
            {
                device.CatchUp();
            }
        };
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
