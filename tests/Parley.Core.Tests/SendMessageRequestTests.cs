using System.Text;
using Parley.Core.Errors;
using Parley.Core.Messaging;
using Parley.Core.Validation;

namespace Parley.Core.Tests;

public sealed class SendMessageRequestTests
{
    private const int MaxContentBytes = 10;
    private const int MaxMetadataBytes = 20;
    private const int MaxClientMessageIdLength = 8;

    private static readonly Guid Conversation = Guid.Parse("5d7c0e2a-8f0b-4c1e-9a55-0c6a1b2c3d4e");

    private static SendMessageRequest Request(string content = "hi", string type = MessageTypes.Text, string? clientMessageId = null, string? metadata = null) =>
        new(Conversation, content, type, clientMessageId, metadata);

    private static SendMessageRequest Validate(SendMessageRequest request) =>
        request.Validate(MaxContentBytes, MaxMetadataBytes, MaxClientMessageIdLength);

    [Fact]
    public void Valid_request_passes_and_returns_itself()
    {
        var request = Request(clientMessageId: "m-1", metadata: "{\"a\":1}");

        Assert.Same(request, Validate(request));
    }

    [Theory]
    [InlineData(MessageTypes.Text)]
    [InlineData(MessageTypes.Image)]
    [InlineData(MessageTypes.File)]
    [InlineData(MessageTypes.Audio)]
    [InlineData(MessageTypes.Video)]
    [InlineData(MessageTypes.Location)]
    [InlineData(MessageTypes.BookingUpdate)]
    [InlineData(MessageTypes.PaymentUpdate)]
    public void Every_client_sendable_type_is_accepted(string type)
    {
        var request = Request(type: type);

        Assert.Same(request, Validate(request));
    }

    [Theory]
    [InlineData("")]
    [InlineData(" ")]
    [InlineData("\t\r\n")]
    public void Empty_or_whitespace_content_is_an_invalid_value(string content)
    {
        var error = ParleyAssert.Throws(ErrorCodes.InvalidFieldValue, () => Validate(Request(content: content)));

        Assert.Equal("content", ParleyAssert.Detail(error, "field"));
    }

    [Fact]
    public void Content_limit_is_measured_in_utf8_bytes()
    {
        // 3 euro signs = 3 characters but 9 bytes: fits in 10. 4 of them = 12 bytes: too long.
        var fits = Request(content: "\u20ac\u20ac\u20ac");
        Assert.Same(fits, Validate(fits));

        var error = ParleyAssert.Throws(ErrorCodes.FieldTooLong, () => Validate(Request(content: "\u20ac\u20ac\u20ac\u20ac")));
        Assert.Equal("content", ParleyAssert.Detail(error, "field"));
        Assert.Equal(MaxContentBytes, ParleyAssert.Detail(error, "max"));
        Assert.Equal(12, ParleyAssert.Detail(error, "actual"));
        Assert.Equal("bytes", ParleyAssert.Detail(error, "unit"));
    }

    [Fact]
    public void Content_exactly_at_the_limit_is_accepted_and_one_byte_more_is_not()
    {
        var atLimit = Request(content: new string('x', MaxContentBytes));
        Assert.Same(atLimit, Validate(atLimit));

        ParleyAssert.Throws(ErrorCodes.FieldTooLong, () => Validate(Request(content: new string('x', MaxContentBytes + 1))));
    }

