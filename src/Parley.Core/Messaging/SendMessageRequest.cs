using System.Text;
using System.Text.Json;
using Parley.Core.Validation;

namespace Parley.Core.Messaging;

/// <summary>A send as the ingress sees it, whichever transport it came by (REST or realtime).</summary>
public sealed record SendMessageRequest(Guid ConversationId, string Content, string Type, string? ClientMessageId, string? Metadata)
{
    /// <summary>Reads the REST body; the conversation id comes from the route.</summary>
    public static SendMessageRequest FromJson(Guid conversationId, JsonBody body) => new(
        conversationId,
        body.RequireString("content", int.MaxValue),
        body.OptionalString("type", 64) ?? MessageTypes.Text,
        body.OptionalString("clientMessageId", int.MaxValue),
        body.OptionalObjectJson("metadata", int.MaxValue));

    /// <summary>Checks every value against the limits; throws the documented 400 for the first violation.</summary>
    public SendMessageRequest Validate(int maxContentBytes, int maxMetadataBytes, int maxClientMessageIdLength)
    {
        if (string.IsNullOrWhiteSpace(Content))
        {
            throw Errors.Errors.InvalidValue("content", "must not be empty").ToException();
        }

        var contentBytes = Encoding.UTF8.GetByteCount(Content);
        if (contentBytes > maxContentBytes)
        {
            throw Errors.Errors.TooLong("content", maxContentBytes, contentBytes, "bytes").ToException();
        }

        if (!MessageTypes.IsClientSendable(Type))
        {
            throw Errors.Errors.InvalidValue("type", $"must be one of {string.Join(", ", MessageTypes.ClientSendable)}").ToException();
        }

        if (ClientMessageId is not null)
        {
            if (ClientMessageId.Length > maxClientMessageIdLength)
            {
                throw Errors.Errors.TooLong("clientMessageId", maxClientMessageIdLength, ClientMessageId.Length).ToException();
            }

            if (string.IsNullOrWhiteSpace(ClientMessageId))
            {
                throw Errors.Errors.InvalidValue("clientMessageId", "must not be empty").ToException();
            }
        }

        if (Metadata is not null)
        {
            var metadataBytes = Encoding.UTF8.GetByteCount(Metadata);
            if (metadataBytes > maxMetadataBytes)
            {
                throw Errors.Errors.TooLong("metadata", maxMetadataBytes, metadataBytes, "bytes").ToException();
            }

            if (!IsJsonObject(Metadata))
            {
                throw Errors.Errors.WrongType("metadata", "a JSON object").ToException();
            }
        }

        return this;
    }

    private static bool IsJsonObject(string json)
    {
        try
        {
            using var doc = JsonDocument.Parse(json);
            return doc.RootElement.ValueKind == JsonValueKind.Object;
        }
        catch (JsonException)
        {
            return false;
        }
    }
}
