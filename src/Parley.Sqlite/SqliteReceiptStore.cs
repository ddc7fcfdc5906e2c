using Microsoft.Data.Sqlite;
using Parley.Core.Events;
using Parley.Core.Messaging;
using Parley.Core.Persistence;
using Parley.Core.Ports;
using Parley.Sqlite.Internal;

namespace Parley.Sqlite;

/// <summary>Receipt watermarks in the embedded store: load, let <see cref="ReceiptPlanner"/> decide, write, all under the write gate.</summary>
public sealed class SqliteReceiptStore(SqliteDatabase db, TimeProvider? time = null) : IReceiptStore
{
    private readonly TimeProvider _time = time ?? TimeProvider.System;

    public Task<ReceiptUpdate?> AdvanceReceiptAsync(Guid conversationId, Guid userId, ReceiptKind kind, long upToSequence, EventContext context, CancellationToken cancellationToken) =>
        db.WriteAsync<ReceiptUpdate?>(async (connection, transaction) =>
        {
            var conversation = conversationId.ToString();
            var user = userId.ToString();
            if (await LoadAsync(connection, transaction, conversation, user, cancellationToken) is not { } state)
            {
                return null;
            }

            var decision = ReceiptPlanner.Decide(state, kind, upToSequence);
            if (!decision.Advanced)
            {
                return ReceiptPlanner.Unchanged(conversationId, userId, kind, state);
            }

            await using var update = SqliteDatabase.Command(connection, decision.RecountUnread
                ? """
                  UPDATE participants SET last_delivered_seq = $d, last_read_seq = $r,
                      (unread_count, unread_mentions) = (SELECT COUNT(*), COALESCE(SUM(m.mentions IS NOT NULL AND EXISTS (SELECT 1 FROM json_each(m.mentions) WHERE value = $u)), 0)
                          FROM messages m WHERE m.conversation_id = $c AND m.sequence > $r AND m.sender_id <> $u AND m.deleted_at IS NULL
                          AND NOT EXISTS (SELECT 1 FROM hidden_messages h WHERE h.user_id = $u AND h.message_id = m.id))
                  WHERE conversation_id = $c AND user_id = $u
                  RETURNING unread_count
                  """
                : """
                  UPDATE participants SET last_delivered_seq = $d, last_read_seq = $r
                  WHERE conversation_id = $c AND user_id = $u
                  RETURNING unread_count
                  """, transaction);
            update.Parameters.AddWithValue("$d", decision.Watermarks.Delivered);
            update.Parameters.AddWithValue("$r", decision.Watermarks.Read);
            update.Parameters.AddWithValue("$c", conversation);
            update.Parameters.AddWithValue("$u", user);
            var unread = (long)(await update.ExecuteScalarAsync(cancellationToken))!;

            var (result, domainEvent) = ReceiptPlanner.Advanced(conversationId, userId, kind, decision, unread, _time.GetUtcNow(), context);
            await SqliteOutbox.AppendAsync(connection, transaction, domainEvent, cancellationToken);
            return result;
        }, cancellationToken);

    private static async Task<ReceiptState?> LoadAsync(SqliteConnection connection, SqliteTransaction transaction, string conversation, string user, CancellationToken cancellationToken)
    {
        await using var select = SqliteDatabase.Command(connection, """
            SELECT c.last_sequence, p.last_delivered_seq, p.last_read_seq, p.unread_count
            FROM participants p JOIN conversations c ON c.id = p.conversation_id
            WHERE p.conversation_id = $c AND p.user_id = $u
            """, transaction);
        select.Parameters.AddWithValue("$c", conversation);
        select.Parameters.AddWithValue("$u", user);
        await using var reader = await select.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken)
            ? new ReceiptState(new ReceiptWatermarks(reader.GetInt64(1), reader.GetInt64(2)), reader.GetInt64(3), reader.GetInt64(0))
            : null;
    }
}
