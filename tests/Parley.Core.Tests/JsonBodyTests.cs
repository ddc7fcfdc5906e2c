using System.Text;
using Parley.Core.Errors;
using Parley.Core.Validation;

namespace Parley.Core.Tests;

public sealed class JsonBodyTests
{
    private static JsonBody Body(string json) => JsonBody.Parse(Encoding.UTF8.GetBytes(json));

    [Fact]
    public void Empty_body_is_invalid_json()
    {
        ParleyAssert.Throws(ErrorCodes.InvalidJson, () => JsonBody.Parse(ReadOnlyMemory<byte>.Empty));
    }

    [Theory]
    [InlineData("{")]
    [InlineData("{\"a\":}")]
    [InlineData("{'a':1}")]
    [InlineData("   ")]
    [InlineData("{\"a\":1} trailing")]
    public void Malformed_json_is_invalid_json(string json)
    {
        var error = ParleyAssert.Throws(ErrorCodes.InvalidJson, () => Body(json));
        Assert.Equal(400, error.Status);
    }

    [Fact]
    public void Nesting_deeper_than_the_limit_is_invalid_json()
    {
        var deep = "{\"a\":" + new string('[', 40) + new string(']', 40) + "}";

        ParleyAssert.Throws(ErrorCodes.InvalidJson, () => Body(deep));
    }

    [Theory]
    [InlineData("[]")]
    [InlineData("[{\"content\":\"hi\"}]")]
    [InlineData("\"text\"")]
    [InlineData("42")]
    [InlineData("null")]
    [InlineData("true")]
    public void Non_object_root_is_invalid_schema(string json)
    {
        var error = ParleyAssert.Throws(ErrorCodes.InvalidSchema, () => Body(json));
        Assert.Equal(400, error.Status);
    }

    [Fact]
    public void Body_outlives_its_source_buffer()
    {
        var bytes = Encoding.UTF8.GetBytes("{\"name\":\"alice\"}");
        var body = JsonBody.Parse(bytes);
        Array.Clear(bytes);

        Assert.Equal("alice", body.RequireString("name", 10));
    }

    [Fact]
    public void Missing_required_string_names_the_field()
    {
        var error = ParleyAssert.Throws(ErrorCodes.MissingRequiredField, () => Body("{}").RequireString("content", 10));

        Assert.Equal("content", ParleyAssert.Detail(error, "field"));
    }

    [Fact]
    public void Json_null_is_treated_as_absent()
    {
        var body = Body("{\"s\":null,\"g\":null,\"o\":null,\"n\":null,\"a\":null}");

        Assert.Null(body.OptionalString("s", 10));
        Assert.Null(body.OptionalGuid("g"));
        Assert.Null(body.OptionalObjectJson("o", 100));
        ParleyAssert.Throws(ErrorCodes.MissingRequiredField, () => body.RequireString("s", 10));
        ParleyAssert.Throws(ErrorCodes.MissingRequiredField, () => body.RequireUtf8String("s", 10));
        ParleyAssert.Throws(ErrorCodes.MissingRequiredField, () => body.RequireGuid("g"));
        ParleyAssert.Throws(ErrorCodes.MissingRequiredField, () => body.RequireInt64("n", 0, 10));
        ParleyAssert.Throws(ErrorCodes.MissingRequiredField, () => body.RequireGuidArray("a", 10));
    }

    [Fact]
    public void Absent_optional_fields_are_null()
    {
        var body = Body("{}");

        Assert.Null(body.OptionalString("s", 10));
        Assert.Null(body.OptionalGuid("g"));
        Assert.Null(body.OptionalObjectJson("o", 100));
    }

    [Theory]
    [InlineData("42")]
    [InlineData("true")]
    [InlineData("{}")]
    [InlineData("[\"a\"]")]
    public void Non_string_where_a_string_is_expected_is_a_type_error(string value)
    {
        var body = Body($"{{\"name\":{value}}}");

        var error = ParleyAssert.Throws(ErrorCodes.InvalidFieldType, () => body.RequireString("name", 10));
        Assert.Equal("name", ParleyAssert.Detail(error, "field"));
        Assert.Equal("a string", ParleyAssert.Detail(error, "expected"));
        ParleyAssert.Throws(ErrorCodes.InvalidFieldType, () => body.RequireUtf8String("name", 10));
    }

