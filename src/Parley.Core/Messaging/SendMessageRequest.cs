using System.Text;
using System.Text.Json;
using Parley.Core.Validation;

namespace Parley.Core.Messaging;

/// <summary>A send as the ingress sees it, whichever transport it came by (REST or realtime).</summary>
public sealed record SendMessageRequest(Guid ConversationId, string Content, string Type, string? ClientMessageId, string? Metadata)
{
    /// <summary>The message of the same conversation this one replies to.</summary>
    public Guid? ReplyTo { get; init; }

    /// <summary>Members mentioned (user ids, distinct, at most <see cref="MaxMentions"/>); the ingress checks they are members.</summary>
    public IReadOnlyList<Guid>? Mentions { get; init; }

    public const int MaxMentions = 50;

    /// <summary>A poll's options (type <see cref="MessageTypes.Poll"/>; the content is the question).</summary>
    public PollDefinition? Poll { get; init; }

    /// <summary>Disappearing message (M8): deleted for everyone at this time (the conversation's TTL may make it sooner).</summary>
    public DateTimeOffset? ExpiresAt { get; init; }

    /// <summary>How far ahead an expiry may be: a year, as the longest conversation TTL.</summary>
    public static readonly TimeSpan MaxExpiry = TimeSpan.FromDays(365);

    /// <summary>An expiry must lie in the future, at most <see cref="MaxExpiry"/> after <paramref name="now"/>.</summary>
    public static void RequireExpiry(DateTimeOffset? expiresAt, DateTimeOffset now)
    {
        if (expiresAt is not { } at)
        {
            return;
        }

        if (at <= now)
        {
            throw Errors.Errors.InvalidValue("expiresAt", "must be in the future").ToException();
        }

        if (at - now > MaxExpiry)
        {
            throw Errors.Errors.InvalidValue("expiresAt", $"must be at most {MaxExpiry.TotalDays:0} days ahead").ToException();
        }
    }

    /// <summary>Set by the forward endpoint only (never read from a client's body): the message this is a copy of.</summary>
    public ForwardSource? ForwardedFrom { get; init; }

    /// <summary>Reads the REST body; the conversation id comes from the route.</summary>
    public static SendMessageRequest FromJson(Guid conversationId, JsonBody body) => new(
        conversationId,
        body.RequireString("content", int.MaxValue),
        body.OptionalString("type", 64) ?? (body.Has("poll") ? MessageTypes.Poll : MessageTypes.Text),
        body.OptionalString("clientMessageId", int.MaxValue),
        body.OptionalObjectJson("metadata", int.MaxValue))
    {
        ReplyTo = body.OptionalGuid("replyTo"),
        Mentions = body.OptionalGuidArray("mentions", MaxMentions)?.Distinct().ToList(),
        ExpiresAt = body.OptionalTimestamp("expiresAt"),
        Poll = body.OptionalObject("poll") is { } poll ? PollDefinition.FromJson(poll) : null,
    };

    /// <summary>A message's content, sent or edited: not blank, storable on every engine, within the byte limit.</summary>
    public static void RequireContent(string content, int maxContentBytes)
    {
        if (string.IsNullOrWhiteSpace(content))
        {
            throw Errors.Errors.InvalidValue("content", "must not be empty").ToException();
        }

        TextRules.Require("content", content);
        var contentBytes = Encoding.UTF8.GetByteCount(content);
        if (contentBytes > maxContentBytes)
        {
            throw Errors.Errors.TooLong("content", maxContentBytes, contentBytes, "bytes").ToException();
        }
    }

    /// <summary>A client's id for a request (a retry with it is the same request): storable, within the limit, not blank.</summary>
    public static void RequireClientId(string field, string? id, int maxLength)
    {
        if (id is null)
        {
            return;
        }

        TextRules.Require(field, id);
        if (id.Length > maxLength)
        {
            throw Errors.Errors.TooLong(field, maxLength, id.Length).ToException();
        }

        if (string.IsNullOrWhiteSpace(id))
        {
            throw Errors.Errors.InvalidValue(field, "must not be empty").ToException();
        }
    }

    /// <summary>
    /// Checks every value against the limits and against what every store engine can hold; throws the documented 400
    /// for the first violation. The result carries metadata as the object's JSON text without surrounding whitespace:
    /// that text is what is stored and served back, byte for byte.
    /// </summary>
    public SendMessageRequest Validate(int maxContentBytes, int maxMetadataBytes, int maxClientMessageIdLength)
    {
        RequireContent(Content, maxContentBytes);

        TextRules.Require("type", Type);
        if (!MessageTypes.IsClientSendable(Type))
        {
            throw Errors.Errors.InvalidValue("type", $"must be one of {string.Join(", ", MessageTypes.ClientSendable)}").ToException();
        }

        RequireClientId("clientMessageId", ClientMessageId, maxClientMessageIdLength);

        // A poll is a type with a body of its own: neither without the other.
        if (string.Equals(Type, MessageTypes.Poll, StringComparison.Ordinal) && Poll is null)
        {
            throw Errors.Errors.MissingField("poll").ToException();
        }

        if (Poll is not null && !string.Equals(Type, MessageTypes.Poll, StringComparison.Ordinal))
        {
            throw Errors.Errors.InvalidValue("type", $"a message with a poll has type {MessageTypes.Poll}").ToException();
        }

        if (Metadata is null)
        {
            return this;
        }

        // A hub client hands over a .NET string, which may hold an unpaired surrogate the JSON parser would not report.
        TextRules.Require("metadata", Metadata);
        var metadataBytes = Encoding.UTF8.GetByteCount(Metadata);
        if (metadataBytes > maxMetadataBytes)
        {
            throw Errors.Errors.TooLong("metadata", maxMetadataBytes, metadataBytes, "bytes").ToException();
        }

        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(Metadata, new JsonDocumentOptions { MaxDepth = 32 });
        }
        catch (JsonException)
        {
            throw Errors.Errors.WrongType("metadata", "a JSON object").ToException();
        }

        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw Errors.Errors.WrongType("metadata", "a JSON object").ToException();
            }

            TextRules.RequireStorableJson("metadata", doc.RootElement);
            var text = doc.RootElement.GetRawText();
            return string.Equals(text, Metadata, StringComparison.Ordinal) ? this : this with { Metadata = text };
        }
    }
}