    [Theory]
    [InlineData("sticker")]
    [InlineData("Text")]
    [InlineData("")]
    [InlineData(MessageTypes.System)]
    public void Unknown_or_server_only_type_is_an_invalid_value(string type)
    {
        var error = ParleyAssert.Throws(ErrorCodes.InvalidFieldValue, () => Validate(Request(type: type)));

        Assert.Equal("type", ParleyAssert.Detail(error, "field"));
        Assert.DoesNotContain(MessageTypes.System, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Client_message_id_too_long_is_rejected()
    {
        var error = ParleyAssert.Throws(ErrorCodes.FieldTooLong, () => Validate(Request(clientMessageId: new string('c', MaxClientMessageIdLength + 1))));

        Assert.Equal("clientMessageId", ParleyAssert.Detail(error, "field"));
        Assert.Equal(MaxClientMessageIdLength, ParleyAssert.Detail(error, "max"));
    }

    [Fact]
    public void Client_message_id_at_the_limit_is_accepted()
    {
        var request = Request(clientMessageId: new string('c', MaxClientMessageIdLength));

        Assert.Same(request, Validate(request));
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    public void Blank_client_message_id_is_an_invalid_value(string clientMessageId)
    {
        var error = ParleyAssert.Throws(ErrorCodes.InvalidFieldValue, () => Validate(Request(clientMessageId: clientMessageId)));

        Assert.Equal("clientMessageId", ParleyAssert.Detail(error, "field"));
    }

    [Fact]
    public void Metadata_too_big_is_rejected_in_bytes()
    {
        // {"k":"€€€€"} = 8 + 12 = 20 bytes fits; one more euro sign = 23 bytes does not.
        var fits = Request(metadata: "{\"k\":\"\u20ac\u20ac\u20ac\u20ac\"}");
        Assert.Same(fits, Validate(fits));

        var error = ParleyAssert.Throws(ErrorCodes.FieldTooLong, () => Validate(Request(metadata: "{\"k\":\"\u20ac\u20ac\u20ac\u20ac\u20ac\"}")));
        Assert.Equal("metadata", ParleyAssert.Detail(error, "field"));
        Assert.Equal(23, ParleyAssert.Detail(error, "actual"));
        Assert.Equal("bytes", ParleyAssert.Detail(error, "unit"));
    }

    [Theory]
    [InlineData("[1,2]")]
    [InlineData("\"text\"")]
    [InlineData("42")]
    [InlineData("null")]
    [InlineData("{")]
    [InlineData("not json")]
    public void Metadata_that_is_not_a_json_object_is_a_type_error(string metadata)
    {
        var error = ParleyAssert.Throws(ErrorCodes.InvalidFieldType, () => Validate(Request(metadata: metadata)));

        Assert.Equal("metadata", ParleyAssert.Detail(error, "field"));
    }

    [Fact]
    public void From_json_defaults_the_type_to_text()
    {
        var request = SendMessageRequest.FromJson(Conversation, Body("{\"content\":\"hello\"}"));

        Assert.Equal(new SendMessageRequest(Conversation, "hello", MessageTypes.Text, null, null), request);
    }

    [Fact]
    public void From_json_treats_null_type_as_text()
    {
        var request = SendMessageRequest.FromJson(Conversation, Body("{\"content\":\"hello\",\"type\":null}"));

        Assert.Equal(MessageTypes.Text, request.Type);
    }

    [Fact]
    public void From_json_reads_every_field()
    {
        var request = SendMessageRequest.FromJson(Conversation, Body(
            "{\"content\":\"pic\",\"type\":\"image\",\"clientMessageId\":\"m-7\",\"metadata\":{\"w\":1}}"));

        Assert.Equal(new SendMessageRequest(Conversation, "pic", MessageTypes.Image, "m-7", "{\"w\":1}"), request);
    }

    [Fact]
    public void From_json_requires_content()
    {
        var error = ParleyAssert.Throws(ErrorCodes.MissingRequiredField, () => SendMessageRequest.FromJson(Conversation, Body("{\"type\":\"text\"}")));

        Assert.Equal("content", ParleyAssert.Detail(error, "field"));
    }

    [Fact]
    public void From_json_rejects_metadata_that_is_not_an_object()
    {
        ParleyAssert.Throws(ErrorCodes.InvalidFieldType, () => SendMessageRequest.FromJson(Conversation, Body("{\"content\":\"x\",\"metadata\":[1]}")));
    }

    [Fact]
    public void From_json_limits_the_type_to_64_characters()
    {
        var type = new string('t', 65);

        ParleyAssert.Throws(ErrorCodes.FieldTooLong, () => SendMessageRequest.FromJson(Conversation, Body($"{{\"content\":\"x\",\"type\":\"{type}\"}}")));
    }

    private static JsonBody Body(string json) => JsonBody.Parse(Encoding.UTF8.GetBytes(json));
}