    [Fact]
    public void String_at_the_limit_is_accepted_and_one_over_is_too_long()
    {
        Assert.Equal("abcde", Body("{\"name\":\"abcde\"}").RequireString("name", 5));

        var error = ParleyAssert.Throws(ErrorCodes.FieldTooLong, () => Body("{\"name\":\"abcdef\"}").RequireString("name", 5));
        Assert.Equal("name", ParleyAssert.Detail(error, "field"));
        Assert.Equal(5, ParleyAssert.Detail(error, "max"));
        Assert.Equal(6, ParleyAssert.Detail(error, "actual"));
        Assert.Equal("characters", ParleyAssert.Detail(error, "unit"));
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("\t\n")]
    public void Empty_or_whitespace_string_is_an_invalid_value(string value)
    {
        var body = Body($"{{\"name\":\"{value.Replace("\t", "\\t", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal)}\"}}");

        var error = ParleyAssert.Throws(ErrorCodes.InvalidFieldValue, () => body.OptionalString("name", 10));
        Assert.Equal("name", ParleyAssert.Detail(error, "field"));
    }

    [Fact]
    public void Minimum_length_is_enforced()
    {
        var body = Body("{\"password\":\"short\"}");

        ParleyAssert.Throws(ErrorCodes.InvalidFieldValue, () => body.RequireString("password", 100, minLength: 8));
        Assert.Equal("short", body.RequireString("password", 100, minLength: 5));
    }

    [Fact]
    public void Utf8_string_is_limited_in_bytes_not_characters()
    {
        // Four euro signs: 4 characters, 12 UTF-8 bytes.
        var body = Body("{\"bio\":\"\u20ac\u20ac\u20ac\u20ac\"}");

        Assert.Equal("\u20ac\u20ac\u20ac\u20ac", body.RequireUtf8String("bio", 12));
        var error = ParleyAssert.Throws(ErrorCodes.FieldTooLong, () => body.RequireUtf8String("bio", 11));
        Assert.Equal(12, ParleyAssert.Detail(error, "actual"));
        Assert.Equal("bytes", ParleyAssert.Detail(error, "unit"));
        ParleyAssert.Throws(ErrorCodes.InvalidFieldValue, () => Body("{\"bio\":\"  \"}").RequireUtf8String("bio", 11));
    }

    [Fact]
    public void Valid_guid_is_parsed()
    {
        var id = Guid.NewGuid();

        Assert.Equal(id, Body($"{{\"id\":\"{id}\"}}").RequireGuid("id"));
        Assert.Equal(id, Body($"{{\"id\":\"{id:N}\"}}").OptionalGuid("id"));
    }

    [Theory]
    [InlineData("\"not-a-guid\"")]
    [InlineData("\"\"")]
    [InlineData("\"123\"")]
    public void Invalid_guid_is_an_invalid_value(string value)
    {
        var error = ParleyAssert.Throws(ErrorCodes.InvalidFieldValue, () => Body($"{{\"id\":{value}}}").RequireGuid("id"));

        Assert.Equal("id", ParleyAssert.Detail(error, "field"));
    }

    [Fact]
    public void Guid_that_is_not_a_string_is_a_type_error()
    {
        ParleyAssert.Throws(ErrorCodes.InvalidFieldType, () => Body("{\"id\":123}").RequireGuid("id"));
    }

    [Fact]
    public void Guid_array_is_parsed_in_order()
    {
        var a = Guid.NewGuid();
        var b = Guid.NewGuid();

        Assert.Equal([a, b], Body($"{{\"ids\":[\"{a}\",\"{b}\"]}}").RequireGuidArray("ids", 2));
        Assert.Empty(Body("{\"ids\":[]}").RequireGuidArray("ids", 2));
    }

