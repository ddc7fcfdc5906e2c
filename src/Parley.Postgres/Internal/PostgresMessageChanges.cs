using Npgsql;
using Parley.Core.Messaging;
using Parley.Core.Persistence;
using Parley.Core.Ports;
using static Parley.Postgres.Internal.PostgresRows;

namespace Parley.Postgres.Internal;

/// <summary>
/// The change half of a persist batch on PostgreSQL: what the planner needs about the batch's changes and replies (read
/// in the load round trip), and the plan's change writes (set-based, in the write round trip, after the inserts and
/// member effects).
/// </summary>
internal static class PostgresMessageChanges
{
    public const string ChangeColumns = "c.id, c.conversation_id, c.change_seq, c.kind, c.actor_id, c.created_at, c.reason, c.reaction_key, c.added, c.reaction_count, c.option_ids";

    public const int ChangeColumnCount = 11;

    public static StoredChange ReadChange(NpgsqlDataReader r) => new(
        r.GetGuid(0), r.GetGuid(1), r.GetInt64(2), r.GetString(3), r.GetGuid(4), Time(r, 5), ReadMessage(r, ChangeColumnCount))
    {
        Reason = r.IsDBNull(6) ? null : r.GetString(6),
        ReactionKey = r.IsDBNull(7) ? null : r.GetString(7),
        Added = r.GetBoolean(8),
        ReactionCount = r.GetInt32(9),
        OptionIds = PollJson.ParseOptions(r.IsDBNull(10) ? null : r.GetString(10)),
    };

    /// <summary>Four reads after the batch's others: the messages it names, its reactions already stored, its voters' choices, its changes already applied.</summary>
    public static void AddLoads(NpgsqlBatch read, IReadOnlyList<MessageEnvelope> batch)
    {
        read.BatchCommands.Add(Command($"SELECT {MessageColumns} FROM messages m WHERE m.id = ANY($1)", PersistPlanner.Referenced(batch).ToArray()));
        var reactions = PersistPlanner.ReactionsOf(batch);
        read.BatchCommands.Add(Command("""
            SELECT r.message_id, r.user_id, r.key FROM unnest($1::uuid[], $2::uuid[], $3::text[]) AS t(message_id, user_id, key)
            JOIN reactions r ON r.message_id = t.message_id AND r.key = t.key AND r.user_id = t.user_id
            """, reactions.Select(r => r.MessageId).ToArray(), reactions.Select(r => r.UserId).ToArray(), reactions.Select(r => r.Key).ToArray()));
        var voters = PersistPlanner.VotersOf(batch);
        read.BatchCommands.Add(Command("""
            SELECT v.message_id, v.user_id, v.option_id FROM unnest($1::uuid[], $2::uuid[]) AS t(message_id, user_id)
            JOIN poll_votes v ON v.message_id = t.message_id AND v.user_id = t.user_id ORDER BY v.option_id
            """, voters.Select(v => v.MessageId).ToArray(), voters.Select(v => v.UserId).ToArray()));
        read.BatchCommands.Add(Command($"""
            SELECT {ChangeColumns}, {MessageColumns}, c.idempotency_key FROM message_changes c JOIN messages m ON m.id = c.message_id
            WHERE c.idempotency_key = ANY($1)
            """, (object)batch.Where(e => e.IsChange).Select(e => e.IdempotencyKey).ToArray()));
    }

    public static async Task<PersistState> ReadLoadsAsync(NpgsqlDataReader reader, PersistState state, CancellationToken cancellationToken)
    {
        var targets = new Dictionary<Guid, StoredMessage>();
        await reader.NextResultAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            var message = ReadMessage(reader, 0);
            targets[message.Id] = message;
        }

