using Npgsql;
using Parley.Core.Messaging;
using Parley.Core.Persistence;
using Parley.Core.Ports;

namespace Parley.Postgres.Internal;

/// <summary>The column lists and row readers the hand-tuned (Npgsql) queries of several port classes share.</summary>
internal static class PostgresRows
{
    public const string MessageColumns =
        "m.id, m.conversation_id, m.sequence, m.sender_id, m.type, m.content, m.metadata::text, m.client_message_id, m.content_hash, m.size, m.correlation_id, m.accepted_at, m.stored_at, m.sender_side, " +
        "m.reply_to, m.reply_sender_id, m.reply_preview, m.thread_root_id, m.reply_count, m.edit_count, m.edited_at, m.deleted_at, m.deleted_by, m.reactions, m.pinned_at, m.pinned_by, " +
        "m.forwarded_from_id, m.forwarded_from_conversation_id, m.forwarded_from_sender_id, m.mentions, m.expires_at, m.poll";

    /// <summary>How many columns <see cref="MessageColumns"/> has: the ordinal of what a query selects after it.</summary>
    public const int MessageColumnCount = 32;

    public const string ConversationColumns =
        "c.id, c.type, c.title, c.status, c.created_by, c.created_at, c.last_activity_at, c.last_sequence, c.description, c.avatar_url, c.metadata::text, c.visibility, c.context_type, c.context_id, c.context_metadata::text, c.last_change_seq, c.message_ttl_seconds";

    /// <summary>How many columns <see cref="ConversationColumns"/> has: the ordinal of what a query selects after it.</summary>
    public const int ConversationColumnCount = 17;

    public static ConversationRecord ReadConversation(NpgsqlDataReader r, int o) => new(
        r.GetGuid(o), r.GetString(o + 1), r.IsDBNull(o + 2) ? null : r.GetString(o + 2), r.GetString(o + 3),
        r.GetGuid(o + 4), Time(r, o + 5), Time(r, o + 6), r.GetInt64(o + 7))
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

    public static MemberSettings ReadSettings(NpgsqlDataReader r, int o) => new(
        r.GetBoolean(o), r.IsDBNull(o + 1) ? null : Time(r, o + 1), r.IsDBNull(o + 2) ? null : Time(r, o + 2), r.GetBoolean(o + 3));

    public static StoredMessage ReadMessage(NpgsqlDataReader r, int o) => new(
        r.GetGuid(o), r.GetGuid(o + 1), r.GetInt64(o + 2), r.GetGuid(o + 3), r.GetString(o + 4), r.GetString(o + 5),
        r.IsDBNull(o + 6) ? null : r.GetString(o + 6), r.IsDBNull(o + 7) ? null : r.GetString(o + 7),
        r.GetString(o + 8), r.GetInt32(o + 9), r.GetGuid(o + 10), Time(r, o + 11), Time(r, o + 12))
    {
        SenderSide = r.IsDBNull(o + 13) ? null : r.GetString(o + 13),
        ReplyTo = r.IsDBNull(o + 14) ? null : new ReplyPreview(r.GetGuid(o + 14), r.GetGuid(o + 15), r.IsDBNull(o + 16) ? null : r.GetString(o + 16), r.IsDBNull(o + 16)),
        ThreadRootId = r.IsDBNull(o + 17) ? null : r.GetGuid(o + 17),
        ReplyCount = r.GetInt32(o + 18),
        EditCount = r.GetInt32(o + 19),
        EditedAt = r.IsDBNull(o + 20) ? null : Time(r, o + 20),
        DeletedAt = r.IsDBNull(o + 21) ? null : Time(r, o + 21),
        DeletedBy = r.IsDBNull(o + 22) ? null : r.GetGuid(o + 22),
        Reactions = ReactionCountsJson.Parse(r.IsDBNull(o + 23) ? null : r.GetString(o + 23)),
        Mentions = MentionsJson.Parse(r.IsDBNull(o + 29) ? null : r.GetString(o + 29)),
        PinnedAt = r.IsDBNull(o + 24) ? null : Time(r, o + 24),
        ForwardedFrom = r.IsDBNull(o + 26) ? null : new ForwardSource(r.GetGuid(o + 26), r.GetGuid(o + 27), r.GetGuid(o + 28)),
        PinnedBy = r.IsDBNull(o + 25) ? null : r.GetGuid(o + 25),
        ExpiresAt = r.IsDBNull(o + 30) ? null : Time(r, o + 30),
        Poll = PollJson.Parse(r.IsDBNull(o + 31) ? null : r.GetString(o + 31)),
    };

    /// <summary>
    /// What a history read adds for its viewer (a uuid parameter, null for none): their own reaction keys, one column
    /// after <see cref="MessageColumns"/> (read with <see cref="WithViewer"/>), and the filter that leaves out what they
    /// deleted for themselves. <c>{0}</c> is the viewer's parameter.
    /// </summary>
    /// <remarks>
    /// Both are per row, so both are skipped where they cannot matter (measured: a history page cost up to a third more
    /// CPU with them unconditional): the reader's keys only for a row with reactions; the hidden check only when the
    /// reader has hidden something (an uncorrelated test the planner evaluates once per query).
    /// </remarks>
    public const string ViewerColumn =
        "CASE WHEN m.reactions IS NULL THEN NULL ELSE (SELECT array_agg(r.key ORDER BY r.key COLLATE \"C\") FROM reactions r WHERE r.message_id = m.id AND r.user_id = {0}) END, " +
        "CASE WHEN m.poll IS NULL THEN NULL ELSE (SELECT array_agg(v.option_id ORDER BY v.option_id) FROM poll_votes v WHERE v.message_id = m.id AND v.user_id = {0}) END";

    public const string ViewerFilter =
        "(NOT EXISTS (SELECT 1 FROM hidden_messages h WHERE h.user_id = {0}) OR NOT EXISTS (SELECT 1 FROM hidden_messages h WHERE h.user_id = {0} AND h.message_id = m.id))";

    /// <remarks>A row with neither reactions nor a poll (most of them) is returned as it is: the view shows no
    /// "mine" for it either way, and copying every row of a page cost a plain page measurable CPU.</remarks>
    public static StoredMessage WithViewer(NpgsqlDataReader r, StoredMessage message, int ordinal, bool viewer) =>
        !viewer || (r.IsDBNull(ordinal) && message.Poll is null) ? message : message with
        {
            MyReactions = r.IsDBNull(ordinal) ? [] : r.GetFieldValue<string[]>(ordinal),
            MyVotes = message.Poll is null ? null : r.IsDBNull(ordinal + 1) ? [] : r.GetFieldValue<int[]>(ordinal + 1),
        };

    public static DateTimeOffset Time(NpgsqlDataReader reader, int ordinal) => reader.GetFieldValue<DateTimeOffset>(ordinal);

    /// <summary>Npgsql (and so Dapper) reads timestamptz as a UTC <see cref="DateTime"/>; the records carry offsets.</summary>
    public static DateTimeOffset Utc(DateTime value) => new(DateTime.SpecifyKind(value, DateTimeKind.Utc));

    /// <summary>A positional statement for an <see cref="NpgsqlBatch"/>; null values go as SQL NULL.</summary>
    public static NpgsqlBatchCommand Command(string sql, params object?[] values)
    {
        var command = new NpgsqlBatchCommand(sql);
        foreach (var value in values)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = value ?? DBNull.Value });
        }

        return command;
    }
}
