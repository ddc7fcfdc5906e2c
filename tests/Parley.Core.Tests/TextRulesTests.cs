using System.Text;
using System.Text.RegularExpressions;
using Parley.Core.Errors;
using Parley.Core.Messaging;
using Parley.Core.Validation;

namespace Parley.Core.Tests;

/// <summary>Issue 11: what the ingress accepts must be storable on every engine and readable back exactly.</summary>
public sealed class TextRulesTests
{
    private static readonly Guid Conversation = Guid.Parse("5d7c0e2a-8f0b-4c1e-9a55-0c6a1b2c3d4e");

    private static SendMessageRequest Validate(string content = "hi", string? clientMessageId = null, string? metadata = null, string type = MessageTypes.Text) =>
        new SendMessageRequest(Conversation, content, type, clientMessageId, metadata).Validate(10_240, 4_096, 255);

    private static JsonBody Body(string json) => JsonBody.Parse(Encoding.UTF8.GetBytes(json));

    [Theory]
    [InlineData("plain")]
    [InlineData("tab\tnew\nline\rcarriage")]
    [InlineData("\u0001\u001f\u007f\u0085")]
    [InlineData("\uFFFE\uFFFF\uFDD0\uFDEF")]
    [InlineData("😀 \U0010FFFF")]
    [InlineData("\u2028\uFEFF")]
    [InlineData("")]
    public void Valid_unicode_without_nul_is_storable(string text) => Assert.Null(TextRules.Problem(text));

    // Attribute arguments are stored as UTF-8, which cannot carry an unpaired surrogate: these arrive escaped.
    [Theory]
    [InlineData(@"\u0000")]
    [InlineData(@"a\u0000b")]
    [InlineData(@"\ud800")]
    [InlineData(@"x\udc00")]
    [InlineData(@"\udc00\ud800")]
    [InlineData(@"\ud83d")]
    [InlineData(@"end\udbff")]
    public void Nul_and_unpaired_surrogates_are_not_storable(string escaped) => Assert.NotNull(TextRules.Problem(Regex.Unescape(escaped)));

    [Theory]
    [InlineData(@"a\u0000b", null, null)]
    [InlineData(@"\ud800", null, null)]
    [InlineData("ok", @"id\u0000", null)]
    [InlineData("ok", @"\udc00", null)]
    [InlineData("ok", null, @"{""k"":""\ud800""}")]
    [InlineData("ok", null, "{\"k\":\"\\\\ud800\"}")]
    [InlineData("ok", null, "{\"\\udfff\":1}")]
    [InlineData("ok", null, "{\"a\":[{\"b\":\"\\ud800\\ud800\"}]}")]
    public void Send_with_text_no_engine_can_store_is_invalid_text(string content, string? clientMessageId, string? metadata)
    {
        var error = ParleyAssert.Throws(ErrorCodes.InvalidText, () => Validate(Regex.Unescape(content), clientMessageId is null ? null : Regex.Unescape(clientMessageId), metadata is null ? null : Regex.Unescape(metadata)));

        Assert.Equal(400, error.Status);
        Assert.NotNull(ParleyAssert.Detail(error, "field"));
    }

    [Fact]
    public void Metadata_may_hold_an_escaped_nul_because_it_is_stored_as_json_text()
    {
        Assert.Equal("{\"k\":\"\\u0000\"}", Validate(metadata: "{\"k\":\"\\u0000\"}").Metadata);
    }

    [Theory]
    [InlineData("{\"a\":1e400}")]
    [InlineData("{\"a\":123456789012345678901234567890,\"b\":0.1000000000000000055511151231257827,\"c\":-0}")]
    [InlineData("{\"z\":1, \"a\" : [1.0, 2e0]}")]
    [InlineData("{\"e\":\"\\u00e9\\u0041\",\"😀\":\"\\ud83d\\ude00\"}")]
    [InlineData("{}")]
    public void Metadata_is_kept_as_the_exact_json_text(string metadata) => Assert.Equal(metadata, Validate(metadata: metadata).Metadata);

    [Fact]
    public void Whitespace_around_the_metadata_object_is_dropped_and_inside_it_is_kept()
    {
        Assert.Equal("{ \"a\" :1 }", Validate(metadata: " \n{ \"a\" :1 }\t").Metadata);
    }

    [Theory]
    [InlineData("{\"a\":1,\"a\":2}")]
    [InlineData("{\"a\":{\"b\":1,\"b\":1}}")]
    [InlineData("{\"x\":[{\"k\":1,\"k\":null}]}")]
    [InlineData("{\"\\u0061\":1,\"a\":2}")]
    public void Metadata_with_a_repeated_key_is_an_invalid_value(string metadata)
    {
        var error = ParleyAssert.Throws(ErrorCodes.InvalidFieldValue, () => Validate(metadata: metadata));

        Assert.Equal("metadata", ParleyAssert.Detail(error, "field"));
    }

    [Theory]
    [InlineData("{\"content\":\"\\ud800\"}", "content")]
    [InlineData("{\"content\":\"a\\u0000\"}", "content")]
    public void Body_strings_that_cannot_be_stored_are_invalid_text(string json, string field)
    {
        var error = ParleyAssert.Throws(ErrorCodes.InvalidText, () => Body(json).RequireString(field, 100));

        Assert.Equal(field, ParleyAssert.Detail(error, "field"));
    }

    [Fact]
    public void Lone_surrogates_in_uuid_and_timestamp_fields_are_invalid_text()
    {
        ParleyAssert.Throws(ErrorCodes.InvalidText, () => Body("{\"id\":\"\\ud800\"}").OptionalGuid("id"));
        ParleyAssert.Throws(ErrorCodes.InvalidText, () => Body("{\"at\":\"\\udc00\"}").OptionalTimestamp("at"));
        ParleyAssert.Throws(ErrorCodes.InvalidText, () => Body("{\"ids\":[\"\\udc00\"]}").RequireGuidArray("ids", 10));
    }

    [Theory]
    [InlineData(new byte[] { 0xFF })]
    [InlineData(new byte[] { 0xC3 })]
    [InlineData(new byte[] { 0xED, 0xA0, 0x80 })]
    [InlineData(new byte[] { 0xC0, 0xAF })]
    [InlineData(new byte[] { 0xF4, 0x90, 0x80, 0x80 })]
    public void A_body_that_is_not_utf8_is_invalid_json(byte[] bad)
    {
        byte[] body = [.. "{\"content\":\""u8, .. bad, .. "\"}"u8];

        ParleyAssert.Throws(ErrorCodes.InvalidJson, () => JsonBody.Parse(body));
    }
}
