namespace Parley.Server.Realtime;

/// <summary>Server → client event names (docs/realtime.md). Never rename one.</summary>
public static class RealtimeEvents
{
    public const string MessageCreated = "messageCreated";
    public const string Receipt = "receipt";
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
