using Parley.Core.Ports;

namespace Parley.Core.Tests;

public sealed class ConversationCursorTests
{
    private static readonly Guid Id = Guid.Parse("6a1f5c3e-2b4d-4e8f-9a0b-1c2d3e4f5a6b");

    [Fact]
    public void Round_trips()
    {
        var cursor = new ConversationCursor(DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_000_123), Id);

        var decoded = ConversationCursor.TryDecode(cursor.Encode());

        Assert.Equal(cursor, decoded);
    }

    [Fact]
    public void Round_trips_an_instant_with_an_offset()
    {
        var at = new DateTimeOffset(2025, 1, 2, 3, 4, 5, 678, TimeSpan.FromHours(-7));
        var cursor = new ConversationCursor(at, Id);

        var decoded = ConversationCursor.TryDecode(cursor.Encode());

        Assert.NotNull(decoded);
        Assert.Equal(at.UtcDateTime, decoded.LastActivityAt.UtcDateTime);
        Assert.Equal(Id, decoded.Id);
    }

    [Fact]
    public void Encodes_as_unix_milliseconds_and_compact_id()
    {
        var cursor = new ConversationCursor(DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_000_123), Id);

        Assert.Equal("1700000000123_6a1f5c3e2b4d4e8f9a0b1c2d3e4f5a6b", cursor.Encode());
    }

    [Fact]
    public void Sub_millisecond_precision_is_dropped()
    {
        var at = DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_000_123);
        var cursor = new ConversationCursor(at.AddTicks(5_000), Id);

        Assert.Equal(new ConversationCursor(at, Id), ConversationCursor.TryDecode(cursor.Encode()));
    }

    [Fact]
    public void A_pinned_position_round_trips_and_an_old_cursor_is_in_the_unpinned_part()
    {
        var pinned = new ConversationCursor(DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_000_123), Id) { Pinned = true };

        Assert.Equal("1700000000123_6a1f5c3e2b4d4e8f9a0b1c2d3e4f5a6b_p", pinned.Encode());
        Assert.Equal(pinned, ConversationCursor.TryDecode(pinned.Encode()));
        Assert.False(ConversationCursor.TryDecode("1700000000123_6a1f5c3e2b4d4e8f9a0b1c2d3e4f5a6b")!.Pinned);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("garbage")]
    [InlineData("1700000000123")]
    [InlineData("1700000000123_")]
    [InlineData("_6a1f5c3e2b4d4e8f9a0b1c2d3e4f5a6b")]
    [InlineData("abc_6a1f5c3e2b4d4e8f9a0b1c2d3e4f5a6b")]
    [InlineData("-5_6a1f5c3e2b4d4e8f9a0b1c2d3e4f5a6b")]
    [InlineData(" 5_6a1f5c3e2b4d4e8f9a0b1c2d3e4f5a6b")]
    [InlineData("1.5_6a1f5c3e2b4d4e8f9a0b1c2d3e4f5a6b")]
    [InlineData("1700000000123_not-a-guid")]
    [InlineData("1700000000123_6a1f5c3e-2b4d-4e8f-9a0b-1c2d3e4f5a6b")]
    [InlineData("1700000000123_6a1f5c3e2b4d4e8f9a0b1c2d3e4f5a6b_extra")]
    [InlineData("1700000000123_6a1f5c3e2b4d4e8f9a0b1c2d3e4f5a6b_P")]
    [InlineData("1700000000123_6a1f5c3e2b4d4e8f9a0b1c2d3e4f5a6b_p_p")]
    [InlineData("99999999999999999999999_6a1f5c3e2b4d4e8f9a0b1c2d3e4f5a6b")]
    public void Rejects_garbage(string? text)
    {
        Assert.Null(ConversationCursor.TryDecode(text));
    }

    /// <summary>Regression: a timestamp past year 9999 threw in DateTimeOffset and surfaced as a 500 on GET /conversations.</summary>
    [Theory]
    [InlineData("253402300800000_6a1f5c3e2b4d4e8f9a0b1c2d3e4f5a6b")]
    [InlineData("9223372036854775807_6a1f5c3e2b4d4e8f9a0b1c2d3e4f5a6b")]
    public void Cursor_with_a_timestamp_beyond_the_calendar_is_rejected_not_thrown(string text)
    {
        Assert.Null(ConversationCursor.TryDecode(text));
        Assert.NotNull(ConversationCursor.TryDecode("253402300799999_6a1f5c3e2b4d4e8f9a0b1c2d3e4f5a6b"));
    }
}
