using System.Text.Json;
using Parley.Core.Messaging;
using Parley.Core.Ports;

namespace Parley.Server.Messaging;

/// <summary>The ingress's answer (P1): accepted, not yet stored; watch <c>statusUrl</c> or the realtime events.</summary>
public sealed record SendAck(
    Guid MessageId,
    Guid CorrelationId,
    string State,
    DateTimeOffset AcceptedAt,
    string IdempotencyKey,
    bool IdempotentHit,
    string StatusUrl,
    int Partition);

/// <summary>
/// A stored message, the same over REST and realtime. Metadata travels as plain maps and lists so the JSON
/// and MessagePack hub protocols both carry it as a structured value.
/// </summary>
public sealed record MessageView(
    Guid Id,
    Guid ConversationId,
    long Sequence,
    Guid SenderId,
    string Type,
    string Content,
    Dictionary<string, object?>? Metadata,
    string? ClientMessageId,
    string ContentHash,
    int Size,
    Guid CorrelationId,
    DateTimeOffset SentAt,
    DateTimeOffset StoredAt)
{
    public static MessageView From(StoredMessage m) => new(
        m.Id, m.ConversationId, m.Sequence, m.SenderId, m.Type, m.Content, ToMap(m.Metadata), m.ClientMessageId,
        m.ContentHash, m.Size, m.CorrelationId, m.AcceptedAt, m.StoredAt);

    private static Dictionary<string, object?>? ToMap(string? json)
    {
        if (json is null)
        {
            return null;
        }

        using var doc = JsonDocument.Parse(json);
        return (Dictionary<string, object?>?)ToPlain(doc.RootElement);
    }

    /// <summary>A view read back from JSON (another node's event) holds JsonElements in its metadata; MessagePack needs plain values.</summary>
    public MessageView WithPlainMetadata() => Metadata is null ? this : this with
    {
        Metadata = Metadata.ToDictionary(p => p.Key, p => p.Value is JsonElement e ? ToPlain(e) : p.Value, StringComparer.Ordinal),
    };

    private static object? ToPlain(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.Object => e.EnumerateObject().ToDictionary(p => p.Name, p => ToPlain(p.Value), StringComparer.Ordinal),
        JsonValueKind.Array => e.EnumerateArray().Select(ToPlain).ToList(),
        JsonValueKind.String => e.GetString(),
        JsonValueKind.Number => e.TryGetInt64(out var l) ? l : e.GetDouble(),
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        _ => null,
    };
}

public sealed record MessagePageView(IReadOnlyList<MessageView> Items, bool HasMore, long? NextBefore, long? NextAfter);

/// <summary>POST /api/v1/sync, per conversation: <c>messages</c> cover (fromSequence, …] in order; status recovered or more.</summary>
public sealed record SyncConversationView(Guid ConversationId, string Status, long FromSequence, long LatestSequence, IReadOnlyList<MessageView> Messages);

public sealed record SyncView(IReadOnlyList<SyncConversationView> Conversations);

public sealed record MessageStatusView(
    Guid MessageId,
    Guid ConversationId,
    string State,
    long? Sequence,
    DateTimeOffset AcceptedAt,
    DateTimeOffset? StoredAt,
    int RecipientCount,
    int DeliveredCount,
    int ReadCount);

public sealed record ReceiptView(Guid ConversationId, Guid UserId, string State, long UpToSequence, long LastDeliveredSequence, long LastReadSequence, long UnreadCount)
{
    public static ReceiptView From(ReceiptUpdate update) => new(
        update.ConversationId,
        update.UserId,
        update.Kind == ReceiptKind.Read ? MessageState.Read.ToWire() : MessageState.Delivered.ToWire(),
        update.Kind == ReceiptKind.Read ? update.Watermarks.Read : update.Watermarks.Delivered,
        update.Watermarks.Delivered,
        update.Watermarks.Read,
        update.UnreadCount);
}

public sealed record ConversationView(
    Guid Id,
    string Type,
    string? Title,
    string Status,
    Guid CreatedBy,
    DateTimeOffset CreatedAt,
    DateTimeOffset LastActivityAt,
    long LastSequence,
    IReadOnlyList<Guid> MemberIds,
    long UnreadCount,
    MessageView? LastMessage)
{
    public static ConversationView From(ConversationRecord c, IReadOnlyList<Guid> members, long unread = 0, StoredMessage? last = null) =>
        new(c.Id, c.Type, c.Title, c.Status, c.CreatedBy, c.CreatedAt, c.LastActivityAt, c.LastSequence, members, unread,
            last is null ? null : MessageView.From(last));
}

public sealed record ConversationPageView(IReadOnlyList<ConversationView> Items, string? NextCursor);
