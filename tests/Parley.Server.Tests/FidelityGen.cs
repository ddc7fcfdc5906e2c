using System.Text;
using CsCheck;

namespace Parley.Server.Tests;

/// <summary>A generated JSON string: the value a reader must get back and the literal (with its escapes) that is sent.</summary>
internal sealed record GenString(string Value, string Json)
{
    public override string ToString() => Json;
}

/// <summary>A generated JSON value as raw text, with what the test expects the ingress to make of it.</summary>
internal sealed record GenJson(string Json, bool InvalidText, bool DuplicateKey, int Depth)
{
    public override string ToString() => Json;
}

internal sealed record GenCase(GenString Content, GenString? ClientMessageId, GenJson? Metadata);

/// <summary>
/// Generators for the Unicode and JSON edges of issue 11, and the test's own statement of the documented rules
/// (docs/api.md#text) to judge each outcome by.
/// </summary>
internal static class FidelityGen
{
    private static readonly (string Value, string Json)[] Good =
    [
        ("a", "a"), ("Z", "Z"), ("0", "0"), (" ", " "), ("\t", "\\t"), ("\n", "\\n"), ("\r", "\\r"), ("\"", "\\\""),
        ("\\", "\\\\"), ("/", "\\/"), ("\u0001", "\\u0001"), ("\u001f", "\\u001F"), ("\u007f", "\u007f"), ("\u0085", "\u0085"),
        ("é", "é"), ("é", "\\u00e9"), ("中", "中"), ("€", "€"), ("😀", "😀"), ("😀", "\\ud83d\\ude00"), ("\U0010FFFF", "\\udbff\\udfff"),
        ("\uFFFE", "\uFFFE"), ("\uFFFF", "\\uffff"), ("\uFDD0", "\uFDD0"), ("\uFDEF", "\\uFDEF"), ("\u2028", "\u2028"),
        ("\uFEFF", "\uFEFF"), ("A", "\\u0041"), ("\u00a0", "\u00a0"), ("\u0301", "\u0301"),
    ];

    private static readonly (string Value, string Json)[] Bad =
    [
        ("\0", "\\u0000"), ("\ud800", "\\ud800"), ("\udc00", "\\udc00"), ("\udbff", "\\uDBFF"), ("\udfff", "\\udfff"),
    ];

    private static readonly Gen<(string Value, string Json)> Piece = Gen.Frequency((30, Gen.OneOf(Good)), (1, Gen.OneOf(Bad)));

    public static readonly Gen<GenString> Text = Piece.Array[0, 10].Select(pieces =>
        new GenString(string.Concat(pieces.Select(p => p.Value)), "\"" + string.Concat(pieces.Select(p => p.Json)) + "\""));

    private static readonly Gen<string> Space = Gen.OneOf("", "", "", " ", "\n", "\t ", "\r\n");

    private static readonly Gen<string> NumberLiteral = Gen.OneOf(
        "0", "-0", "1", "-1", "1.0", "2e0", "1e400", "-1e400", "1E-400", "1.5e+308", "-0.0", "123456789012345678901234567890",
        "0.1000000000000000055511151231257827", "9007199254740993", "18446744073709551616", "-9223372036854775809", "3.14159");

    private static readonly Gen<GenJson> Leaf = Gen.Frequency(
        (3, NumberLiteral.Select(n => new GenJson(n, false, false, 0))),
        (3, Text.Select(s => new GenJson(s.Json, !IsValidUtf16(s.Value), false, 0))),
        (1, Gen.OneOf("true", "false", "null").Select(v => new GenJson(v, false, false, 0))));

    private static Gen<GenJson> Value(int depth) => depth == 0
        ? Leaf
        : Gen.Frequency((4, Leaf), (1, Array(depth)), (1, Object(depth)));

    private static Gen<GenJson> Array(int depth) => Gen.Select(Value(depth - 1).Array[0, 3], Space, (items, s) => new GenJson(
        "[" + s + string.Join("," + s, items.Select(i => i.Json)) + "]",
        items.Any(i => i.InvalidText), items.Any(i => i.DuplicateKey), 1 + items.Select(i => i.Depth).DefaultIfEmpty(0).Max()));