        var reacted = new HashSet<(Guid, Guid, string)>();
        await reader.NextResultAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            reacted.Add((reader.GetGuid(0), reader.GetGuid(1), reader.GetString(2)));
        }

        var votes = new Dictionary<(Guid, Guid), IReadOnlyList<int>>();
        await reader.NextResultAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            var voter = (reader.GetGuid(0), reader.GetGuid(1));
            votes[voter] = [.. votes.GetValueOrDefault(voter) ?? [], reader.GetInt32(2)];
        }

        var changes = new Dictionary<string, StoredChange>(StringComparer.Ordinal);
        await reader.NextResultAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            changes[reader.GetString(ChangeColumnCount + MessageColumnCount)] = ReadChange(reader);
        }

        return state with { Targets = targets, Reacted = reacted, Votes = votes, ExistingChanges = changes };
    }

    public static void Add(NpgsqlBatch write, PersistPlan plan)
    {
        if (plan.Updates is { Count: > 0 } updates)
        {
            write.BatchCommands.Add(Command("""
                UPDATE messages m SET content = t.content, metadata = t.metadata::json, content_hash = t.hash, size = t.size, edit_count = t.edits,
                    edited_at = t.edited, deleted_at = t.deleted, deleted_by = t.by, reactions = t.reactions, pinned_at = t.pinned_at, pinned_by = t.pinned_by,
                    mentions = t.mentions, expires_at = t.expires_at, poll = t.poll
                FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::int[], $6::int[], $7::timestamptz[], $8::timestamptz[], $9::uuid[], $10::text[],
                            $11::timestamptz[], $12::uuid[], $13::text[], $14::timestamptz[], $15::text[])
                     AS t(id, content, metadata, hash, size, edits, edited, deleted, by, reactions, pinned_at, pinned_by, mentions, expires_at, poll)
                WHERE m.id = t.id
                """,
                updates.Select(m => m.Id).ToArray(), updates.Select(m => m.Content).ToArray(), updates.Select(m => m.Metadata).ToArray(),
                updates.Select(m => m.ContentHash).ToArray(), updates.Select(m => m.Size).ToArray(), updates.Select(m => m.EditCount).ToArray(),
                updates.Select(m => m.EditedAt).ToArray(), updates.Select(m => m.DeletedAt).ToArray(), updates.Select(m => m.DeletedBy).ToArray(),
                updates.Select(m => ReactionCountsJson.Format(m.Reactions)).ToArray(), updates.Select(m => m.PinnedAt).ToArray(), updates.Select(m => m.PinnedBy).ToArray(),
                updates.Select(m => MentionsJson.Format(m.Mentions)).ToArray(), updates.Select(m => m.ExpiresAt).ToArray(),
                updates.Select(m => PollJson.Format(m.Poll)).ToArray()));
        }

        if (plan.Edits is { Count: > 0 } edits)
        {
            write.BatchCommands.Add(Command("""
                INSERT INTO message_edits (message_id, edit_no, previous_content, previous_hash, reason, editor_id, edited_at)
                SELECT * FROM unnest($1::uuid[], $2::int[], $3::text[], $4::text[], $5::text[], $6::uuid[], $7::timestamptz[])
                """,
                edits.Select(e => e.MessageId).ToArray(), edits.Select(e => e.EditNumber).ToArray(), edits.Select(e => e.PreviousContent).ToArray(),
                edits.Select(e => e.PreviousContentHash).ToArray(), edits.Select(e => e.Reason).ToArray(), edits.Select(e => e.EditorId).ToArray(),
                edits.Select(e => e.EditedAt).ToArray()));
        }

        // The plan's reactions are net per (message, user, key), so the adds and the removes commute.
        var added = plan.Reactions.Where(r => r.Added).ToList();
        if (added.Count > 0)
        {
            write.BatchCommands.Add(Command("""
                INSERT INTO reactions (message_id, key, user_id, created_at) SELECT * FROM unnest($1::uuid[], $2::text[], $3::uuid[], $4::timestamptz[])
                """,
                added.Select(r => r.MessageId).ToArray(), added.Select(r => r.Key).ToArray(), added.Select(r => r.UserId).ToArray(), added.Select(r => r.At).ToArray()));
        }

        var removed = plan.Reactions.Where(r => !r.Added).ToList();
        if (removed.Count > 0)
        {
            write.BatchCommands.Add(Command("""
                DELETE FROM reactions r USING unnest($1::uuid[], $2::text[], $3::uuid[]) AS t(message_id, key, user_id)
                WHERE r.message_id = t.message_id AND r.key = t.key AND r.user_id = t.user_id
                """,
                removed.Select(r => r.MessageId).ToArray(), removed.Select(r => r.Key).ToArray(), removed.Select(r => r.UserId).ToArray()));
        }

        if (plan.Votes is { Count: > 0 } votes)
        {
            // Each voter's rows replaced by their choice as the batch left it (none: retracted).
            write.BatchCommands.Add(Command("""
                DELETE FROM poll_votes v USING unnest($1::uuid[], $2::uuid[]) AS t(message_id, user_id) WHERE v.message_id = t.message_id AND v.user_id = t.user_id
                """, votes.Select(v => v.MessageId).ToArray(), votes.Select(v => v.UserId).ToArray()));
            var rows = votes.SelectMany(v => v.OptionIds.Select(o => (v.MessageId, v.UserId, Option: o, v.At))).ToList();
            write.BatchCommands.Add(Command("""
                INSERT INTO poll_votes (message_id, user_id, option_id, voted_at) SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::int[], $4::timestamptz[])
                """, rows.Select(r => r.MessageId).ToArray(), rows.Select(r => r.UserId).ToArray(), rows.Select(r => r.Option).ToArray(), rows.Select(r => r.At).ToArray()));
        }

        if (plan.Purges is { Count: > 0 } purges)
        {
            var ids = purges.ToArray();
            write.BatchCommands.Add(Command("DELETE FROM poll_votes WHERE message_id = ANY($1)", ids));
            write.BatchCommands.Add(Command("DELETE FROM message_edits WHERE message_id = ANY($1)", ids));
            write.BatchCommands.Add(Command("DELETE FROM reactions WHERE message_id = ANY($1)", ids));
            write.BatchCommands.Add(Command("UPDATE message_changes SET reason = NULL WHERE message_id = ANY($1) AND reason IS NOT NULL", ids));
        }

        if (plan.ReplyPreviews is { Count: > 0 } previews)
        {
            write.BatchCommands.Add(Command("""
                UPDATE messages m SET reply_preview = t.preview FROM unnest($1::uuid[], $2::text[]) AS t(id, preview) WHERE m.reply_to = t.id
                """, previews.Select(p => p.MessageId).ToArray(), previews.Select(p => p.Preview).ToArray()));
        }

        if (plan.ReplyCounts is { Count: > 0 } counts)
        {
            write.BatchCommands.Add(Command("""
                UPDATE messages m SET reply_count = m.reply_count + t.n FROM unnest($1::uuid[], $2::int[]) AS t(id, n) WHERE m.id = t.id
                """, counts.Select(c => c.RootId).ToArray(), counts.Select(c => c.Added).ToArray()));
        }

        if (plan.Changes is { Count: > 0 } changes)
        {
            write.BatchCommands.Add(Command("""
                INSERT INTO message_changes (conversation_id, change_seq, id, message_id, kind, actor_id, idempotency_key, created_at, reason, reaction_key, added, reaction_count, option_ids)
                SELECT * FROM unnest($1::uuid[], $2::bigint[], $3::uuid[], $4::uuid[], $5::text[], $6::uuid[], $7::text[], $8::timestamptz[], $9::text[], $10::text[], $11::boolean[], $12::int[], $13::text[])
                """,
                changes.Select(c => c.Change.ConversationId).ToArray(), changes.Select(c => c.Change.ChangeSequence).ToArray(), changes.Select(c => c.Change.Id).ToArray(),
                changes.Select(c => c.Change.Message.Id).ToArray(), changes.Select(c => c.Change.Kind).ToArray(), changes.Select(c => c.Change.ActorId).ToArray(),
                changes.Select(c => c.IdempotencyKey).ToArray(), changes.Select(c => c.Change.At).ToArray(), changes.Select(c => c.Change.Reason).ToArray(),
                changes.Select(c => c.Change.ReactionKey).ToArray(), changes.Select(c => c.Change.Added).ToArray(), changes.Select(c => c.Change.ReactionCount).ToArray(),
                changes.Select(c => PollJson.FormatOptions(c.Change.OptionIds)).ToArray()));
            var advances = plan.ChangeAdvances;
            write.BatchCommands.Add(Command("""
                UPDATE conversations c SET last_change_seq = t.seq FROM unnest($1::uuid[], $2::bigint[]) AS t(id, seq) WHERE c.id = t.id
                """, advances.Select(a => a.ConversationId).ToArray(), advances.Select(a => a.LastChangeSequence).ToArray()));
        }

        if (plan.UnreadDrops is { Count: > 0 } drops)
        {
            // One row per member with the number of their unread messages the batch deleted: an UPDATE … FROM applies
            // one source row per target row, so the drops are counted first.
            write.BatchCommands.Add(Command("""
                UPDATE participants p SET unread_count = GREATEST(p.unread_count - d.n, 0), unread_mentions = GREATEST(p.unread_mentions - d.mentioned, 0)
                FROM (SELECT q.conversation_id, q.user_id, COUNT(*) AS n, COUNT(*) FILTER (WHERE t.mentions IS NOT NULL AND t.mentions::jsonb ? q.user_id::text) AS mentioned
                      FROM unnest($1::uuid[], $2::bigint[], $3::uuid[], $4::uuid[], $5::text[]) AS t(conversation_id, seq, sender_id, message_id, mentions)
                      JOIN participants q ON q.conversation_id = t.conversation_id AND q.user_id <> t.sender_id AND q.last_read_seq < t.seq
                      WHERE NOT EXISTS (SELECT 1 FROM hidden_messages h WHERE h.user_id = q.user_id AND h.message_id = t.message_id)
                      GROUP BY q.conversation_id, q.user_id) AS d
                WHERE p.conversation_id = d.conversation_id AND p.user_id = d.user_id
                """,
                drops.Select(d => d.ConversationId).ToArray(), drops.Select(d => d.Sequence).ToArray(), drops.Select(d => d.SenderId).ToArray(),
                drops.Select(d => d.MessageId).ToArray(), drops.Select(d => MentionsJson.Format(d.Mentions)).ToArray()));
        }
    }
}
