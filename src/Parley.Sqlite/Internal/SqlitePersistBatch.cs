using Microsoft.Data.Sqlite;
using Parley.Core.Messaging;
using Parley.Core.Persistence;
using Parley.Core.Ports;

namespace Parley.Sqlite.Internal;

/// <summary>
/// The engine half of a persist batch: load the state <see cref="PersistPlanner"/> needs, and write its plan. Both run in
/// the caller's write transaction. Writes use prepared statements re-executed per row, SQLite's bulk path.
/// </summary>
internal static class SqlitePersistBatch
{
    /// <summary>The batch's conversations (last sequence, members in join order) and the full rows of stored messages matching any id or key of the batch.</summary>
    public static async Task<PersistState> LoadStateAsync(SqliteConnection connection, SqliteTransaction transaction, IReadOnlyList<MessageEnvelope> batch, CancellationToken cancellationToken)
    {
        var lastSequences = new Dictionary<Guid, long>();
        await using (var command = SqliteDatabase.Command(connection,
            "SELECT id, last_sequence FROM conversations WHERE id IN (SELECT value FROM json_each($ids))", transaction))
        {
            command.Parameters.AddWithValue("$ids", SqliteRows.GuidsJson(batch.Select(e => e.ConversationId).Distinct()));
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                lastSequences[Guid.Parse(reader.GetString(0))] = reader.GetInt64(1);
            }
        }

        var sides = new Dictionary<Guid, Dictionary<Guid, string>>();
        var members = lastSequences.Count == 0 ? [] : await SqliteMembers.LoadAsync(connection, transaction, lastSequences.Keys, cancellationToken, sides);
        var conversations = lastSequences.ToDictionary(c => c.Key, c => new ConversationSnapshot(c.Value, members.GetValueOrDefault(c.Key) ?? [])
        {
            Sides = sides.GetValueOrDefault(c.Key) ?? ConversationSnapshot.NoSides,
        });

