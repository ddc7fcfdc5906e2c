using System.Text.Json;

namespace Parley.Core.Persistence;

/// <summary>
/// How both engines keep a message's mentions on its row: a JSON array of lower-case UUID strings (null when none), so
/// "does it mention this user" is one JSON membership test in either engine's SQL.
/// </summary>
public static class MentionsJson
{
    public static string? Format(IReadOnlyList<Guid> mentions) =>
        mentions.Count == 0 ? null : JsonSerializer.Serialize(mentions.Select(m => m.ToString("D")).ToArray(), MentionsJsonContext.Default.StringArray);

    public static IReadOnlyList<Guid> Parse(string? json) =>
        string.IsNullOrEmpty(json) ? [] : [.. JsonSerializer.Deserialize(json, MentionsJsonContext.Default.StringArray)!.Select(Guid.Parse)];
}

[System.Text.Json.Serialization.JsonSerializable(typeof(string[]))]
internal sealed partial class MentionsJsonContext : System.Text.Json.Serialization.JsonSerializerContext;
