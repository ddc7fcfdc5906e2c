using Microsoft.Data.Sqlite;
using Parley.Core.Persistence;

namespace Parley.Sqlite.Internal;

/// <summary>
/// Writes the changes of a persist plan (after its inserts and member effects, in the same transaction): the changed
/// rows, edit history, reaction rows, what a delete erases, reply previews and counts, the change rows and positions,
/// and the unread counts a delete lowers. Prepared statements re-executed per row, as for the inserts.
/// </summary>
internal static class SqliteMessageChanges
{
    public static async Task WriteAsync(SqliteConnection connection, SqliteTransaction transaction, PersistPlan plan, CancellationToken cancellationToken)
    {
        await ForEachAsync(connection, transaction, """
            UPDATE messages SET content = $content, metadata = $meta, content_hash = $hash, size = $size, edit_count = $edits,
                edited_at = $edited, deleted_at = $deleted, deleted_by = $by, reactions = $reactions, pinned_at = $pinnedAt, pinned_by = $pinnedBy,
                mentions = $mentions, expires_at = $expires, poll = $poll
            WHERE id = $id
            """, plan.Updates, (p, m) =>
        {
            p["$content"].Value = m.Content;
            p["$meta"].Value = SqliteRows.OrNull(m.Metadata);
            p["$hash"].Value = m.ContentHash;
            p["$size"].Value = m.Size;
            p["$edits"].Value = m.EditCount;
            p["$edited"].Value = m.EditedAt is { } e ? SqliteTime.Ms(e) : DBNull.Value;
            p["$deleted"].Value = m.DeletedAt is { } d ? SqliteTime.Ms(d) : DBNull.Value;
            p["$by"].Value = SqliteRows.OrNull(m.DeletedBy?.ToString());
            p["$reactions"].Value = SqliteRows.OrNull(ReactionCountsJson.Format(m.Reactions));
            p["$pinnedAt"].Value = m.PinnedAt is { } pinned ? SqliteTime.Ms(pinned) : DBNull.Value;
            p["$pinnedBy"].Value = SqliteRows.OrNull(m.PinnedBy?.ToString());
            p["$mentions"].Value = SqliteRows.OrNull(MentionsJson.Format(m.Mentions));
            p["$expires"].Value = m.ExpiresAt is { } x ? SqliteTime.Ms(x) : DBNull.Value;
            p["$poll"].Value = SqliteRows.OrNull(PollJson.Format(m.Poll));
            p["$id"].Value = m.Id.ToString();
        }, cancellationToken);
        await ForEachAsync(connection, transaction, """
            INSERT INTO message_edits (message_id, edit_no, previous_content, previous_hash, reason, editor_id, edited_at)
            VALUES ($id, $no, $content, $hash, $reason, $editor, $at)
            """, plan.Edits, (p, e) =>
        {
            p["$id"].Value = e.MessageId.ToString();
            p["$no"].Value = e.EditNumber;
            p["$content"].Value = e.PreviousContent;
            p["$hash"].Value = e.PreviousContentHash;
            p["$reason"].Value = SqliteRows.OrNull(e.Reason);
            p["$editor"].Value = e.EditorId.ToString();
            p["$at"].Value = SqliteTime.Ms(e.EditedAt);
        }, cancellationToken);
        // Added and removed in batch order: the plan only holds reactions that change the stored set.
        await ForEachAsync(connection, transaction, """
            INSERT INTO reactions (message_id, key, user_id, created_at) SELECT $id, $key, $user, $at WHERE $added;
            DELETE FROM reactions WHERE NOT $added AND message_id = $id AND key = $key AND user_id = $user
            """, plan.Reactions, (p, r) =>
        {
            p["$id"].Value = r.MessageId.ToString();
            p["$key"].Value = r.Key;
            p["$user"].Value = r.UserId.ToString();
            p["$at"].Value = SqliteTime.Ms(r.At);
            p["$added"].Value = r.Added ? 1 : 0;
        }, cancellationToken);
        // A voter's rows replaced by their choice as the batch left it (none: retracted).
        await ForEachAsync(connection, transaction, """
            DELETE FROM poll_votes WHERE message_id = $id AND user_id = $user;
            INSERT INTO poll_votes (message_id, user_id, option_id, voted_at) SELECT $id, $user, value, $at FROM json_each($options)
            """, plan.Votes, (p, v) =>
        {
            p["$id"].Value = v.MessageId.ToString();
            p["$user"].Value = v.UserId.ToString();
            p["$options"].Value = PollJson.FormatOptions(v.OptionIds) ?? "[]";
            p["$at"].Value = SqliteTime.Ms(v.At);
        }, cancellationToken);
        await ForEachAsync(connection, transaction, """
            DELETE FROM message_edits WHERE message_id = $id;
            DELETE FROM poll_votes WHERE message_id = $id;
            DELETE FROM reactions WHERE message_id = $id;
            UPDATE message_changes SET reason = NULL WHERE message_id = $id AND reason IS NOT NULL
            """, plan.Purges, (p, id) => p["$id"].Value = id.ToString(), cancellationToken);
        await ForEachAsync(connection, transaction, "UPDATE messages SET reply_preview = $preview WHERE reply_to = $id", plan.ReplyPreviews, (p, r) =>
        {
            p["$preview"].Value = SqliteRows.OrNull(r.Preview);
            p["$id"].Value = r.MessageId.ToString();
        }, cancellationToken);
        await ForEachAsync(connection, transaction, "UPDATE messages SET reply_count = reply_count + $n WHERE id = $id", plan.ReplyCounts, (p, r) =>
        {
            p["$n"].Value = r.Added;
            p["$id"].Value = r.RootId.ToString();
        }, cancellationToken);
        await ForEachAsync(connection, transaction, """
            INSERT INTO message_changes (conversation_id, change_seq, id, message_id, kind, actor_id, idempotency_key, created_at, reason, reaction_key, added, reaction_count, option_ids)
            VALUES ($c, $seq, $id, $m, $kind, $actor, $key, $at, $reason, $rkey, $added, $count, $options)
            """, plan.Changes, (p, planned) =>
        {
            var c = planned.Change;
            p["$c"].Value = c.ConversationId.ToString();
            p["$seq"].Value = c.ChangeSequence;
            p["$id"].Value = c.Id.ToString();
            p["$m"].Value = c.Message.Id.ToString();
            p["$kind"].Value = c.Kind;
            p["$actor"].Value = c.ActorId.ToString();
            p["$key"].Value = planned.IdempotencyKey;
            p["$at"].Value = SqliteTime.Ms(c.At);
            p["$reason"].Value = SqliteRows.OrNull(c.Reason);
            p["$rkey"].Value = SqliteRows.OrNull(c.ReactionKey);
            p["$added"].Value = c.Added ? 1 : 0;
            p["$count"].Value = c.ReactionCount;
            p["$options"].Value = SqliteRows.OrNull(PollJson.FormatOptions(c.OptionIds));
        }, cancellationToken);
        await ForEachAsync(connection, transaction, "UPDATE conversations SET last_change_seq = $seq WHERE id = $c", plan.ChangeAdvances, (p, a) =>
        {
            p["$seq"].Value = a.LastChangeSequence;
            p["$c"].Value = a.ConversationId.ToString();
        }, cancellationToken);
        await ForEachAsync(connection, transaction, """
            UPDATE participants SET unread_count = MAX(unread_count - 1, 0),
                unread_mentions = MAX(unread_mentions - (SELECT COUNT(*) FROM json_each($mentions) WHERE value = participants.user_id), 0)
            WHERE conversation_id = $c AND user_id <> $sender AND last_read_seq < $seq
              AND NOT EXISTS (SELECT 1 FROM hidden_messages h WHERE h.user_id = participants.user_id AND h.message_id = $m)
            """, plan.UnreadDrops, (p, d) =>
        {
            p["$c"].Value = d.ConversationId.ToString();
            p["$sender"].Value = d.SenderId.ToString();
            p["$seq"].Value = d.Sequence;
            p["$m"].Value = d.MessageId.ToString();
            p["$mentions"].Value = MentionsJson.Format(d.Mentions) ?? "[]";
        }, cancellationToken);
    }

    /// <summary>One prepared statement (parameters named as in <paramref name="sql"/>) run once per row.</summary>
    private static async Task ForEachAsync<T>(SqliteConnection connection, SqliteTransaction transaction, string sql, IReadOnlyList<T> rows, Action<SqliteParameterCollection, T> bind, CancellationToken cancellationToken)
    {
        if (rows.Count == 0)
        {
            return;
        }

        await using var command = SqliteDatabase.Command(connection, sql, transaction);
        foreach (var name in System.Text.RegularExpressions.Regex.Matches(sql, @"\$[a-zA-Z]+").Select(m => m.Value).Distinct())
        {
            // Untyped: each value binds as what it is (text, integer or null).
            command.Parameters.AddWithValue(name, DBNull.Value);
        }

        foreach (var row in rows)
        {
            bind(command.Parameters, row);
            await command.ExecuteNonQueryAsync(cancellationToken);
        }
    }
}
