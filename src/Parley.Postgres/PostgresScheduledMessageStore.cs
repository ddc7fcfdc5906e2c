using Npgsql;
using NpgsqlTypes;
using Parley.Core.Events;
using Parley.Core.Persistence;
using Parley.Core.Ports;
using Parley.Postgres.Internal;
using static Parley.Postgres.Internal.PostgresRows;

namespace Parley.Postgres;

/// <summary>
/// Scheduled sends on PostgreSQL: each write and its domain event in one transaction. Claims take due rows with
/// <c>FOR UPDATE SKIP LOCKED</c>, so nodes claiming at once split the due rows instead of waiting on each other.
/// </summary>
public sealed class PostgresScheduledMessageStore(NpgsqlDataSource dataSource) : IScheduledMessageStore
{
    private const string Columns = """
        id, conversation_id, sender_id, send_at, client_message_id, request, created_at, status, message_id, failure_reason, finished_at, claimed_by
        """;

    public async Task<(ScheduledMessage Scheduled, bool Created)> ScheduleAsync(ScheduledMessage message, EventContext context, CancellationToken cancellationToken)
    {
        message = message with { SendAt = StoreTime.Truncate(message.SendAt), CreatedAt = StoreTime.Truncate(message.CreatedAt), Status = ScheduledStatuses.Scheduled };
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using var insert = new NpgsqlCommand("""
            INSERT INTO scheduled_messages (id, conversation_id, sender_id, send_at, client_message_id, request, status, created_at)
            VALUES ($1, $2, $3, $4, $5, $6, 'scheduled', $7)
            ON CONFLICT DO NOTHING
            """, connection, transaction);
        insert.Parameters.Add(new() { Value = message.Id });
        insert.Parameters.Add(new() { Value = message.ConversationId });
        insert.Parameters.Add(new() { Value = message.SenderId });
        insert.Parameters.Add(new() { Value = message.SendAt });
        insert.Parameters.Add(new() { Value = (object?)message.ClientMessageId ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
        insert.Parameters.Add(new() { Value = message.Request });
        insert.Parameters.Add(new() { Value = message.CreatedAt });
        if (await insert.ExecuteNonQueryAsync(cancellationToken) == 1)
        {
            await PostgresOutbox.AppendAsync(connection, transaction, ChangeEvents.MessageScheduled(message, context), cancellationToken);
            await transaction.CommitAsync(cancellationToken);
            return (message, true);
        }

        // A statement of its own: it sees the first row even when a concurrent schedule committed it just now.
        var existing = await QueryAsync(connection, transaction,
            $"SELECT {Columns} FROM scheduled_messages WHERE sender_id = $1 AND conversation_id = $2 AND client_message_id = $3",
            [message.SenderId, message.ConversationId, message.ClientMessageId], cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return existing is [var found] ? (found, false) : throw new InvalidOperationException($"Scheduled message {message.Id} was neither stored nor found.");
    }

    public async Task<ScheduledMessage?> GetAsync(Guid id, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return (await QueryAsync(connection, null, $"SELECT {Columns} FROM scheduled_messages WHERE id = $1", [id], cancellationToken)).SingleOrDefault();
    }

    public async Task<ScheduledPage> ListPendingAsync(Guid senderId, Guid conversationId, ConversationCursor? after, int limit, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var items = await QueryAsync(connection, null, $"""
            SELECT {Columns} FROM scheduled_messages
            WHERE sender_id = $1 AND conversation_id = $2 AND status = 'scheduled' AND ($3::timestamptz IS NULL OR (send_at, id) > ($3::timestamptz, $4))
            ORDER BY send_at, id
            LIMIT $5
            """, [senderId, conversationId, after is null ? null : StoreTime.Truncate(after.LastActivityAt), after?.Id ?? Guid.Empty, limit + 1], cancellationToken);
        var hasMore = Paging.TrimProbe(items, limit);
        return new ScheduledPage(items, hasMore ? new ConversationCursor(items[^1].SendAt, items[^1].Id) : null);
    }

    public async Task<ScheduledCancelOutcome> CancelAsync(Guid id, Guid senderId, DateTimeOffset now, EventContext context, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        // FOR UPDATE: a claim running now either took the row first (and the cancel then sees it claimed) or skips it.
        var rows = await QueryAsync(connection, transaction, $"SELECT {Columns} FROM scheduled_messages WHERE id = $1 AND sender_id = $2 FOR UPDATE",
            [id, senderId], cancellationToken);
        if (rows is not [var row])
        {
            return ScheduledCancelOutcome.NotFound;
        }

        var outcome = ScheduledCancelRules.Outcome(row);
        if (outcome == ScheduledCancelOutcome.Cancelled)
        {
            await FinishAsync(connection, transaction, id, ScheduledStatuses.Cancelled, null, null, now, cancellationToken);
            await PostgresOutbox.AppendAsync(connection, transaction, ChangeEvents.ScheduleCancelled(row, now, context), cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
        return outcome;
    }

    public async Task<IReadOnlyList<ScheduledMessage>> ClaimDueAsync(DateTimeOffset now, string claimant, DateTimeOffset claimUntil, int limit, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var claimed = await QueryAsync(connection, null, $"""
            WITH due AS (
                SELECT id FROM scheduled_messages
                WHERE status = 'scheduled' AND send_at <= $1 AND (claimed_until IS NULL OR claimed_until < $1)
                ORDER BY send_at, id
                LIMIT $4
                FOR UPDATE SKIP LOCKED)
            UPDATE scheduled_messages s SET claimed_by = $2, claimed_until = $3
            FROM due WHERE s.id = due.id
            RETURNING {string.Join(", ", Columns.Split(", ").Select(c => "s." + c.Trim()))}
            """, [now, claimant, claimUntil, limit], cancellationToken);
        return [.. claimed.OrderBy(s => s.SendAt).ThenBy(s => s.Id)];
    }

    public Task<bool> MarkSentAsync(Guid id, Guid messageId, DateTimeOffset now, EventContext context, CancellationToken cancellationToken) =>
        FinishScheduledAsync(id, ScheduledStatuses.Sent, messageId, null, now, row => ChangeEvents.ScheduleSent(row, messageId, now, context), cancellationToken);

    public Task<bool> MarkFailedAsync(Guid id, string reason, DateTimeOffset now, EventContext context, CancellationToken cancellationToken) =>
        FinishScheduledAsync(id, ScheduledStatuses.Failed, null, reason, now, row => ChangeEvents.ScheduleFailed(row, reason, now, context), cancellationToken);

    private async Task<bool> FinishScheduledAsync(Guid id, string status, Guid? messageId, string? reason, DateTimeOffset now, Func<ScheduledMessage, DomainEvent> domainEvent,
        CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var rows = await QueryAsync(connection, transaction, $"SELECT {Columns} FROM scheduled_messages WHERE id = $1 AND status = 'scheduled' FOR UPDATE",
            [id], cancellationToken);
        if (rows is not [var row])
        {
            return false;
        }

        await FinishAsync(connection, transaction, id, status, messageId, reason, now, cancellationToken);
        await PostgresOutbox.AppendAsync(connection, transaction, domainEvent(row), cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return true;
    }

    private static async Task FinishAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, Guid id, string status, Guid? messageId, string? reason,
        DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var update = new NpgsqlCommand("""
            UPDATE scheduled_messages SET status = $2, message_id = $3, failure_reason = $4, finished_at = $5, claimed_until = NULL WHERE id = $1
            """, connection, transaction);
        update.Parameters.Add(new() { Value = id });
        update.Parameters.Add(new() { Value = status });
        update.Parameters.Add(new() { Value = (object?)messageId ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Uuid });
        update.Parameters.Add(new() { Value = (object?)reason ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
        update.Parameters.Add(new() { Value = StoreTime.Truncate(now) });
        await update.ExecuteNonQueryAsync(cancellationToken);
    }

    private static async Task<List<ScheduledMessage>> QueryAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, string sql, object?[] values,
        CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(sql, connection, transaction);
        foreach (var value in values)
        {
            command.Parameters.Add(value switch
            {
                null => new NpgsqlParameter { Value = DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text },
                _ => new NpgsqlParameter { Value = value },
            });
        }

        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var rows = new List<ScheduledMessage>();
        while (await reader.ReadAsync(cancellationToken))
        {
            rows.Add(new ScheduledMessage(
                reader.GetGuid(0), reader.GetGuid(1), reader.GetGuid(2), Utc(reader.GetDateTime(3)),
                reader.IsDBNull(4) ? null : reader.GetString(4), reader.GetString(5), Utc(reader.GetDateTime(6)))
            {
                Status = reader.GetString(7),
                MessageId = reader.IsDBNull(8) ? null : reader.GetGuid(8),
                FailureReason = reader.IsDBNull(9) ? null : reader.GetString(9),
                FinishedAt = reader.IsDBNull(10) ? null : Utc(reader.GetDateTime(10)),
                Claimed = !reader.IsDBNull(11),
            });
        }

        return rows;
    }
}
