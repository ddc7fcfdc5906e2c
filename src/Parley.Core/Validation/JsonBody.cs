using System.Text;
using System.Text.Json;
using Parley.Core.Errors;

namespace Parley.Core.Validation;

/// <summary>
/// Reads a request object field by field so every mistake maps to one precise, documented error
/// (missing, wrong type, too long, invalid value) instead of a generic binder failure.
/// </summary>
public readonly struct JsonBody
{
    private readonly JsonElement _root;

    private JsonBody(JsonElement root) => _root = root;

    public static JsonBody Parse(ReadOnlyMemory<byte> utf8)
    {
        if (utf8.IsEmpty)
        {
            throw Errors.Errors.InvalidJson("the body is empty").ToException();
        }

        // The reader only notices bad UTF-8 when a string is decoded, deep inside some endpoint; JSON text must be
        // UTF-8 (RFC 8259), so the body is refused as a whole before anything reads it.
        if (!System.Text.Unicode.Utf8.IsValid(utf8.Span))
        {
            throw Errors.Errors.InvalidJson("the body is not valid UTF-8").ToException();
        }

        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(utf8, new JsonDocumentOptions { MaxDepth = 32 });
        }
        catch (JsonException ex)
        {
            throw Errors.Errors.InvalidJson(ex.Message).ToException();
        }

        // The document is small and short-lived; cloning detaches it from the pooled buffer.
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw Errors.Errors.InvalidSchema("The request body must be a JSON object").ToException();
            }

            return new JsonBody(doc.RootElement.Clone());
        }
    }

    private bool TryGet(string field, out JsonElement value)
    {
        if (_root.TryGetProperty(field, out value) && value.ValueKind != JsonValueKind.Null)
        {
            return true;
        }

        value = default;
        return false;
    }

    /// <summary>The field is in the body, null included: for a patch, where absent means "unchanged" and null "clear".</summary>
    public bool Has(string field) => _root.TryGetProperty(field, out _);

    public string RequireString(string field, int maxLength, int minLength = 1) =>
        OptionalString(field, maxLength, minLength) ?? throw Errors.Errors.MissingField(field).ToException();

    public string? OptionalString(string field, int maxLength, int minLength = 1)
    {
        if (!TryGet(field, out var value))
        {
            return null;
        }

        if (value.ValueKind != JsonValueKind.String)
        {
            throw Errors.Errors.WrongType(field, "a string").ToException();
        }

        var text = TextRules.Require(field, TextRules.ReadString(field, value));
        if (text.Length > maxLength)
        {
            throw Errors.Errors.TooLong(field, maxLength, text.Length).ToException();
        }

        if (text.Length < minLength || string.IsNullOrWhiteSpace(text) && minLength > 0)
        {
            throw Errors.Errors.InvalidValue(field, minLength <= 1 ? "must not be empty" : $"must be at least {minLength} characters").ToException();
        }

        return text;
    }

    /// <summary>A string limited by its UTF-8 size, which is what storage and the wire pay for.</summary>
    public string RequireUtf8String(string field, int maxBytes)
    {
        if (!TryGet(field, out var value))
        {
            throw Errors.Errors.MissingField(field).ToException();
        }

        if (value.ValueKind != JsonValueKind.String)
        {
            throw Errors.Errors.WrongType(field, "a string").ToException();
        }

        var text = TextRules.Require(field, TextRules.ReadString(field, value));
        var bytes = Encoding.UTF8.GetByteCount(text);
        if (bytes > maxBytes)
        {
            throw Errors.Errors.TooLong(field, maxBytes, bytes, "bytes").ToException();
        }

        if (string.IsNullOrWhiteSpace(text))
        {
            throw Errors.Errors.InvalidValue(field, "must not be empty").ToException();
        }

        return text;
    }

    public bool? OptionalBool(string field)
    {
        if (!TryGet(field, out var value))
        {
            return null;
        }

        return value.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw Errors.Errors.WrongType(field, "a boolean").ToException(),
        };
    }

    public Guid RequireGuid(string field) =>
        OptionalGuid(field) ?? throw Errors.Errors.MissingField(field).ToException();

    public Guid? OptionalGuid(string field)
    {
        if (!TryGet(field, out var value))
        {
            return null;
        }

        if (value.ValueKind != JsonValueKind.String)
        {
            throw Errors.Errors.WrongType(field, "a string (UUID)").ToException();
        }

        return Guid.TryParse(TextRules.ReadString(field, value), out var id)
            ? id
            : throw Errors.Errors.InvalidValue(field, "must be a UUID").ToException();
    }

    public long RequireInt64(string field, long min, long max) =>
        OptionalInt64(field, min, max) ?? throw Errors.Errors.MissingField(field).ToException();

    public long? OptionalInt64(string field, long min, long max)
    {
        if (!TryGet(field, out var value))
        {
            return null;
        }

        if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt64(out var number))
        {
            throw Errors.Errors.WrongType(field, "an integer").ToException();
        }

        return number < min || number > max
            ? throw Errors.Errors.InvalidValue(field, $"must be between {min} and {max}").ToException()
            : number;
    }

    /// <summary>As <see cref="RequireGuidArray"/>, or null when the field is absent or null.</summary>
    public IReadOnlyList<Guid>? OptionalGuidArray(string field, int maxItems) => TryGet(field, out _) ? RequireGuidArray(field, maxItems) : null;

    public IReadOnlyList<Guid> RequireGuidArray(string field, int maxItems)
    {
        if (!TryGet(field, out var value))
        {
            throw Errors.Errors.MissingField(field).ToException();
        }

        if (value.ValueKind != JsonValueKind.Array)
        {
            throw Errors.Errors.WrongType(field, "an array of UUID strings").ToException();
        }

        var count = value.GetArrayLength();
        if (count > maxItems)
        {
            throw Errors.Errors.TooLong(field, maxItems, count, "items").ToException();
        }

        var result = new List<Guid>(count);
        foreach (var item in value.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.String)
            {
                throw Errors.Errors.WrongType(field, "an array of UUID strings").ToException();
            }

            var text = TextRules.ReadString(field, item);
            if (!Guid.TryParse(text, out var id))
            {
                throw Errors.Errors.InvalidRecipient($"'{text}' in {field} is not a user id").With("field", field).ToException();
            }

            result.Add(id);
        }

        return result;
    }

    /// <summary>An array of strings, each checked as <see cref="OptionalString"/> checks one (field named <c>field[i]</c>).</summary>
    public IReadOnlyList<string> RequireStringArray(string field, int maxItems, int maxLength)
    {
        var items = RequireArray(field, maxItems, "an array of strings");
        var result = new List<string>(items.Count);
        for (var i = 0; i < items.Count; i++)
        {
            var name = $"{field}[{i}]";
            if (items[i].ValueKind != JsonValueKind.String)
            {
                throw Errors.Errors.WrongType(field, "an array of strings").ToException();
            }

            var text = TextRules.Require(name, TextRules.ReadString(name, items[i]));
            if (string.IsNullOrWhiteSpace(text))
            {
                throw Errors.Errors.InvalidValue(name, "must not be empty").ToException();
            }

            result.Add(text.Length > maxLength ? throw Errors.Errors.TooLong(name, maxLength, text.Length).ToException() : text);
        }

        return result;
    }

    /// <summary>An array of integers (32-bit), at most <paramref name="maxItems"/>.</summary>
    public IReadOnlyList<int> RequireInt32Array(string field, int maxItems) =>
        [.. RequireArray(field, maxItems, "an array of integers").Select(item =>
            item.ValueKind == JsonValueKind.Number && item.TryGetInt32(out var n) ? n : throw Errors.Errors.WrongType(field, "an array of integers").ToException())];

    private List<JsonElement> RequireArray(string field, int maxItems, string expected)
    {
        if (!TryGet(field, out var value))
        {
            throw Errors.Errors.MissingField(field).ToException();
        }

        if (value.ValueKind != JsonValueKind.Array)
        {
            throw Errors.Errors.WrongType(field, expected).ToException();
        }

        var count = value.GetArrayLength();
        return count > maxItems ? throw Errors.Errors.TooLong(field, maxItems, count, "items").ToException() : [.. value.EnumerateArray()];
    }

    /// <summary>An optional ISO 8601 timestamp with an offset (e.g. <c>2026-11-23T08:00:00Z</c>).</summary>
    public DateTimeOffset? OptionalTimestamp(string field)
    {
        if (!TryGet(field, out var value))
        {
            return null;
        }

        if (value.ValueKind != JsonValueKind.String)
        {
            throw Errors.Errors.WrongType(field, "a string (ISO 8601 timestamp)").ToException();
        }

        TextRules.ReadString(field, value);
        return IsoTimestamp.TryParse(value.GetString()) ?? throw Errors.Errors.InvalidValue(field, IsoTimestamp.Expected).ToException();
    }

    /// <summary>An optional nested JSON object, readable with the same checks as a body (its errors name its own fields).</summary>
    public JsonBody? OptionalObject(string field) =>
        !TryGet(field, out var value) ? null
        : value.ValueKind == JsonValueKind.Object ? new JsonBody(value)
        : throw Errors.Errors.WrongType(field, "a JSON object").ToException();

    /// <summary>An optional object whose values are all strings, as its (key, value) pairs in order.</summary>
    public IReadOnlyList<(string Key, string Value)>? OptionalStringMap(string field, int maxItems, int maxValueLength)
    {
        if (OptionalObject(field) is not { } map)
        {
            return null;
        }

        var pairs = new List<(string, string)>();
        foreach (var property in map._root.EnumerateObject())
        {
            if (pairs.Count == maxItems)
            {
                throw Errors.Errors.TooLong(field, maxItems, map._root.EnumerateObject().Count(), "items").ToException();
            }

            var value = property.Value.ValueKind == JsonValueKind.String
                ? TextRules.ReadString(field, property.Value)
                : throw Errors.Errors.WrongType(field, "an object of strings").ToException();
            string key;
            try
            {
                key = TextRules.Require(field, property.Name);
            }
            catch (InvalidOperationException)
            {
                throw Errors.Errors.InvalidText(field, "is not valid Unicode: a key holds an unpaired surrogate escape or invalid UTF-8").ToException();
            }

            pairs.Add((key, value.Length > maxValueLength ? throw Errors.Errors.TooLong(field, maxValueLength, value.Length).ToException() : value));
        }

        return pairs;
    }

    /// <summary>An optional array of JSON objects, each readable with the same checks as a body.</summary>
    public IReadOnlyList<JsonBody>? OptionalObjectArray(string field, int maxItems)
    {
        if (!TryGet(field, out var value))
        {
            return null;
        }

        if (value.ValueKind != JsonValueKind.Array)
        {
            throw Errors.Errors.WrongType(field, "an array of objects").ToException();
        }

        var count = value.GetArrayLength();
        if (count > maxItems)
        {
            throw Errors.Errors.TooLong(field, maxItems, count, "items").ToException();
        }

        var items = new List<JsonBody>(count);
        foreach (var item in value.EnumerateArray())
        {
            items.Add(item.ValueKind == JsonValueKind.Object ? new JsonBody(item) : throw Errors.Errors.WrongType(field, "an array of objects").ToException());
        }

        return items;
    }

    /// <summary>An optional JSON object, returned as its raw JSON text and limited in size.</summary>
    public string? OptionalObjectJson(string field, int maxBytes)
    {
        if (!TryGet(field, out var value))
        {
            return null;
        }

        if (value.ValueKind != JsonValueKind.Object)
        {
            throw Errors.Errors.WrongType(field, "a JSON object").ToException();
        }

        var json = value.GetRawText();
        var bytes = Encoding.UTF8.GetByteCount(json);
        return bytes > maxBytes ? throw Errors.Errors.TooLong(field, maxBytes, bytes, "bytes").ToException() : json;
    }
}