    [Fact]
    public void Guid_array_with_a_non_guid_is_an_invalid_recipient()
    {
        var body = Body($"{{\"memberIds\":[\"{Guid.NewGuid()}\",\"bob\"]}}");

        var error = ParleyAssert.Throws(ErrorCodes.InvalidRecipient, () => body.RequireGuidArray("memberIds", 10));
        Assert.Equal(400, error.Status);
        Assert.Equal("memberIds", ParleyAssert.Detail(error, "field"));
        Assert.Contains("bob", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("\"a\"")]
    [InlineData("{}")]
    [InlineData("[1]")]
    [InlineData("[null]")]
    public void Guid_array_of_the_wrong_shape_is_a_type_error(string value)
    {
        ParleyAssert.Throws(ErrorCodes.InvalidFieldType, () => Body($"{{\"ids\":{value}}}").RequireGuidArray("ids", 10));
    }

    [Fact]
    public void Guid_array_with_too_many_items_is_too_long()
    {
        var ids = string.Join(",", Enumerable.Range(0, 4).Select(_ => $"\"{Guid.NewGuid()}\""));

        var error = ParleyAssert.Throws(ErrorCodes.FieldTooLong, () => Body($"{{\"ids\":[{ids}]}}").RequireGuidArray("ids", 3));
        Assert.Equal(3, ParleyAssert.Detail(error, "max"));
        Assert.Equal(4, ParleyAssert.Detail(error, "actual"));
        Assert.Equal("items", ParleyAssert.Detail(error, "unit"));
    }

    [Theory]
    [InlineData("0", 0L)]
    [InlineData("100", 100L)]
    [InlineData("-5", -5L)]
    [InlineData("9223372036854775807", long.MaxValue)]
    public void Int64_within_range_is_accepted(string value, long expected)
    {
        Assert.Equal(expected, Body($"{{\"n\":{value}}}").RequireInt64("n", -5, long.MaxValue));
    }

    [Theory]
    [InlineData("-1")]
    [InlineData("101")]
    public void Int64_outside_range_is_an_invalid_value(string value)
    {
        var error = ParleyAssert.Throws(ErrorCodes.InvalidFieldValue, () => Body($"{{\"n\":{value}}}").RequireInt64("n", 0, 100));

        Assert.Equal("n", ParleyAssert.Detail(error, "field"));
    }

    [Theory]
    [InlineData("\"5\"")]
    [InlineData("1.5")]
    [InlineData("true")]
    [InlineData("9223372036854775808")]
    [InlineData("[1]")]
    public void Int64_of_the_wrong_type_is_a_type_error(string value)
    {
        var error = ParleyAssert.Throws(ErrorCodes.InvalidFieldType, () => Body($"{{\"n\":{value}}}").RequireInt64("n", 0, 100));

        Assert.Equal("an integer", ParleyAssert.Detail(error, "expected"));
    }

    [Fact]
    public void Object_json_is_returned_as_raw_text()
    {
        var json = Body("{\"metadata\":{\"a\":[1,2],\"b\":{\"c\":\"d\"}}}").OptionalObjectJson("metadata", 100);

        Assert.Equal("{\"a\":[1,2],\"b\":{\"c\":\"d\"}}", json);
    }

    [Theory]
    [InlineData("[]")]
    [InlineData("[{\"a\":1}]")]
    [InlineData("\"{}\"")]
    [InlineData("1")]
    public void Object_json_rejects_non_objects(string value)
    {
        var error = ParleyAssert.Throws(ErrorCodes.InvalidFieldType, () => Body($"{{\"metadata\":{value}}}").OptionalObjectJson("metadata", 100));

        Assert.Equal("metadata", ParleyAssert.Detail(error, "field"));
    }

    [Fact]
    public void Object_json_is_limited_in_bytes()
    {
        var body = Body("{\"metadata\":{\"k\":\"\u20ac\u20ac\"}}"); // {"k":"€€"} = 8 ASCII + 6 bytes = 14 bytes

        Assert.NotNull(body.OptionalObjectJson("metadata", 14));
        var error = ParleyAssert.Throws(ErrorCodes.FieldTooLong, () => body.OptionalObjectJson("metadata", 13));
        Assert.Equal(14, ParleyAssert.Detail(error, "actual"));
        Assert.Equal("bytes", ParleyAssert.Detail(error, "unit"));
    }
}
