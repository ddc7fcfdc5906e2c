using Npgsql;
using Parley.Core.Events;
using Parley.Core.Messaging;
using Parley.Core.Persistence;
using Parley.Core.Ports;
using Parley.Postgres.Internal;

namespace Parley.Postgres;

/// <summary>Receipt watermarks on PostgreSQL: the member's row locked, <see cref="ReceiptPlanner"/> decides, one transaction.</summary>
public sealed class PostgresReceiptStore(NpgsqlDataSource dataSource, TimeProvider? time = null) : IReceiptStore
{
    private readonly TimeProvider _time = time ?? TimeProvider.System;

    public async Task<ReceiptUpdate?> AdvanceReceiptAsync(Guid conversationId, Guid userId, ReceiptKind kind, long upToSequence, EventContext context, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        ReceiptState state;
        await using (var select = new NpgsqlCommand("""
            SELECT c.last_sequence, p.last_delivered_seq, p.last_read_seq, p.unread_count
            FROM participants p JOIN conversations c ON c.id = p.conversation_id
            WHERE p.conversation_id = $1 AND p.user_id = $2
            FOR UPDATE OF p
            """, connection, transaction))
        {
            select.Parameters.Add(new() { Value = conversationId });
            select.Parameters.Add(new() { Value = userId });
            await using var reader = await select.ExecuteReaderAsync(cancellationToken);
            if (!await reader.ReadAsync(cancellationToken))
            {
                return null;
            }

            state = new ReceiptState(new ReceiptWatermarks(reader.GetInt64(1), reader.GetInt64(2)), reader.GetInt64(3), reader.GetInt64(0));
        }

        var decision = ReceiptPlanner.Decide(state, kind, upToSequence);
        if (!decision.Advanced)
        {
            await transaction.CommitAsync(cancellationToken);
            return ReceiptPlanner.Unchanged(conversationId, userId, kind, state);
        }

        await using var update = new NpgsqlCommand($"""
            UPDATE participants SET last_delivered_seq = $3, last_read_seq = $4{(decision.RecountUnread
                ? ", (unread_count, unread_mentions) = (SELECT COUNT(*), COUNT(*) FILTER (WHERE m.mentions IS NOT NULL AND m.mentions::jsonb ? $2::text)" +
                  " FROM messages m WHERE m.conversation_id = $1 AND m.sequence > $4 AND m.sender_id <> $2 AND m.deleted_at IS NULL" +
                  " AND NOT EXISTS (SELECT 1 FROM hidden_messages h WHERE h.user_id = $2 AND h.message_id = m.id))"
                : "")}
            WHERE conversation_id = $1 AND user_id = $2
            RETURNING unread_count
            """, connection, transaction);
        update.Parameters.Add(new() { Value = conversationId });
        update.Parameters.Add(new() { Value = userId });
        update.Parameters.Add(new() { Value = decision.Watermarks.Delivered });
        update.Parameters.Add(new() { Value = decision.Watermarks.Read });
        var unread = (long)(await update.ExecuteScalarAsync(cancellationToken))!;
        var (result, domainEvent) = ReceiptPlanner.Advanced(conversationId, userId, kind, decision, unread, _time.GetUtcNow(), context);
        await PostgresOutbox.AppendAsync(connection, transaction, domainEvent, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return result;
    }
}
