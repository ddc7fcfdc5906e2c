using System.Text.Json;
using System.Text.Json.Serialization;

namespace Parley.Core.Messaging;

/// <summary>
/// What the ingress appends to the log: everything the delivery worker needs to persist and fan out a
/// message without asking the ingress again. Content is inline (bounded by the content limit).
/// </summary>
public sealed record MessageEnvelope
{
    public required Guid MessageId { get; init; }
    public required Guid ConversationId { get; init; }
    public required Guid SenderId { get; init; }
    public required string Type { get; init; }
    public required string Content { get; init; }
    public string? Metadata { get; init; }
    public string? ClientMessageId { get; init; }
    public required string IdempotencyKey { get; init; }
    public required Guid CorrelationId { get; init; }
    public required DateTimeOffset AcceptedAt { get; init; }

    /// <summary>W3C traceparent of the request that accepted the message, so the worker continues its trace.</summary>
    public string? TraceParent { get; init; }

    public byte[] Serialize() => JsonSerializer.SerializeToUtf8Bytes(this, EnvelopeJsonContext.Default.MessageEnvelope);

    public static MessageEnvelope Deserialize(ReadOnlySpan<byte> payload) =>
        JsonSerializer.Deserialize(payload, EnvelopeJsonContext.Default.MessageEnvelope)
        ?? throw new JsonException("Envelope payload is null");
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(MessageEnvelope))]
internal sealed partial class EnvelopeJsonContext : JsonSerializerContext;
