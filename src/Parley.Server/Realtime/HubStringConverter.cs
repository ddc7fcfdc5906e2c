using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Parley.Server.Realtime;

/// <summary>
/// Reads hub strings (JSON protocol) without failing on text that is not valid Unicode. The framework's reader throws
/// on an escaped unpaired surrogate or invalid UTF-8, which SignalR reports as a binding error with no code; this keeps
/// an escaped surrogate as it is and turns each invalid UTF-8 byte into an unpaired low surrogate (U+DC80–U+DCFF), so
/// the ingress's text rules refuse the call with INVALID_TEXT like REST does (docs/api.md#text).
/// </summary>
public sealed class HubStringConverter : JsonConverter<string>
{
    public override string? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType != JsonTokenType.String)
        {
            throw new JsonException($"Expected a string, got {reader.TokenType}");
        }

        ReadOnlySpan<byte> raw = reader.HasValueSequence ? reader.ValueSequence.ToArray() : reader.ValueSpan;
        if (!reader.ValueIsEscaped && System.Text.Unicode.Utf8.IsValid(raw))
        {
            return Encoding.UTF8.GetString(raw);
        }

        var text = new StringBuilder(raw.Length);
        var i = 0;
        while (i < raw.Length)
        {
            if (raw[i] == (byte)'\\')
            {
                // The reader has already checked the escape syntax.
                var escape = (char)raw[i + 1];
                if (escape == 'u')
                {
                    text.Append((char)int.Parse(Encoding.ASCII.GetString(raw.Slice(i + 2, 4)), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture));
                    i += 6;
                    continue;
                }

                text.Append(escape switch
                {
                    'n' => '\n',
                    'r' => '\r',
                    't' => '\t',
                    'b' => '\b',
                    'f' => '\f',
                    _ => escape, // \" \\ \/
                });
                i += 2;
                continue;
            }

            if (Rune.DecodeFromUtf8(raw[i..], out var rune, out var consumed) == OperationStatus.Done)
            {
                text.Append(rune.ToString());
                i += consumed;
            }
            else
            {
                text.Append((char)(0xDC00 | raw[i]));
                i++;
            }
        }

        return text.ToString();
    }

    public override void Write(Utf8JsonWriter writer, string value, JsonSerializerOptions options) => writer.WriteStringValue(value);
}
