using System.Text.Json;
using System.Text.Json.Serialization;
using MessagePack;
using MessagePack.Formatters;

namespace Parley.Server.Contracts;

/// <summary>
/// A JSON value kept as the exact text the client sent (message metadata). REST and the JSON hub protocol write that
/// text inline, so a 30-digit integer or <c>1e400</c> reaches the reader as written; MessagePack has no type that holds
/// every JSON number exactly, so MessagePack clients receive the text as a string (docs/realtime.md).
/// Writing never parses the text, so no stored value can make a read fail.
/// </summary>
[JsonConverter(typeof(JsonTextConverter))]
[MessagePackFormatter(typeof(JsonTextMessagePackFormatter))]
public sealed record JsonText(string Text)
{
    public static JsonText? From(string? text) => text is null ? null : new JsonText(text);

    public override string ToString() => Text;
}

/// <summary>Inline raw JSON on the way out; accepts the inline value or a string holding it on the way in.</summary>
public sealed class JsonTextConverter : JsonConverter<JsonText>
{
    public override JsonText? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType == JsonTokenType.String)
        {
            return new JsonText(reader.GetString()!);
        }

        using var doc = JsonDocument.ParseValue(ref reader);
        return new JsonText(doc.RootElement.GetRawText());
    }

    public override void Write(Utf8JsonWriter writer, JsonText value, JsonSerializerOptions options) =>
        writer.WriteRawValue(value.Text, skipInputValidation: true);
}

/// <summary>
/// For traffic between nodes: the text travels as a JSON string, because the bus re-writes its payload through a
/// JsonElement, which would re-escape strings inside an inline value.
/// </summary>
public sealed class JsonTextAsStringConverter : JsonConverter<JsonText>
{
    private static readonly JsonTextConverter Inline = new();

    public override JsonText? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        Inline.Read(ref reader, typeToConvert, options);

    public override void Write(Utf8JsonWriter writer, JsonText value, JsonSerializerOptions options) =>
        writer.WriteStringValue(value.Text);
}

public sealed class JsonTextMessagePackFormatter : IMessagePackFormatter<JsonText?>
{
    public void Serialize(ref MessagePackWriter writer, JsonText? value, MessagePackSerializerOptions options)
    {
        if (value is null)
        {
            writer.WriteNil();
        }
        else
        {
            writer.Write(value.Text);
        }
    }

    public JsonText? Deserialize(ref MessagePackReader reader, MessagePackSerializerOptions options) =>
        reader.TryReadNil() ? null : new JsonText(reader.ReadString()!);
}
