using System.Text;
using Parley.Core.Errors;
using Parley.Core.Validation;

namespace Parley.Core.Tests;

public sealed class IsoTimestampTests
{
    [Theory]
    [InlineData("2026-11-23T08:00:00Z", "2026-11-23T08:00:00+00:00")]
    [InlineData("2026-11-23T08:00:00.123Z", "2026-11-23T08:00:00.1230000+00:00")]
    [InlineData("2026-11-23T08:00:00.1234567Z", "2026-11-23T08:00:00.1234567+00:00")]
    [InlineData("2026-11-23T09:30:00+01:30", "2026-11-23T09:30:00+01:30")]
    [InlineData("2026-11-23T03:00:00-05:00", "2026-11-23T03:00:00-05:00")]
    [InlineData("2026-11-23T08:00Z", "2026-11-23T08:00:00+00:00")]
    public void Timestamps_with_an_offset_are_read_exactly(string text, string expected)
    {
        Assert.Equal(DateTimeOffset.Parse(expected, System.Globalization.CultureInfo.InvariantCulture), IsoTimestamp.TryParse(text));
        Assert.Equal(TimeSpan.Parse(expected[^6..].TrimStart('+'), System.Globalization.CultureInfo.InvariantCulture), IsoTimestamp.TryParse(text)!.Value.Offset);
    }

    [Theory]
    [InlineData("2026-11-23T08:00:00")] // no offset: the server's zone is not the client's
    [InlineData("2026-11-23")]
    [InlineData("2026-11-23T08:00:00+0100")]
    [InlineData("2026-11-23T08:00:00+01")]
    [InlineData("2026-11-23 08:00:00Z")]
    [InlineData("23/11/2026 08:00:00 +00:00")]
    [InlineData("Mon, 23 Nov 2026 08:00:00 GMT")]
    [InlineData("2026-11-23T08:00:00z")]
    [InlineData("2026-11-23T08:00:00+15:00")]
    [InlineData("2026-13-23T08:00:00Z")]
    [InlineData("yesterday")]
    [InlineData("Z")]
    [InlineData("")]
    [InlineData(" 2026-11-23T08:00:00Z")]
    public void Anything_else_is_refused(string text)
    {
        Assert.Null(IsoTimestamp.TryParse(text));
        var error = ParleyAssert.Throws(string.IsNullOrWhiteSpace(text) ? ErrorCodes.MissingRequiredField : ErrorCodes.InvalidFieldValue, () => IsoTimestamp.Parse("since", text));
        Assert.Equal("since", ParleyAssert.Detail(error, "field"));
    }

    [Fact]
    public void A_missing_value_is_a_missing_field_and_a_bad_one_names_the_format()
    {
        ParleyAssert.Throws(ErrorCodes.MissingRequiredField, () => IsoTimestamp.Parse("since", null));
        var error = ParleyAssert.Throws(ErrorCodes.InvalidFieldValue, () => IsoTimestamp.Parse("since", "2026-11-23T08:00:00"));
        Assert.Equal("Field 'since' is invalid: " + IsoTimestamp.Expected, error.Message);
    }

    [Fact]
    public void The_request_body_reader_uses_the_same_rule_and_message()
    {
        var body = JsonBody.Parse(Encoding.UTF8.GetBytes("""{"since":"2026-11-23T08:00:00","ok":"2026-11-23T08:00:00Z"}"""));
        var error = ParleyAssert.Throws(ErrorCodes.InvalidFieldValue, () => body.OptionalTimestamp("since"));
        Assert.Equal(ParleyAssert.Throws(ErrorCodes.InvalidFieldValue, () => IsoTimestamp.Parse("since", "2026-11-23T08:00:00")).Message, error.Message);
        Assert.Equal(new DateTimeOffset(2026, 11, 23, 8, 0, 0, TimeSpan.Zero), body.OptionalTimestamp("ok"));
    }
}