        var existing = new List<(StoredMessage, string)>();
        await using (var command = SqliteDatabase.Command(connection, $"""
            SELECT {SqliteRows.MessageColumns}, m.idempotency_key FROM messages m WHERE m.id IN (SELECT value FROM json_each($ids))
            UNION ALL
            SELECT {SqliteRows.MessageColumns}, m.idempotency_key FROM messages m WHERE m.idempotency_key IN (SELECT value FROM json_each($keys))
            """, transaction))
        {
            command.Parameters.AddWithValue("$ids", SqliteRows.GuidsJson(batch.Select(e => e.MessageId)));
            command.Parameters.AddWithValue("$keys", SqliteRows.StringsJson(batch.Select(e => e.IdempotencyKey)));
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                existing.Add((SqliteRows.ReadMessage(reader, 0), reader.GetString(SqliteRows.MessageColumnCount)));
            }
        }

        return new PersistState(conversations, existing);
    }

    public static async Task WriteAsync(SqliteConnection connection, SqliteTransaction transaction, PersistPlan plan, CancellationToken cancellationToken)
    {
        if (plan.Inserts.Count == 0)
        {
            return;
        }

        await InsertMessagesAsync(connection, transaction, plan.Inserts, cancellationToken);
        await AdvanceConversationsAsync(connection, transaction, plan.Conversations, cancellationToken);
        await ApplyParticipantEffectsAsync(connection, transaction, plan.Participants, cancellationToken);
        await using var outbox = new SqliteOutbox(connection, transaction);
        await outbox.AppendAsync(plan.Events, cancellationToken);
    }

    private static async Task InsertMessagesAsync(SqliteConnection connection, SqliteTransaction transaction, IReadOnlyList<PlannedMessage> inserts, CancellationToken cancellationToken)
    {
        // No ON CONFLICT: the plan deduplicated under the write gate, so a conflict here is a bug and must fail the batch.
        await using var insert = SqliteDatabase.Command(connection, """
            INSERT INTO messages (id, conversation_id, sequence, sender_id, type, content, metadata, client_message_id,
                                  idempotency_key, content_hash, size, correlation_id, accepted_at, stored_at, sender_side)
            VALUES ($id, $c, $seq, $s, $type, $content, $meta, $cmid, $key, $hash, $size, $corr, $acc, $stored, $side)
            """, transaction);
        var id = insert.Parameters.Add("$id", SqliteType.Text);
        var conversation = insert.Parameters.Add("$c", SqliteType.Text);
        var sequence = insert.Parameters.Add("$seq", SqliteType.Integer);
        var sender = insert.Parameters.Add("$s", SqliteType.Text);
        var type = insert.Parameters.Add("$type", SqliteType.Text);
        var content = insert.Parameters.Add("$content", SqliteType.Text);
        var metadata = insert.Parameters.Add("$meta", SqliteType.Text);
        var clientMessageId = insert.Parameters.Add("$cmid", SqliteType.Text);
        var key = insert.Parameters.Add("$key", SqliteType.Text);
        var hash = insert.Parameters.Add("$hash", SqliteType.Text);
        var size = insert.Parameters.Add("$size", SqliteType.Integer);
        var correlation = insert.Parameters.Add("$corr", SqliteType.Text);
        var acceptedAt = insert.Parameters.Add("$acc", SqliteType.Integer);
        var storedAt = insert.Parameters.Add("$stored", SqliteType.Integer);
        var side = insert.Parameters.Add("$side", SqliteType.Text);
        foreach (var (message, idempotencyKey) in inserts)
        {
            id.Value = message.Id.ToString();
            conversation.Value = message.ConversationId.ToString();
            sequence.Value = message.Sequence;
            sender.Value = message.SenderId.ToString();
            type.Value = message.Type;
            content.Value = message.Content;
            metadata.Value = SqliteRows.OrNull(message.Metadata);
            clientMessageId.Value = SqliteRows.OrNull(message.ClientMessageId);
            key.Value = idempotencyKey;
            hash.Value = message.ContentHash;
            size.Value = message.Size;
            correlation.Value = message.CorrelationId.ToString();
            acceptedAt.Value = SqliteTime.Ms(message.AcceptedAt);
            storedAt.Value = SqliteTime.Ms(message.StoredAt);
            side.Value = SqliteRows.OrNull(message.SenderSide);
            await insert.ExecuteNonQueryAsync(cancellationToken);
        }
    }

    private static async Task AdvanceConversationsAsync(SqliteConnection connection, SqliteTransaction transaction, IReadOnlyList<ConversationAdvance> advances, CancellationToken cancellationToken)
    {
        await using var advance = SqliteDatabase.Command(connection,
            "UPDATE conversations SET last_sequence = $seq, last_activity_at = MAX(last_activity_at, $at), last_message_id = $id WHERE id = $c", transaction);
        var sequence = advance.Parameters.Add("$seq", SqliteType.Integer);
        var at = advance.Parameters.Add("$at", SqliteType.Integer);
        var id = advance.Parameters.Add("$id", SqliteType.Text);
        var conversation = advance.Parameters.Add("$c", SqliteType.Text);
        foreach (var a in advances)
        {
            sequence.Value = a.LastSequence;
            at.Value = SqliteTime.Ms(a.LastActivityAt);
            id.Value = a.LastMessageId.ToString();
            conversation.Value = a.ConversationId.ToString();
            await advance.ExecuteNonQueryAsync(cancellationToken);
        }
    }

    /// <summary>
    /// Senders one row each (their unread resets, their watermarks move to their own message); everyone else grouped by
    /// conversation and count, one set-based update per group, so a large group costs a statement, not one per member.
    /// </summary>
    private static async Task ApplyParticipantEffectsAsync(SqliteConnection connection, SqliteTransaction transaction, IReadOnlyList<ParticipantEffect> effects, CancellationToken cancellationToken)
    {
        await using (var reset = SqliteDatabase.Command(connection, """
            UPDATE participants SET unread_count = $n, last_read_seq = MAX(last_read_seq, $seq), last_delivered_seq = MAX(last_delivered_seq, $seq)
            WHERE conversation_id = $c AND user_id = $u
            """, transaction))
        {
            var count = reset.Parameters.Add("$n", SqliteType.Integer);
            var sequence = reset.Parameters.Add("$seq", SqliteType.Integer);
            var conversation = reset.Parameters.Add("$c", SqliteType.Text);
            var user = reset.Parameters.Add("$u", SqliteType.Text);
            foreach (var e in effects.Where(e => e.Reset))
            {
                count.Value = e.Added;
                sequence.Value = e.ReadTo;
                conversation.Value = e.ConversationId.ToString();
                user.Value = e.UserId.ToString();
                await reset.ExecuteNonQueryAsync(cancellationToken);
            }
        }

        await using var add = SqliteDatabase.Command(connection, """
            UPDATE participants SET unread_count = unread_count + $n
            WHERE conversation_id = $c AND user_id IN (SELECT value FROM json_each($users))
            """, transaction);
        var added = add.Parameters.Add("$n", SqliteType.Integer);
        var group = add.Parameters.Add("$c", SqliteType.Text);
        var users = add.Parameters.Add("$users", SqliteType.Text);
        foreach (var g in effects.Where(e => !e.Reset && e.Added > 0).GroupBy(e => (e.ConversationId, e.Added)))
        {
            added.Value = g.Key.Added;
            group.Value = g.Key.ConversationId.ToString();
            users.Value = SqliteRows.GuidsJson(g.Select(e => e.UserId));
            await add.ExecuteNonQueryAsync(cancellationToken);
        }
    }
}
