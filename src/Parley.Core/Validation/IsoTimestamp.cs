using System.Globalization;

namespace Parley.Core.Validation;

/// <summary>
/// The one reader for client-supplied times (REST sync's <c>since</c>, the hub's <c>ResumeSince</c>): ISO 8601 /
/// RFC 3339 with a date, a time and an explicit offset (<c>Z</c> or <c>±hh:mm</c>). A time without an offset would be
/// read in the server's zone, which clients cannot know, so it is refused rather than guessed.
/// </summary>
public static class IsoTimestamp
{
    public const string Expected = "must be an ISO 8601 timestamp with an offset, such as 2026-11-23T08:00:00Z";

    private static readonly string[] Formats =
    [
        "yyyy-MM-dd'T'HH:mm:ssK",
        "yyyy-MM-dd'T'HH:mm:ss.FFFFFFFK",
        "yyyy-MM-dd'T'HH:mmK",
    ];

    /// <summary>The instant, or null when <paramref name="text"/> is not such a timestamp.</summary>
    public static DateTimeOffset? TryParse(string? text)
    {
        // "K" also accepts nothing at all (an unspecified offset): insist on Z or a sign followed by hh:mm.
        if (string.IsNullOrEmpty(text) || !HasOffset(text))
        {
            return null;
        }

        return DateTimeOffset.TryParseExact(text, Formats, CultureInfo.InvariantCulture, DateTimeStyles.None, out var at) ? at : null;
    }

    /// <summary>Reads <paramref name="field"/>: missing or blank is MISSING_REQUIRED_FIELD, anything else unreadable INVALID_FIELD_VALUE.</summary>
    public static DateTimeOffset Parse(string field, string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            throw Errors.Errors.MissingField(field).ToException();
        }

        return TryParse(text) ?? throw Errors.Errors.InvalidValue(field, Expected).ToException();
    }

    private static bool HasOffset(string text)
    {
        if (text[^1] == 'Z')
        {
            return text.Length > 1 && char.IsAsciiDigit(text[^2]);
        }

        // ±hh:mm at the end, after a time (so a date's own '-' is not taken for one).
        return text.Length >= 6
            && text[^6] is '+' or '-'
            && char.IsAsciiDigit(text[^5]) && char.IsAsciiDigit(text[^4]) && text[^3] == ':' && char.IsAsciiDigit(text[^2]) && char.IsAsciiDigit(text[^1])
            && text.IndexOf('T', StringComparison.Ordinal) is > 0 and var t && t < text.Length - 6;
    }
}
