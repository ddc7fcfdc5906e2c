using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.Data.Sqlite;
using Parley.Core.Messaging;
using Parley.Core.Persistence;
using Parley.Core.Ports;

namespace Parley.Sqlite.Internal;

/// <summary>Column lists and row readers shared by the hand-tuned queries (history, persist, conversation lists).</summary>
internal static class SqliteRows
{
    public const string MessageColumns =
        "m.id, m.conversation_id, m.sequence, m.sender_id, m.type, m.content, m.metadata, m.client_message_id, m.content_hash, m.size, m.correlation_id, m.accepted_at, m.stored_at, m.sender_side, " +
        "m.reply_to, m.reply_sender_id, m.reply_preview, m.thread_root_id, m.reply_count, m.edit_count, m.edited_at, m.deleted_at, m.deleted_by, m.reactions, m.pinned_at, m.pinned_by, " +
        "m.forwarded_from_id, m.forwarded_from_conversation_id, m.forwarded_from_sender_id, m.mentions, m.expires_at, m.poll";

    /// <summary>How many columns <see cref="MessageColumns"/> has: the ordinal of whatever a query selects after them.</summary>
    public const int MessageColumnCount = 32;

    public const string ConversationColumns =
        "c.id, c.type, c.title, c.status, c.created_by, c.created_at, c.last_activity_at, c.last_sequence, c.description, c.avatar_url, c.metadata, c.visibility, c.context_type, c.context_id, c.context_metadata, c.last_change_seq, c.message_ttl_seconds";

    /// <summary>How many columns <see cref="ConversationColumns"/> has: the ordinal of what a query selects after it.</summary>
    public const int ConversationColumnCount = 17;

    public static ConversationRecord ReadConversation(SqliteDataReader r, int o) => new(
        Guid.Parse(r.GetString(o)), r.GetString(o + 1), r.IsDBNull(o + 2) ? null : r.GetString(o + 2), r.GetString(o + 3),
        Guid.Parse(r.GetString(o + 4)), SqliteTime.FromMs(r.GetInt64(o + 5)), SqliteTime.FromMs(r.GetInt64(o + 6)), r.GetInt64(o + 7))
    {
        Description = r.IsDBNull(o + 8) ? null : r.GetString(o + 8),
        AvatarUrl = r.IsDBNull(o + 9) ? null : r.GetString(o + 9),
        Metadata = r.IsDBNull(o + 10) ? null : r.GetString(o + 10),
        Visibility = r.GetString(o + 11),
        Context = r.IsDBNull(o + 12) ? null : new ConversationContext(r.GetString(o + 12), r.GetString(o + 13), r.IsDBNull(o + 14) ? null : r.GetString(o + 14)),
        LastChangeSequence = r.GetInt64(o + 15),
        MessageTtlSeconds = r.IsDBNull(o + 16) ? null : r.GetInt32(o + 16),
    };

    /// <summary>A participant row's own settings (over <c>p</c>), read with <see cref="ReadSettings"/>.</summary>
    public const string SettingsColumns = "p.muted, p.muted_until, p.pinned_at, p.archived";

    public const int SettingsColumnCount = 4;

    public static MemberSettings ReadSettings(SqliteDataReader r, int o) => new(
        r.GetInt64(o) != 0, r.IsDBNull(o + 1) ? null : SqliteTime.FromMs(r.GetInt64(o + 1)), r.IsDBNull(o + 2) ? null : SqliteTime.FromMs(r.GetInt64(o + 2)), r.GetInt64(o + 3) != 0);

    public static StoredMessage ReadMessage(SqliteDataReader r, int o) => new(
        Guid.Parse(r.GetString(o)), Guid.Parse(r.GetString(o + 1)), r.GetInt64(o + 2), Guid.Parse(r.GetString(o + 3)),
        r.GetString(o + 4), r.GetString(o + 5), r.IsDBNull(o + 6) ? null : r.GetString(o + 6), r.IsDBNull(o + 7) ? null : r.GetString(o + 7),
        r.GetString(o + 8), r.GetInt32(o + 9), Guid.Parse(r.GetString(o + 10)), SqliteTime.FromMs(r.GetInt64(o + 11)), SqliteTime.FromMs(r.GetInt64(o + 12)))
    {
        SenderSide = r.IsDBNull(o + 13) ? null : r.GetString(o + 13),
        ReplyTo = r.IsDBNull(o + 14) ? null : new ReplyPreview(Guid.Parse(r.GetString(o + 14)), Guid.Parse(r.GetString(o + 15)), r.IsDBNull(o + 16) ? null : r.GetString(o + 16), r.IsDBNull(o + 16)),
        ThreadRootId = r.IsDBNull(o + 17) ? null : Guid.Parse(r.GetString(o + 17)),
        ReplyCount = r.GetInt32(o + 18),
        EditCount = r.GetInt32(o + 19),
        EditedAt = r.IsDBNull(o + 20) ? null : SqliteTime.FromMs(r.GetInt64(o + 20)),
        DeletedAt = r.IsDBNull(o + 21) ? null : SqliteTime.FromMs(r.GetInt64(o + 21)),
        DeletedBy = r.IsDBNull(o + 22) ? null : Guid.Parse(r.GetString(o + 22)),
        Reactions = ReactionCountsJson.Parse(r.IsDBNull(o + 23) ? null : r.GetString(o + 23)),
        Mentions = MentionsJson.Parse(r.IsDBNull(o + 29) ? null : r.GetString(o + 29)),
        PinnedAt = r.IsDBNull(o + 24) ? null : SqliteTime.FromMs(r.GetInt64(o + 24)),
        ForwardedFrom = r.IsDBNull(o + 26) ? null : new ForwardSource(Guid.Parse(r.GetString(o + 26)), Guid.Parse(r.GetString(o + 27)), Guid.Parse(r.GetString(o + 28))),
        PinnedBy = r.IsDBNull(o + 25) ? null : Guid.Parse(r.GetString(o + 25)),
        ExpiresAt = r.IsDBNull(o + 30) ? null : SqliteTime.FromMs(r.GetInt64(o + 30)),
        Poll = PollJson.Parse(r.IsDBNull(o + 31) ? null : r.GetString(o + 31)),
    };

