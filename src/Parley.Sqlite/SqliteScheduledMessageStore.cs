using Microsoft.Data.Sqlite;
using Parley.Core.Events;
using Parley.Core.Persistence;
using Parley.Core.Ports;
using Parley.Sqlite.Internal;

namespace Parley.Sqlite;

/// <summary>Scheduled sends in the embedded store: each write and its domain event in one transaction under the write gate.</summary>
public sealed class SqliteScheduledMessageStore(SqliteDatabase db) : IScheduledMessageStore
{
    private const string Columns = """
        id, conversation_id, sender_id, send_at, client_message_id, request, created_at, status, message_id, failure_reason, finished_at, claimed_by
        """;

    /// <summary>Due at <c>$now</c> and not held by a live claim.</summary>
    private const string DueCondition = "status = 'scheduled' AND send_at <= $now AND (claimed_until IS NULL OR claimed_until < $now)";

    public Task<(ScheduledMessage Scheduled, bool Created)> ScheduleAsync(ScheduledMessage message, EventContext context, CancellationToken cancellationToken) =>
        db.WriteAsync(async (connection, transaction) =>
        {
            message = message with { SendAt = StoreTime.Truncate(message.SendAt), CreatedAt = StoreTime.Truncate(message.CreatedAt), Status = ScheduledStatuses.Scheduled };
            await using (var insert = SqliteDatabase.Command(connection, """
                INSERT INTO scheduled_messages (id, conversation_id, sender_id, send_at, client_message_id, request, status, created_at)
                VALUES ($id, $c, $s, $at, $cmid, $request, 'scheduled', $created)
                ON CONFLICT DO NOTHING
                """, transaction))
            {
                insert.Parameters.AddWithValue("$id", message.Id.ToString());
                insert.Parameters.AddWithValue("$c", message.ConversationId.ToString());
                insert.Parameters.AddWithValue("$s", message.SenderId.ToString());
                insert.Parameters.AddWithValue("$at", SqliteTime.Ms(message.SendAt));
                insert.Parameters.AddWithValue("$cmid", (object?)message.ClientMessageId ?? DBNull.Value);
                insert.Parameters.AddWithValue("$request", message.Request);
                insert.Parameters.AddWithValue("$created", SqliteTime.Ms(message.CreatedAt));
                if (await insert.ExecuteNonQueryAsync(cancellationToken) == 1)
                {
                    await SqliteOutbox.AppendAsync(connection, transaction, ChangeEvents.MessageScheduled(message, context), cancellationToken);
                    return (message, true);
                }
            }

            var existing = await QueryAsync(connection, transaction,
                $"SELECT {Columns} FROM scheduled_messages WHERE sender_id = $s AND conversation_id = $c AND client_message_id = $cmid",
                p =>
                {
                    p.AddWithValue("$s", message.SenderId.ToString());
                    p.AddWithValue("$c", message.ConversationId.ToString());
                    p.AddWithValue("$cmid", (object?)message.ClientMessageId ?? DBNull.Value);
                }, cancellationToken);
            return existing is [var found] ? (found, false) : throw new InvalidOperationException($"Scheduled message {message.Id} was neither stored nor found.");
        }, cancellationToken);

    public Task<ScheduledMessage?> GetAsync(Guid id, CancellationToken cancellationToken) =>
        db.ReadAsync(async connection => (await QueryAsync(connection, null, $"SELECT {Columns} FROM scheduled_messages WHERE id = $id",
            p => p.AddWithValue("$id", id.ToString()), cancellationToken)).SingleOrDefault(), cancellationToken);

    public Task<ScheduledPage> ListPendingAsync(Guid senderId, Guid conversationId, ConversationCursor? after, int limit, CancellationToken cancellationToken) =>
        db.ReadAsync(async connection =>
        {
            var items = await QueryAsync(connection, null, $"""
                SELECT {Columns} FROM scheduled_messages
                WHERE sender_id = $s AND conversation_id = $c AND status = 'scheduled'
                  AND ($cursorAt IS NULL OR send_at > $cursorAt OR (send_at = $cursorAt AND id > $cursorId))
                ORDER BY send_at, id
                LIMIT $n
                """, p =>
                {
                    p.AddWithValue("$s", senderId.ToString());
                    p.AddWithValue("$c", conversationId.ToString());
                    p.AddWithValue("$cursorAt", after is null ? DBNull.Value : SqliteTime.Ms(after.LastActivityAt));
                    p.AddWithValue("$cursorId", after is null ? DBNull.Value : after.Id.ToString());
                    p.AddWithValue("$n", limit + 1);
                }, cancellationToken);
            var hasMore = Paging.TrimProbe(items, limit);
            return new ScheduledPage(items, hasMore ? new ConversationCursor(items[^1].SendAt, items[^1].Id) : null);
        }, cancellationToken);

    public Task<ScheduledCancelOutcome> CancelAsync(Guid id, Guid senderId, DateTimeOffset now, EventContext context, CancellationToken cancellationToken) =>
        db.WriteAsync(async (connection, transaction) =>
        {
            var rows = await QueryAsync(connection, transaction, $"SELECT {Columns} FROM scheduled_messages WHERE id = $id AND sender_id = $s",
                p =>
                {
                    p.AddWithValue("$id", id.ToString());
                    p.AddWithValue("$s", senderId.ToString());
                }, cancellationToken);
            if (rows is not [var row])
            {
                return ScheduledCancelOutcome.NotFound;
            }

            var outcome = ScheduledCancelRules.Outcome(row);
            if (outcome != ScheduledCancelOutcome.Cancelled)
            {
                return outcome;
            }

            await FinishAsync(connection, transaction, id, ScheduledStatuses.Cancelled, null, null, now, cancellationToken);
            await SqliteOutbox.AppendAsync(connection, transaction, ChangeEvents.ScheduleCancelled(row, now, context), cancellationToken);
            return outcome;
        }, cancellationToken);

