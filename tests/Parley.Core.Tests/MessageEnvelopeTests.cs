using System.Text;
using System.Text.Json;
using Parley.Core.Messaging;

namespace Parley.Core.Tests;

public sealed class MessageEnvelopeTests
{
    private static MessageEnvelope Full() => new()
    {
        MessageId = Guid.Parse("0b0f6a51-0000-4000-8000-000000000001"),
        ConversationId = Guid.Parse("0b0f6a51-0000-4000-8000-000000000002"),
        SenderId = Guid.Parse("0b0f6a51-0000-4000-8000-000000000003"),
        Type = MessageTypes.Image,
        Content = "h\u00e9llo \u20ac \"quoted\"\n\U0001F600",
        Metadata = "{\"w\":640,\"h\":480}",
        ClientMessageId = "client-1",
        IdempotencyKey = "c:abc",
        CorrelationId = Guid.Parse("0b0f6a51-0000-4000-8000-000000000004"),
        AcceptedAt = new DateTimeOffset(2025, 3, 4, 5, 6, 7, TimeSpan.FromHours(2)).AddTicks(1234567),
        TraceParent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
    };

    [Fact]
    public void Round_trips_every_field()
    {
        var envelope = Full();

        var copy = MessageEnvelope.Deserialize(envelope.Serialize());

        Assert.Equal(envelope, copy);
        Assert.Equal(envelope.AcceptedAt.Offset, copy.AcceptedAt.Offset);
        Assert.Equal(envelope.AcceptedAt.Ticks, copy.AcceptedAt.Ticks);
    }

    [Fact]
    public void Round_trips_null_optional_fields()
    {
        var envelope = Full() with { Metadata = null, ClientMessageId = null, TraceParent = null };

        var copy = MessageEnvelope.Deserialize(envelope.Serialize());

        Assert.Equal(envelope, copy);
        Assert.Null(copy.Metadata);
        Assert.Null(copy.ClientMessageId);
        Assert.Null(copy.TraceParent);
    }

    [Fact]
    public void Serializes_as_camel_case_json_without_nulls()
    {
        var envelope = Full() with { Metadata = null, ClientMessageId = null, TraceParent = null };

        using var doc = JsonDocument.Parse(envelope.Serialize());
        var root = doc.RootElement;

        Assert.Equal(envelope.MessageId, root.GetProperty("messageId").GetGuid());
        Assert.Equal(envelope.IdempotencyKey, root.GetProperty("idempotencyKey").GetString());
        Assert.False(root.TryGetProperty("metadata", out _));
        Assert.False(root.TryGetProperty("clientMessageId", out _));
        Assert.False(root.TryGetProperty("traceParent", out _));
    }

    [Theory]
    [InlineData("not json at all")]
    [InlineData("{")]
    [InlineData("[1,2,3]")]
    [InlineData("42")]
    [InlineData("null")]
    public void Garbage_payload_throws_json_exception(string payload)
    {
        Assert.ThrowsAny<JsonException>(() => MessageEnvelope.Deserialize(Encoding.UTF8.GetBytes(payload)));
    }

    [Fact]
    public void Binary_garbage_throws_json_exception()
    {
        Assert.ThrowsAny<JsonException>(() => MessageEnvelope.Deserialize(new byte[] { 0xFF, 0x00, 0x13, 0x37, 0xC3 }));
    }

    [Fact]
    public void Payload_missing_a_required_field_throws_json_exception()
    {
        using var doc = JsonDocument.Parse(Full().Serialize());
        var withoutContent = "{" + string.Join(",", doc.RootElement.EnumerateObject()
            .Where(p => !p.NameEquals("content"))
            .Select(p => JsonSerializer.Serialize(p.Name) + ":" + p.Value.GetRawText())) + "}";

        Assert.ThrowsAny<JsonException>(() => MessageEnvelope.Deserialize(Encoding.UTF8.GetBytes(withoutContent)));
    }
}
