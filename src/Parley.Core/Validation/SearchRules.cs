using System.Globalization;
using System.Text;

namespace Parley.Core.Validation;

/// <summary>
/// A user search (M2): a prefix of a username or display name, compared case- and accent-insensitively ("jose" finds
/// "José"), or an exact email address. Pure: the engines store <see cref="Fold"/> of each display name and compare
/// prefixes of it, so every engine folds the same way.
/// </summary>
public static class SearchRules
{
    public const int MinQueryLength = 2;
    public const int MaxQueryLength = ProfileRules.MaxEmail;

    /// <summary>
    /// The highest code point: <c>prefix + PrefixEnd</c> sorts after every string that starts with the prefix in a
    /// byte-wise (UTF-8) comparison, so a prefix match is an index range on both engines.
    /// </summary>
    public const string PrefixEnd = "\U0010FFFF";

    /// <summary>
    /// Decomposed (NFD), non-spacing marks dropped, lower-cased invariantly: "José", "JOSE" and "José" all fold to
    /// "jose". The decomposition is <see cref="FoldTable"/>'s, not string.Normalize's (a no-op under invariant globalization).
    /// </summary>
    public static string Fold(string text)
    {
        var kept = new StringBuilder(text.Length);
        foreach (var c in text)
        {
            if (FoldTable.TryFold(c, out var folded))
            {
                kept.Append(folded);
            }
            else if (CharUnicodeInfo.GetUnicodeCategory(c) != UnicodeCategory.NonSpacingMark)
            {
                kept.Append(c);
            }
        }

        return kept.ToString().ToLowerInvariant();
    }

    /// <summary>The search a query asks for, or QUERY_TOO_SHORT when it folds to fewer than <see cref="MinQueryLength"/> characters.</summary>
    public static UserQuery Parse(string? query)
    {
        var trimmed = query?.Trim() ?? string.Empty;
        if (trimmed.Length > MaxQueryLength)
        {
            throw Errors.Errors.TooLong("query", MaxQueryLength, trimmed.Length).ToException();
        }

        var prefix = Fold(trimmed);
        if (prefix.Length < MinQueryLength)
        {
            throw Errors.Errors.QueryTooShort(MinQueryLength).ToException();
        }

        // Only something shaped like an address is looked up as one; a name prefix never matches an email.
        var emailKey = trimmed.Contains('@', StringComparison.Ordinal) ? ProfileRules.EmailKey(trimmed) : null;
        return new UserQuery(prefix, emailKey);
    }
}

/// <summary>A parsed search: users whose username or folded display name starts with <see cref="Prefix"/>, or whose email key is <see cref="EmailKey"/>.</summary>
public sealed record UserQuery(string Prefix, string? EmailKey)
{
    /// <summary>The exclusive upper end of the prefix range.</summary>
    public string PrefixUpper => Prefix + SearchRules.PrefixEnd;
}
