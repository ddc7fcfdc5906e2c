using System.Buffers;
using System.Text;
using System.Text.Json;
using Parley.Core.Ports;

namespace Parley.Core.Persistence;

/// <summary>
/// How both engines keep a message's reaction counts on its row: a JSON object of key to count, keys in ordinal order
/// (null when there are none). A read model of the reactions table, written by the persist planner with each reaction,
/// so a history page shows counts without a second query.
/// </summary>
public static class ReactionCountsJson
{
    public static string? Format(IReadOnlyList<ReactionCount> counts)
    {
        if (counts.Count == 0)
        {
            return null;
        }

        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            foreach (var count in counts)
            {
                writer.WriteNumber(count.Key, count.Count);
            }

            writer.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    public static IReadOnlyList<ReactionCount> Parse(string? json)
    {
        if (string.IsNullOrEmpty(json))
        {
            return [];
        }

        var counts = new List<ReactionCount>();
        var reader = new Utf8JsonReader(Encoding.UTF8.GetBytes(json));
        reader.Read();
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var key = reader.GetString()!;
            reader.Read();
            counts.Add(new ReactionCount(key, reader.GetInt32()));
        }

        return counts;
    }

    /// <summary>The counts with <paramref name="key"/> moved by <paramref name="delta"/>; a key that reaches zero is gone.</summary>
    public static IReadOnlyList<ReactionCount> With(IReadOnlyList<ReactionCount> counts, string key, int delta)
    {
        var result = new List<ReactionCount>(counts.Count + 1);
        var found = false;
        foreach (var count in counts)
        {
            if (string.Equals(count.Key, key, StringComparison.Ordinal))
            {
                found = true;
                if (count.Count + delta > 0)
                {
                    result.Add(count with { Count = count.Count + delta });
                }
            }
            else
            {
                result.Add(count);
            }
        }

        if (!found && delta > 0)
        {
            result.Add(new ReactionCount(key, delta));
            result.Sort((a, b) => string.CompareOrdinal(a.Key, b.Key));
        }

        return result;
    }

    public static int CountOf(IReadOnlyList<ReactionCount> counts, string key) =>
        counts.FirstOrDefault(c => string.Equals(c.Key, key, StringComparison.Ordinal))?.Count ?? 0;
}
