using System.Text.Json;
using Parley.Core.Ports;

namespace Parley.Server.Realtime;

/// <summary>Server → client event names (docs/realtime.md). Never rename one.</summary>
public static class RealtimeEvents
{
    public const string MessageCreated = "messageCreated";
    public const string Receipt = "receipt";
}

/// <summary>
/// A message as pushed over the hub. Metadata travels as plain maps and lists so the JSON and MessagePack
/// protocols both carry it as a structured value.
/// </summary>
public sealed record RealtimeMessage(
    Guid Id,
    Guid ConversationId,
    long Sequence,
    Guid SenderId,
    string Type,
    string Content,
    Dictionary<string, object?>? Metadata,
    string? ClientMessageId,
    Guid CorrelationId,
    DateTimeOffset SentAt,
    DateTimeOffset StoredAt)
{
    public static RealtimeMessage From(StoredMessage m) => new(
        m.Id, m.ConversationId, m.Sequence, m.SenderId, m.Type, m.Content, ToMap(m.Metadata), m.ClientMessageId, m.CorrelationId, m.AcceptedAt, m.StoredAt);

    private static Dictionary<string, object?>? ToMap(string? json)
    {
        if (json is null)
        {
            return null;
        }

        using var doc = JsonDocument.Parse(json);
        return (Dictionary<string, object?>?)ToPlain(doc.RootElement);
    }

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

/// <summary>Client → server send over the hub. <c>Metadata</c> is a JSON object encoded as a string.</summary>
public sealed class HubSendMessage
{
    public Guid ConversationId { get; set; }
    public string? Content { get; set; }
    public string? Type { get; set; }
    public string? ClientMessageId { get; set; }
    public string? Metadata { get; set; }
}
