using Microsoft.Data.Sqlite;
using Parley.Core.Messaging;
using Parley.Core.Persistence;
using Parley.Core.Ports;
using Parley.Sqlite.Internal;

namespace Parley.Sqlite;

/// <summary>
/// Messages in the embedded store. The persist batch loads what <see cref="PersistPlanner"/> needs, lets it decide, and
/// writes the plan and its events in the same write transaction; history reads are hand-tuned index walks.
/// </summary>
public sealed class SqliteMessageStore(SqliteDatabase db, TimeProvider? time = null) : IMessageStore
{
    private readonly TimeProvider _time = time ?? TimeProvider.System;

    public Task<IReadOnlyList<PersistResult>> PersistBatchAsync(IReadOnlyList<MessageEnvelope> batch, IReadOnlyList<PartitionFence> fences, CancellationToken cancellationToken) =>
        db.WriteAsync<IReadOnlyList<PersistResult>>(async (connection, transaction) =>
        {
            foreach (var fence in fences.OrderBy(f => f.Partition))
            {
                await CheckFenceAsync(connection, transaction, fence, cancellationToken);
            }

            var state = await SqlitePersistBatch.LoadStateAsync(connection, transaction, batch, cancellationToken);
            var plan = PersistPlanner.Plan(batch, state, _time.GetUtcNow());
            await SqlitePersistBatch.WriteAsync(connection, transaction, plan, cancellationToken);
            return plan.Results;
        }, cancellationToken);

    /// <summary>Records the batch's epoch as the partition's newest, or refuses the batch if a newer one was seen.</summary>
    private static async Task CheckFenceAsync(SqliteConnection connection, SqliteTransaction transaction, PartitionFence fence, CancellationToken cancellationToken)
    {
        await using var check = SqliteDatabase.Command(connection, """
            INSERT INTO partition_fences (partition, epoch) VALUES ($p, $e)
            ON CONFLICT (partition) DO UPDATE SET epoch = excluded.epoch WHERE partition_fences.epoch <= excluded.epoch
            """, transaction);
        check.Parameters.AddWithValue("$p", fence.Partition);
        check.Parameters.AddWithValue("$e", fence.Epoch);
        if (await check.ExecuteNonQueryAsync(cancellationToken) == 0)
        {
            throw new PartitionFencedException(fence.Partition, fence.Epoch);
        }
    }

    public Task<MessagePage> GetMessagesAsync(Guid conversationId, HistoryQuery query, CancellationToken cancellationToken) =>
        GetPageAsync("m.conversation_id", conversationId, query, cancellationToken);

    public Task<MessagePage> GetThreadAsync(Guid rootId, HistoryQuery query, CancellationToken cancellationToken) =>
        GetPageAsync("m.thread_root_id", rootId, query, cancellationToken);

    /// <summary>
    /// A page of the messages whose <paramref name="scope"/> column is <paramref name="id"/> (a conversation, or a thread's
    /// replies), walking the (scope, sequence) index; an around page reads both sides in one statement.
    /// </summary>
    /// <summary>The page queries by scope and direction, built once: composed per request they were kilobytes of garbage a page.</summary>
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<(string Scope, string Direction), string> PageSql = new();

    private static string PageQuery(string scope, string direction) => PageSql.GetOrAdd((scope, direction), static key =>
    {
        const string columns = $"{SqliteRows.MessageColumns}, {SqliteRows.ViewerColumn}";
        var filter = $"{key.Scope} = $c AND {SqliteRows.ViewerFilter}";
        return key.Direction == "AROUND"
            ? $"""
                SELECT * FROM (SELECT {columns} FROM messages m WHERE {filter} AND m.sequence < $around ORDER BY m.sequence DESC LIMIT $older)
                UNION ALL
                SELECT * FROM (SELECT {columns} FROM messages m WHERE {filter} AND m.sequence >= $around ORDER BY m.sequence ASC LIMIT $newer)
                """
            : $"""
                SELECT {columns} FROM messages m
                WHERE {filter} AND m.sequence > $after AND m.sequence < $before
                ORDER BY m.sequence {key.Direction} LIMIT $n
                """;
    });