    /// <summary>A change row (over <c>c</c>), read with <see cref="ReadChange"/> followed by <see cref="MessageColumns"/> of its message.</summary>
    public const string ChangeColumns = "c.id, c.conversation_id, c.change_seq, c.kind, c.actor_id, c.created_at, c.reason, c.reaction_key, c.added, c.reaction_count, c.option_ids";

    public const int ChangeColumnCount = 11;

    public static StoredChange ReadChange(SqliteDataReader r) => new(
        Guid.Parse(r.GetString(0)), Guid.Parse(r.GetString(1)), r.GetInt64(2), r.GetString(3), Guid.Parse(r.GetString(4)), SqliteTime.FromMs(r.GetInt64(5)),
        ReadMessage(r, ChangeColumnCount))
    {
        Reason = r.IsDBNull(6) ? null : r.GetString(6),
        ReactionKey = r.IsDBNull(7) ? null : r.GetString(7),
        Added = r.GetInt64(8) != 0,
        ReactionCount = r.GetInt32(9),
        OptionIds = PollJson.ParseOptions(r.IsDBNull(10) ? null : r.GetString(10)),
    };

    /// <summary>
    /// What a history read adds for its viewer (<c>$viewer</c>, null for none): their own reaction keys, one column after
    /// <see cref="MessageColumns"/> (read with <see cref="WithViewer"/>), and the filter that leaves out what they deleted for themselves.
    /// </summary>
    /// <remarks>Each skipped where it cannot matter: keys only for a row with reactions, the hidden check only for a reader who hid something.</remarks>
    public const string ViewerColumn =
        "CASE WHEN m.reactions IS NULL THEN NULL ELSE (SELECT group_concat(r.key, char(31)) FROM reactions r WHERE r.message_id = m.id AND r.user_id = $viewer) END, " +
        "CASE WHEN m.poll IS NULL THEN NULL ELSE (SELECT json_group_array(v.option_id) FROM poll_votes v WHERE v.message_id = m.id AND v.user_id = $viewer) END";

    public const string ViewerFilter =
        "(NOT EXISTS (SELECT 1 FROM hidden_messages h WHERE h.user_id = $viewer) OR NOT EXISTS (SELECT 1 FROM hidden_messages h WHERE h.user_id = $viewer AND h.message_id = m.id))";

    /// <remarks>A row with neither reactions nor a poll (most of them) is returned as it is: the view shows no
    /// "mine" for it either way, and copying every row of a page cost a plain page measurable CPU.</remarks>
    public static StoredMessage WithViewer(SqliteDataReader r, StoredMessage message, int ordinal, bool viewer) =>
        !viewer || (r.IsDBNull(ordinal) && message.Poll is null) ? message : message with
        {
            MyReactions = r.IsDBNull(ordinal) ? [] : [.. r.GetString(ordinal).Split('\u001f').Order(StringComparer.Ordinal)],
            MyVotes = message.Poll is null ? null : [.. PollJson.ParseOptions(r.IsDBNull(ordinal + 1) ? null : r.GetString(ordinal + 1)).Order()],
        };

    /// <summary>One JSON array parameter instead of a parameter per value (read with json_each): SQLite caps the number of parameters.</summary>
    public static string GuidsJson(IEnumerable<Guid> ids) =>
        JsonSerializer.Serialize(ids.Select(i => i.ToString()).ToArray(), SqliteJsonContext.Default.StringArray);

    public static string StringArraysJson(IEnumerable<string[]> values) =>
        JsonSerializer.Serialize(values.ToArray(), SqliteJsonContext.Default.StringArrayArray);

    public static string StringsJson(IEnumerable<string> values) =>
        JsonSerializer.Serialize(values.ToArray(), SqliteJsonContext.Default.StringArray);

    public static string Int64sJson(IEnumerable<long> values) =>
        JsonSerializer.Serialize(values.ToArray(), SqliteJsonContext.Default.Int64Array);

    public static object OrNull(string? value) => (object?)value ?? DBNull.Value;
}

/// <summary>Times are stored as Unix milliseconds in UTC.</summary>
internal static class SqliteTime
{
    public static long Ms(DateTimeOffset value) => value.ToUnixTimeMilliseconds();

    public static DateTimeOffset FromMs(long value) => DateTimeOffset.FromUnixTimeMilliseconds(value);
}

[JsonSerializable(typeof(long[]))]
[JsonSerializable(typeof(string[]))]
[JsonSerializable(typeof(string[][]))]
internal sealed partial class SqliteJsonContext : JsonSerializerContext;
