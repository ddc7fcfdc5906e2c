using System.Text.Json;
using System.Text.Json.Serialization;
using Parley.Core.Messaging;

namespace Parley.Core.Persistence;

/// <summary>
/// How both engines keep a poll on its message row: the definition and the per-option counts as one JSON document
/// (null for a message that is not a poll), written by the persist planner with each vote, so a history page shows
/// results without a second query. The vote rows themselves say who chose what.
/// </summary>
public static class PollJson
{
    public static string? Format(PollState? poll) => poll is null ? null : JsonSerializer.Serialize(
        new StoredPoll(poll.Definition.Options, poll.Definition.MultipleAnswers, poll.Definition.Anonymous, poll.Definition.ClosesAt?.ToUnixTimeMilliseconds(), poll.Counts, poll.Voters),
        PollJsonContext.Default.StoredPoll);

    public static PollState? Parse(string? json)
    {
        if (string.IsNullOrEmpty(json))
        {
            return null;
        }

        var p = JsonSerializer.Deserialize(json, PollJsonContext.Default.StoredPoll)!;
        return new PollState(new PollDefinition(p.Options, p.Multiple, p.Anonymous, p.ClosesAt is { } ms ? DateTimeOffset.FromUnixTimeMilliseconds(ms) : null), p.Counts, p.Voters);
    }

    /// <summary>Option ids as a JSON array (a change row's vote), or null for none.</summary>
    public static string? FormatOptions(IReadOnlyList<int> optionIds) =>
        optionIds.Count == 0 ? null : JsonSerializer.Serialize(optionIds.ToArray(), PollJsonContext.Default.Int32Array);

    public static IReadOnlyList<int> ParseOptions(string? json) =>
        string.IsNullOrEmpty(json) ? [] : JsonSerializer.Deserialize(json, PollJsonContext.Default.Int32Array) ?? [];
}

internal sealed record StoredPoll(IReadOnlyList<string> Options, bool Multiple, bool Anonymous, long? ClosesAt, IReadOnlyList<int> Counts, int Voters);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(StoredPoll))]
[JsonSerializable(typeof(int[]))]
internal sealed partial class PollJsonContext : JsonSerializerContext;