    private Task<MessagePage> GetPageAsync(string scope, Guid id, HistoryQuery query, CancellationToken cancellationToken) =>
        db.ReadAsync(async connection =>
        {
            // Walking forward from 'after' is catch-up; otherwise the page ends just below 'before' (or at the newest).
            await using var command = SqliteDatabase.Command(connection, PageQuery(scope, query.Around is not null ? "AROUND" : query.After is not null ? "ASC" : "DESC"));
            command.Parameters.AddWithValue("$c", id.ToString());
            command.Parameters.AddWithValue("$viewer", SqliteRows.OrNull(query.Viewer?.ToString()));
            if (query.Around is { } around)
            {
                command.Parameters.AddWithValue("$around", around);
                command.Parameters.AddWithValue("$older", query.AroundOlder + 1);
                command.Parameters.AddWithValue("$newer", query.AroundNewer + 1);
            }
            else
            {
                command.Parameters.AddWithValue("$after", query.After ?? 0);
                command.Parameters.AddWithValue("$before", query.Before ?? long.MaxValue);
                command.Parameters.AddWithValue("$n", query.Limit + 1);
            }

            var items = new List<StoredMessage>(query.Around is not null ? query.AroundOlder + query.AroundNewer + 2 : query.Limit + 1);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                items.Add(SqliteRows.WithViewer(reader, SqliteRows.ReadMessage(reader, 0), SqliteRows.MessageColumnCount, query.Viewer is not null));
            }

            return query.Around is not null ? Paging.Around(items, query) : Paging.History(items, query);
        }, cancellationToken);

    public Task<IReadOnlyList<StoredChange>> GetChangesAsync(Guid conversationId, long afterChangeSequence, int limit, CancellationToken cancellationToken) =>
        db.ReadAsync<IReadOnlyList<StoredChange>>(async connection =>
        {
            await using var command = SqliteDatabase.Command(connection, $"""
                SELECT {SqliteRows.ChangeColumns}, {SqliteRows.MessageColumns} FROM message_changes c JOIN messages m ON m.id = c.message_id
                WHERE c.conversation_id = $c AND c.change_seq > $after ORDER BY c.change_seq LIMIT $n
                """);
            command.Parameters.AddWithValue("$c", conversationId.ToString());
            command.Parameters.AddWithValue("$after", afterChangeSequence);
            command.Parameters.AddWithValue("$n", limit);
            var changes = new List<StoredChange>();
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                changes.Add(SqliteRows.ReadChange(reader));
            }

            return changes;
        }, cancellationToken);

    public Task<IReadOnlyList<StoredMessage>> GetPinsAsync(Guid conversationId, int limit, CancellationToken cancellationToken) =>
        db.ReadAsync<IReadOnlyList<StoredMessage>>(async connection =>
        {
            await using var command = SqliteDatabase.Command(connection, $"""
                SELECT {SqliteRows.MessageColumns} FROM messages m
                WHERE m.conversation_id = $c AND m.pinned_at IS NOT NULL ORDER BY m.pinned_at DESC, m.sequence DESC LIMIT $n
                """);
            command.Parameters.AddWithValue("$c", conversationId.ToString());
            command.Parameters.AddWithValue("$n", limit);
            var pins = new List<StoredMessage>();
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                pins.Add(SqliteRows.ReadMessage(reader, 0));
            }

            return pins;
        }, cancellationToken);

    public Task<IReadOnlyList<MessageEditRecord>> GetEditsAsync(Guid messageId, CancellationToken cancellationToken) =>
        db.ReadAsync<IReadOnlyList<MessageEditRecord>>(async connection =>
        {
            await using var command = SqliteDatabase.Command(connection,
                "SELECT edit_no, previous_content, previous_hash, reason, editor_id, edited_at FROM message_edits WHERE message_id = $m ORDER BY edit_no");
            command.Parameters.AddWithValue("$m", messageId.ToString());
            var edits = new List<MessageEditRecord>();
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                edits.Add(new MessageEditRecord(messageId, reader.GetInt32(0), reader.GetString(1), reader.GetString(2), reader.IsDBNull(3) ? null : reader.GetString(3),
                    Guid.Parse(reader.GetString(4)), SqliteTime.FromMs(reader.GetInt64(5))));
            }

            return edits;
        }, cancellationToken);

    public Task<IReadOnlyList<ExpiringMessage>> GetExpiredAsync(DateTimeOffset now, int limit, CancellationToken cancellationToken) =>
        db.ReadAsync<IReadOnlyList<ExpiringMessage>>(async connection =>
        {
            await using var command = SqliteDatabase.Command(connection, """
                SELECT id, conversation_id, expires_at FROM messages
                WHERE expires_at IS NOT NULL AND deleted_at IS NULL AND expires_at <= $now ORDER BY expires_at LIMIT $n
                """);
            command.Parameters.AddWithValue("$now", SqliteTime.Ms(now));
            command.Parameters.AddWithValue("$n", limit);
            var due = new List<ExpiringMessage>();
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                due.Add(new ExpiringMessage(Guid.Parse(reader.GetString(0)), Guid.Parse(reader.GetString(1)), SqliteTime.FromMs(reader.GetInt64(2))));
            }

            return due;
        }, cancellationToken);

    public Task<IReadOnlyList<PollVote>> GetVotesAsync(Guid messageId, CancellationToken cancellationToken) =>
        db.ReadAsync<IReadOnlyList<PollVote>>(async connection =>
        {
            await using var command = SqliteDatabase.Command(connection,
                "SELECT user_id, option_id, voted_at FROM poll_votes WHERE message_id = $m ORDER BY option_id, voted_at, user_id");
            command.Parameters.AddWithValue("$m", messageId.ToString());
            var votes = new List<PollVote>();
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                votes.Add(new PollVote(Guid.Parse(reader.GetString(0)), reader.GetInt32(1), SqliteTime.FromMs(reader.GetInt64(2))));
            }

            return votes;
        }, cancellationToken);

    public Task<StoredMessage?> GetMessageAsync(Guid messageId, CancellationToken cancellationToken) =>
        QueryMessageAsync("m.id = $v", messageId.ToString(), cancellationToken);

    public Task<StoredMessage?> FindByIdempotencyKeyAsync(string idempotencyKey, CancellationToken cancellationToken) =>
        QueryMessageAsync("m.idempotency_key = $v", idempotencyKey, cancellationToken);

    private Task<StoredMessage?> QueryMessageAsync(string where, string value, CancellationToken cancellationToken) =>
        db.ReadAsync(async connection =>
        {
            await using var command = SqliteDatabase.Command(connection, $"SELECT {SqliteRows.MessageColumns} FROM messages m WHERE {where}");
            command.Parameters.AddWithValue("$v", value);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            return await reader.ReadAsync(cancellationToken) ? SqliteRows.ReadMessage(reader, 0) : null;
        }, cancellationToken);

    public Task<IReadOnlyDictionary<string, Guid>> FindIdsByIdempotencyKeysAsync(IReadOnlyCollection<string> idempotencyKeys, CancellationToken cancellationToken) =>
        idempotencyKeys.Count == 0
            ? Task.FromResult<IReadOnlyDictionary<string, Guid>>(new Dictionary<string, Guid>(StringComparer.Ordinal))
            : db.ReadAsync<IReadOnlyDictionary<string, Guid>>(async connection =>
            {
                await using var command = SqliteDatabase.Command(connection,
                    "SELECT idempotency_key, id FROM messages WHERE idempotency_key IN (SELECT value FROM json_each($keys))");
                command.Parameters.AddWithValue("$keys", SqliteRows.StringsJson(idempotencyKeys));
                var found = new Dictionary<string, Guid>(StringComparer.Ordinal);
                await using var reader = await command.ExecuteReaderAsync(cancellationToken);
                while (await reader.ReadAsync(cancellationToken))
                {
                    found[reader.GetString(0)] = Guid.Parse(reader.GetString(1));
                }

                return found;
            }, cancellationToken);

    public Task<MessageStatusRecord?> GetMessageStatusAsync(Guid messageId, CancellationToken cancellationToken) =>
        QueryMessageStatusAsync("m.id = $id", messageId.ToString(), cancellationToken);

    public Task<MessageStatusRecord?> GetMessageStatusByIdempotencyKeyAsync(string idempotencyKey, CancellationToken cancellationToken) =>
        QueryMessageStatusAsync("m.idempotency_key = $id", idempotencyKey, cancellationToken);

    private Task<MessageStatusRecord?> QueryMessageStatusAsync(string where, string value, CancellationToken cancellationToken) =>
        db.ReadAsync(async connection =>
        {
            await using var command = SqliteDatabase.Command(connection, $"""
                SELECT {SqliteRows.MessageColumns},
                    (SELECT COUNT(*) FROM participants p WHERE p.conversation_id = m.conversation_id AND p.user_id <> m.sender_id),
                    (SELECT COUNT(*) FROM participants p WHERE p.conversation_id = m.conversation_id AND p.user_id <> m.sender_id AND p.last_delivered_seq >= m.sequence),
                    (SELECT COUNT(*) FROM participants p WHERE p.conversation_id = m.conversation_id AND p.user_id <> m.sender_id AND p.last_read_seq >= m.sequence)
                FROM messages m WHERE {where}
                """);
            command.Parameters.AddWithValue("$id", value);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            const int counts = SqliteRows.MessageColumnCount;
            return await reader.ReadAsync(cancellationToken)
                ? new MessageStatusRecord(SqliteRows.ReadMessage(reader, 0), reader.GetInt32(counts), reader.GetInt32(counts + 1), reader.GetInt32(counts + 2))
                : null;
        }, cancellationToken);
}