    /// <summary>
    /// Every node polls this about once a second, nearly always for nothing: a read (on the partial index of due rows)
    /// answers that without taking the write gate the persist batches queue on.
    /// </summary>
    public async Task<IReadOnlyList<ScheduledMessage>> ClaimDueAsync(DateTimeOffset now, string claimant, DateTimeOffset claimUntil, int limit, CancellationToken cancellationToken)
    {
        return await db.AnyDueAsync("scheduled_messages", DueCondition, now, cancellationToken) ? await ClaimAsync(now, claimant, claimUntil, limit, cancellationToken) : [];
    }

    private Task<IReadOnlyList<ScheduledMessage>> ClaimAsync(DateTimeOffset now, string claimant, DateTimeOffset claimUntil, int limit, CancellationToken cancellationToken) =>
        db.WriteAsync<IReadOnlyList<ScheduledMessage>>(async (connection, transaction) =>
        {
            var claimed = await QueryAsync(connection, transaction, $"""
                UPDATE scheduled_messages SET claimed_by = $me, claimed_until = $until
                WHERE id IN (SELECT id FROM scheduled_messages WHERE {DueCondition} ORDER BY send_at, id LIMIT $n)
                RETURNING {Columns}
                """, p =>
                {
                    p.AddWithValue("$me", claimant);
                    p.AddWithValue("$until", SqliteTime.Ms(claimUntil));
                    p.AddWithValue("$now", SqliteTime.Ms(now));
                    p.AddWithValue("$n", limit);
                }, cancellationToken);
            return [.. claimed.OrderBy(s => s.SendAt).ThenBy(s => s.Id)];
        }, cancellationToken);

    public Task<bool> MarkSentAsync(Guid id, Guid messageId, DateTimeOffset now, EventContext context, CancellationToken cancellationToken) =>
        FinishScheduledAsync(id, ScheduledStatuses.Sent, messageId, null, now, row => ChangeEvents.ScheduleSent(row, messageId, now, context), cancellationToken);

    public Task<bool> MarkFailedAsync(Guid id, string reason, DateTimeOffset now, EventContext context, CancellationToken cancellationToken) =>
        FinishScheduledAsync(id, ScheduledStatuses.Failed, null, reason, now, row => ChangeEvents.ScheduleFailed(row, reason, now, context), cancellationToken);

    private Task<bool> FinishScheduledAsync(Guid id, string status, Guid? messageId, string? reason, DateTimeOffset now, Func<ScheduledMessage, DomainEvent> domainEvent,
        CancellationToken cancellationToken) =>
        db.WriteAsync(async (connection, transaction) =>
        {
            var rows = await QueryAsync(connection, transaction, $"SELECT {Columns} FROM scheduled_messages WHERE id = $id AND status = 'scheduled'",
                p => p.AddWithValue("$id", id.ToString()), cancellationToken);
            if (rows is not [var row])
            {
                return false;
            }

            await FinishAsync(connection, transaction, id, status, messageId, reason, now, cancellationToken);
            await SqliteOutbox.AppendAsync(connection, transaction, domainEvent(row), cancellationToken);
            return true;
        }, cancellationToken);

    private static async Task FinishAsync(SqliteConnection connection, SqliteTransaction transaction, Guid id, string status, Guid? messageId, string? reason,
        DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var update = SqliteDatabase.Command(connection, """
            UPDATE scheduled_messages SET status = $status, message_id = $m, failure_reason = $reason, finished_at = $at, claimed_until = NULL
            WHERE id = $id
            """, transaction);
        update.Parameters.AddWithValue("$id", id.ToString());
        update.Parameters.AddWithValue("$status", status);
        update.Parameters.AddWithValue("$m", messageId is { } m ? m.ToString() : DBNull.Value);
        update.Parameters.AddWithValue("$reason", (object?)reason ?? DBNull.Value);
        update.Parameters.AddWithValue("$at", SqliteTime.Ms(StoreTime.Truncate(now)));
        await update.ExecuteNonQueryAsync(cancellationToken);
    }

    private static async Task<List<ScheduledMessage>> QueryAsync(SqliteConnection connection, SqliteTransaction? transaction, string sql,
        Action<SqliteParameterCollection> parameters, CancellationToken cancellationToken)
    {
        await using var command = SqliteDatabase.Command(connection, sql, transaction);
        parameters(command.Parameters);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var rows = new List<ScheduledMessage>();
        while (await reader.ReadAsync(cancellationToken))
        {
            rows.Add(new ScheduledMessage(
                Guid.Parse(reader.GetString(0)), Guid.Parse(reader.GetString(1)), Guid.Parse(reader.GetString(2)), SqliteTime.FromMs(reader.GetInt64(3)),
                reader.IsDBNull(4) ? null : reader.GetString(4), reader.GetString(5), SqliteTime.FromMs(reader.GetInt64(6)))
            {
                Status = reader.GetString(7),
                MessageId = reader.IsDBNull(8) ? null : Guid.Parse(reader.GetString(8)),
                FailureReason = reader.IsDBNull(9) ? null : reader.GetString(9),
                FinishedAt = reader.IsDBNull(10) ? null : SqliteTime.FromMs(reader.GetInt64(10)),
                Claimed = !reader.IsDBNull(11),
            });
        }

        return rows;
    }
}
