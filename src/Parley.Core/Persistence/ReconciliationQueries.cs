using System.Text.Json;
using System.Text.Json.Serialization;
using Parley.Core.Ports;

namespace Parley.Core.Persistence;

/// <summary>
/// The row checks of reconciliation as SQL both engines run unchanged (no parameters, text keys). Each drift query
/// returns only the rows that disagree, as (key, stored value, recounted value); each examined query counts what was looked at.
/// </summary>
public static class ReconciliationQueries
{
    public sealed record Part(string Check, string What, string Examined, string Drift);

    public static readonly IReadOnlyList<Part> Parts =
    [
        new(ReconciliationChecks.Sequences, "conversation {0}: {1} messages, highest sequence {2}", "SELECT COUNT(*) FROM conversations", """
            SELECT CAST(c.id AS TEXT), COUNT(m.id), COALESCE(MAX(m.sequence), 0)
            FROM conversations c LEFT JOIN messages m ON m.conversation_id = c.id
            GROUP BY c.id HAVING COUNT(m.id) <> COALESCE(MAX(m.sequence), 0)
            """),
        new(ReconciliationChecks.Counters, "conversation {0}: last_sequence {1}, highest stored sequence {2}", "SELECT COUNT(*) FROM conversations", """
            SELECT CAST(c.id AS TEXT), c.last_sequence, COALESCE(MAX(m.sequence), 0)
            FROM conversations c LEFT JOIN messages m ON m.conversation_id = c.id
            GROUP BY c.id, c.last_sequence HAVING c.last_sequence <> COALESCE(MAX(m.sequence), 0)
            """),
        new(ReconciliationChecks.Counters, "message {0}: reply_count {1}, replies stored {2}", "SELECT COUNT(*) FROM messages", """
            SELECT CAST(r.id AS TEXT), CAST(r.reply_count AS BIGINT), COUNT(m.id)
            FROM messages r LEFT JOIN messages m ON m.thread_root_id = r.id
            GROUP BY r.id, r.reply_count HAVING r.reply_count <> COUNT(m.id)
            """),
        new(ReconciliationChecks.Counters, "member {0}: unread_count {1}, recounted {2}", "SELECT COUNT(*) FROM participants", """
            SELECT k, n, recount FROM (
                SELECT CAST(p.conversation_id AS TEXT) || '/' || CAST(p.user_id AS TEXT) AS k, p.unread_count AS n,
                    (SELECT COUNT(*) FROM messages m WHERE m.conversation_id = p.conversation_id AND m.sequence > p.last_read_seq
                        AND m.sender_id <> p.user_id AND m.deleted_at IS NULL
                        AND NOT EXISTS (SELECT 1 FROM hidden_messages h WHERE h.user_id = p.user_id AND h.message_id = m.id)) AS recount
                FROM participants p) t
            WHERE n <> recount
            """),
    ];

    /// <summary>Folds the parts' results into one check per name (report only: nothing repaired).</summary>
    public static IReadOnlyList<ReconciliationCheck> Combine(IEnumerable<(Part Part, long Examined, IReadOnlyList<(string Key, long Stored, long Recounted)> Drift)> results, int samples) =>
        [.. results.GroupBy(r => r.Part.Check).Select(g => new ReconciliationCheck(g.Key, g.Sum(r => r.Examined), g.Sum(r => (long)r.Drift.Count), 0,
            [.. g.SelectMany(r => r.Drift.Select(d => string.Format(System.Globalization.CultureInfo.InvariantCulture, r.Part.What, d.Key, d.Stored, d.Recounted))).Take(samples)]))];

    public static string FormatChecks(IReadOnlyList<ReconciliationCheck> checks) =>
        JsonSerializer.Serialize([.. checks], ReconciliationJson.Default.ReconciliationCheckArray);

    public static IReadOnlyList<ReconciliationCheck> ParseChecks(string? json) =>
        string.IsNullOrEmpty(json) ? [] : JsonSerializer.Deserialize(json, ReconciliationJson.Default.ReconciliationCheckArray) ?? [];
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(ReconciliationCheck[]))]
internal sealed partial class ReconciliationJson : JsonSerializerContext;
