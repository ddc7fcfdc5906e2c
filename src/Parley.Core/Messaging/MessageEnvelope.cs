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

    /// <summary>
    /// Null for a send (what every entry was before changes existed); else one of <see cref="MessageChangeKinds"/>, and
    /// <see cref="MessageId"/> is the change's own id, <see cref="TargetId"/> the message it changes, <see cref="SenderId"/>
    /// the user who made it, <see cref="Content"/> an edit's new content (empty for other kinds).
    /// </summary>
    public string? Kind { get; init; }

    public Guid? TargetId { get; init; }

    /// <summary>An edit's reason.</summary>
    public string? Reason { get; init; }

    public string? ReactionKey { get; init; }

    /// <summary>A reaction added or a pin set (true), or removed (false).</summary>
    public bool? Added { get; init; }

    /// <summary>A send that replies to this message of the same conversation.</summary>
    public Guid? ReplyTo { get; init; }

    /// <summary>A send that mentions these members (checked at the ingress).</summary>
    public IReadOnlyList<Guid>? Mentions { get; init; }

    /// <summary>A send that forwards a copy of another message (the ingress checked the sender may read it).</summary>
    public ForwardSource? ForwardedFrom { get; init; }

    /// <summary>A poll send's options (checked at the ingress).</summary>
    public PollDefinition? Poll { get; init; }

    /// <summary>A vote: the voter's options from now on (none: the vote is retracted).</summary>
    public IReadOnlyList<int>? OptionIds { get; init; }

    /// <summary>A send the sender made disappearing (checked at the ingress); the conversation's TTL is applied at persist time.</summary>
    public DateTimeOffset? ExpiresAt { get; init; }

    [JsonIgnore]
    public bool IsChange => Kind is not null;

    /// <summary>W3C traceparent of the request that accepted the message, so the worker continues its trace.</summary>
    public string? TraceParent { get; init; }

    public byte[] Serialize() => JsonSerializer.SerializeToUtf8Bytes(this, EnvelopeJsonContext.Default.MessageEnvelope);

    public static MessageEnvelope Deserialize(ReadOnlySpan<byte> payload) =>
        JsonSerializer.Deserialize(payload, EnvelopeJsonContext.Default.MessageEnvelope)
        ?? throw new JsonException("Envelope payload is null");
}

/// <summary>The original of a forwarded message; the copy keeps it even if the original is later deleted.</summary>
public sealed record ForwardSource(Guid MessageId, Guid ConversationId, Guid SenderId);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(MessageEnvelope))]
internal sealed partial class EnvelopeJsonContext : JsonSerializerContext;