    private static Gen<GenJson> Object(int depth) => Gen.Select(Gen.Select(Text, Space, Value(depth - 1)).Array[0, 4], Space, Gen.Int[0, 9], (members, s, repeat) =>
    {
        // Now and then the first key comes again, which must be refused.
        var all = repeat == 0 && members.Length > 0 ? [.. members, members[0]] : members;
        var keys = all.Select(m => m.Item1.Value).ToList();
        return new GenJson(
            "{" + s + string.Join("," + s, all.Select(m => m.Item1.Json + m.Item2 + ":" + m.Item2 + m.Item3.Json)) + s + "}",
            all.Any(m => !IsValidUtf16(m.Item1.Value) || m.Item3.InvalidText),
            keys.Count != keys.Distinct(StringComparer.Ordinal).Count() || all.Any(m => m.Item3.DuplicateKey),
            1 + all.Select(m => m.Item3.Depth).DefaultIfEmpty(0).Max());
    });

    /// <summary>Nesting near the body's 32-level limit, and once past it.</summary>
    private static readonly Gen<GenJson> Deep = Gen.OneOf(5, 28, 29, 40).Select(k =>
        new GenJson("{\"d\":" + new string('[', k) + "1" + new string(']', k) + "}", false, false, k + 1));

    public static readonly Gen<GenJson> Metadata = Gen.Frequency((8, Object(3)), (1, Deep), (1, Gen.Const(new GenJson("{}", false, false, 1))));

    public static readonly Gen<GenCase> Cases = Gen.Select(
        Text,
        Gen.Frequency((2, Text.Select(t => (GenString?)t)), (1, Gen.Const((GenString?)null))),
        Gen.Frequency((2, Metadata.Select(m => (GenJson?)m)), (1, Gen.Const((GenJson?)null))),
        (content, id, metadata) => new GenCase(content, id, metadata));

    public static bool IsValidUtf16(string s)
    {
        try
        {
            _ = new UTF8Encoding(false, throwOnInvalidBytes: true).GetByteCount(s);
            return true;
        }
        catch (EncoderFallbackException)
        {
            return false;
        }
    }

    private static bool Storable(string s) => IsValidUtf16(s) && !s.Contains('\0', StringComparison.Ordinal);

    /// <summary>The codes the documented rules allow for this send; empty when it must be accepted.</summary>
    public static HashSet<string> ExpectedCodes(GenString content, GenString? clientMessageId, GenJson? metadata, bool viaHub)
    {
        var codes = new HashSet<string>(StringComparer.Ordinal);
        if (string.IsNullOrWhiteSpace(content.Value))
        {
            codes.Add("INVALID_FIELD_VALUE");
        }

        if (!Storable(content.Value))
        {
            codes.Add("INVALID_TEXT");
        }

        if (clientMessageId is not null)
        {
            if (string.IsNullOrWhiteSpace(clientMessageId.Value))
            {
                codes.Add("INVALID_FIELD_VALUE");
            }

            if (!Storable(clientMessageId.Value))
            {
                codes.Add("INVALID_TEXT");
            }
        }

        if (metadata is not null)
        {
            if (metadata.InvalidText)
            {
                codes.Add("INVALID_TEXT");
            }

            if (metadata.DuplicateKey)
            {
                codes.Add("INVALID_FIELD_VALUE");
            }

            // REST counts the body's own object as a level; the hub parses the metadata string alone.
            if (metadata.Depth + (viaHub ? 0 : 1) > 32)
            {
                codes.Add(viaHub ? "INVALID_FIELD_TYPE" : "INVALID_JSON");
            }

            if (Encoding.UTF8.GetByteCount(metadata.Json) > 4096)
            {
                codes.Add("FIELD_TOO_LONG");
            }
        }

        return codes;
    }
}
