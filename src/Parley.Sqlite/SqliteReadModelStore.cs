using Microsoft.Data.Sqlite;
using Parley.Core.Events;
using Parley.Core.Persistence;
using Parley.Core.Ports;
using Parley.Sqlite.Internal;

namespace Parley.Sqlite;

/// <summary>
/// The read models in the embedded store. A rebuild runs under the write gate in one IMMEDIATE transaction: every writer
/// of this process waits for it, and another process's writes wait on SQLite's lock (up to its busy timeout), so the
/// events it folds are all there are until it commits.
/// </summary>
public sealed class SqliteReadModelStore(SqliteDatabase db) : IReadModelStore
{
    public Task<ReadModelSet> ReadAsync(CancellationToken cancellationToken) =>
        db.ReadAsync(connection => ReadAsync(connection, null, cancellationToken), cancellationToken);

    public Task<ReadModelReport> RebuildAsync(bool apply, CancellationToken cancellationToken) =>
        db.WriteAsync(async (connection, transaction) =>
        {
            var projection = new ReadModelProjection();
            await using (var events = SqliteDatabase.Command(connection,
                "SELECT position, id, type, occurred_at, data FROM domain_events WHERE type IN (SELECT value FROM json_each($types)) ORDER BY position", transaction))
            {
                events.Parameters.AddWithValue("$types", System.Text.Json.JsonSerializer.Serialize(ReadModelProjection.EventTypes.ToArray(), SqliteJsonContext.Default.StringArray));
                await using var reader = await events.ExecuteReaderAsync(cancellationToken);
                while (await reader.ReadAsync(cancellationToken))
                {
                    projection.Apply(new DomainEvent(Guid.Parse(reader.GetString(1)), "", "", reader.GetString(2), ChangeEvents.Version, Guid.Empty, null, null,
                        SqliteTime.FromMs(reader.GetInt64(3)), reader.GetString(4), null) { Cursor = new EventCursor(0, reader.GetInt64(0)) });
                }
            }

            var report = ReadModelComparison.Compare(await ReadAsync(connection, transaction, cancellationToken), projection, apply);
            if (apply)
            {
                await WriteAsync(connection, transaction, report.Changes, cancellationToken);
            }

            return report;
        }, cancellationToken);

    public Task ReplaceAsync(ReadModelSet values, CancellationToken cancellationToken) =>
        db.WriteAsync(async (connection, transaction) =>
        {
            await WriteAsync(connection, transaction, values, cancellationToken);
            return true;
        }, cancellationToken);

    private static async Task<ReadModelSet> ReadAsync(SqliteConnection connection, SqliteTransaction? transaction, CancellationToken cancellationToken)
    {
        var conversations = new Dictionary<Guid, ConversationReadModel>();
        var members = new Dictionary<(Guid, Guid), MemberReadModel>();
        var messages = new Dictionary<Guid, MessageReadModel>();
        await using var command = SqliteDatabase.Command(connection, """
            SELECT id, last_activity_at, last_message_id FROM conversations;
            SELECT conversation_id, user_id, unread_count, unread_mentions FROM participants;
            SELECT id, reply_count, reactions FROM messages WHERE reply_count <> 0 OR reactions IS NOT NULL;
            """, transaction);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            conversations[Guid.Parse(reader.GetString(0))] = new ConversationReadModel(SqliteTime.FromMs(reader.GetInt64(1)), reader.IsDBNull(2) ? null : Guid.Parse(reader.GetString(2)));
        }

        await reader.NextResultAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            members[(Guid.Parse(reader.GetString(0)), Guid.Parse(reader.GetString(1)))] = new MemberReadModel(reader.GetInt64(2), reader.GetInt64(3));
        }

        await reader.NextResultAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            messages[Guid.Parse(reader.GetString(0))] = new MessageReadModel(reader.GetInt32(1), reader.IsDBNull(2) ? null : reader.GetString(2));
        }

        return new ReadModelSet(conversations, members, messages);
    }

    private static async Task WriteAsync(SqliteConnection connection, SqliteTransaction transaction, ReadModelSet values, CancellationToken cancellationToken)
    {
        await using (var command = SqliteDatabase.Command(connection, "UPDATE conversations SET last_activity_at = $at, last_message_id = $m WHERE id = $id", transaction))
        {
            var (at, m, id) = (command.Parameters.Add("$at", SqliteType.Integer), command.Parameters.Add("$m", SqliteType.Text), command.Parameters.Add("$id", SqliteType.Text));
            foreach (var (key, value) in values.Conversations)
            {
                (at.Value, m.Value, id.Value) = (SqliteTime.Ms(value.LastActivityAt), (object?)value.LastMessageId?.ToString() ?? DBNull.Value, key.ToString());
                await command.ExecuteNonQueryAsync(cancellationToken);
            }
        }

        await using (var command = SqliteDatabase.Command(connection,
            "UPDATE participants SET unread_count = $n, unread_mentions = $mentions WHERE conversation_id = $c AND user_id = $u", transaction))
        {
            var (n, mentions, c, u) = (command.Parameters.Add("$n", SqliteType.Integer), command.Parameters.Add("$mentions", SqliteType.Integer),
                command.Parameters.Add("$c", SqliteType.Text), command.Parameters.Add("$u", SqliteType.Text));
            foreach (var (key, value) in values.Members)
            {
                (n.Value, mentions.Value, c.Value, u.Value) = (value.UnreadCount, value.UnreadMentions, key.ConversationId.ToString(), key.UserId.ToString());
                await command.ExecuteNonQueryAsync(cancellationToken);
            }
        }

        await using (var command = SqliteDatabase.Command(connection, "UPDATE messages SET reply_count = $n, reactions = $r WHERE id = $id", transaction))
        {
            var (n, r, id) = (command.Parameters.Add("$n", SqliteType.Integer), command.Parameters.Add("$r", SqliteType.Text), command.Parameters.Add("$id", SqliteType.Text));
            foreach (var (key, value) in values.Messages)
            {
                (n.Value, r.Value, id.Value) = (value.ReplyCount, SqliteRows.OrNull(value.Reactions), key.ToString());
                await command.ExecuteNonQueryAsync(cancellationToken);
            }
        }
    }
}
