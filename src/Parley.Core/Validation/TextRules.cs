using System.Text.Json;

namespace Parley.Core.Validation;

/// <summary>
/// What every store engine can hold. PostgreSQL <c>text</c> cannot hold U+0000, and no UTF-8 column can hold an
/// unpaired surrogate, so a string with either is refused at the ingress instead of being acknowledged and then lost
/// (docs/api.md#text). Everything else, noncharacters and other control characters included, is stored as sent.
/// </summary>
public static class TextRules
{
    /// <summary>Why <paramref name="text"/> cannot be stored, or null when it can.</summary>
    public static string? Problem(string text)
    {
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c == '\0')
            {
                return "must not contain U+0000 (NUL)";
            }

            if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                i++;
            }
            else if (char.IsSurrogate(c))
            {
                return $"is not valid Unicode: unpaired surrogate U+{(int)c:X4} at index {i}";
            }
        }

        return null;
    }

    public static string Require(string field, string text) =>
        Problem(text) is { } reason ? throw Errors.Errors.InvalidText(field, reason).ToException() : text;

    /// <summary>
    /// A JSON string's value; an escaped unpaired surrogate (<c>"\ud800"</c>) or invalid UTF-8 is refused with
    /// INVALID_TEXT rather than surfacing as the reader's InvalidOperationException.
    /// </summary>
    public static string ReadString(string field, JsonElement value)
    {
        try
        {
            return value.GetString()!;
        }
        catch (InvalidOperationException)
        {
            throw Errors.Errors.InvalidText(field, "is not valid Unicode: it holds an unpaired surrogate escape or invalid UTF-8").ToException();
        }
    }

    /// <summary>
    /// Metadata is kept as the JSON text the client sent, so only what a reader could not take back is refused:
    /// strings and keys that are not valid Unicode, and a key repeated in one object (parsers disagree on which wins,
    /// and MessagePack maps cannot carry it). Numbers of any size or precision are kept as written.
    /// </summary>
    public static void RequireStorableJson(string field, JsonElement element)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                var keys = new HashSet<string>(StringComparer.Ordinal);
                foreach (var property in element.EnumerateObject())
                {
                    string name;
                    try
                    {
                        name = property.Name;
                    }
                    catch (InvalidOperationException)
                    {
                        throw Errors.Errors.InvalidText(field, "is not valid Unicode: a key holds an unpaired surrogate escape or invalid UTF-8").ToException();
                    }

                    if (!keys.Add(name))
                    {
                        throw Errors.Errors.InvalidValue(field, $"holds the key \"{name}\" twice in one object").ToException();
                    }

                    RequireStorableJson(field, property.Value);
                }

                break;
            case JsonValueKind.Array:
                foreach (var item in element.EnumerateArray())
                {
                    RequireStorableJson(field, item);
                }

                break;
            case JsonValueKind.String:
                ReadString(field, element);
                break;
        }
    }
}
