using Npgsql;
using NpgsqlTypes;
using Parley.Core.Events;
using Parley.Core.Persistence;
using Parley.Core.Ports;
using Parley.Postgres.Internal;
using static Parley.Postgres.Internal.PostgresRows;

namespace Parley.Postgres;

/// <summary>Bookmarks and drafts on PostgreSQL: each write and its domain event in one transaction.</summary>
public sealed class PostgresPersonalStore(NpgsqlDataSource dataSource) : IPersonalStore
{
    public async Task<(BookmarkRecord Bookmark, bool Created)> AddBookmarkAsync(Guid userId, StoredMessage message, DateTimeOffset now, EventContext context, CancellationToken cancellationToken)
    {
        var bookmark = new BookmarkRecord(userId, message.Id, message.ConversationId, StoreTime.Truncate(now));
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using var insert = new NpgsqlCommand(
            "INSERT INTO bookmarks (user_id, message_id, conversation_id, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING", connection, transaction);
        insert.Parameters.Add(new() { Value = userId });
        insert.Parameters.Add(new() { Value = message.Id });
        insert.Parameters.Add(new() { Value = message.ConversationId });
        insert.Parameters.Add(new() { Value = bookmark.CreatedAt });
        var created = await insert.ExecuteNonQueryAsync(cancellationToken) == 1;
        if (!created)
        {
            // A statement of its own: it sees the first bookmark even when a concurrent add committed it just now.
            await using var existing = new NpgsqlCommand("SELECT created_at FROM bookmarks WHERE user_id = $1 AND message_id = $2", connection, transaction);
            existing.Parameters.Add(new() { Value = userId });
            existing.Parameters.Add(new() { Value = message.Id });
            bookmark = bookmark with { CreatedAt = Utc((DateTime)(await existing.ExecuteScalarAsync(cancellationToken))!) };
        }

        if (created)
        {
            await PostgresOutbox.AppendAsync(connection, transaction, ChangeEvents.MessageBookmarked(bookmark, context), cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
        return (bookmark, created);
    }

    public async Task<bool> RemoveBookmarkAsync(Guid userId, Guid messageId, DateTimeOffset now, EventContext context, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using var delete = new NpgsqlCommand("DELETE FROM bookmarks WHERE user_id = $1 AND message_id = $2 RETURNING conversation_id", connection, transaction);
        delete.Parameters.Add(new() { Value = userId });
        delete.Parameters.Add(new() { Value = messageId });
        if (await delete.ExecuteScalarAsync(cancellationToken) is not Guid conversationId)
        {
            return false;
        }

        await PostgresOutbox.AppendAsync(connection, transaction, ChangeEvents.MessageUnbookmarked(userId, messageId, conversationId, now, context), cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return true;
    }

    public async Task<BookmarkPage> ListBookmarksAsync(Guid userId, ConversationCursor? after, int limit, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand($"""
            SELECT b.created_at, {MessageColumns}
            FROM bookmarks b
            JOIN participants p ON p.conversation_id = b.conversation_id AND p.user_id = b.user_id
            JOIN messages m ON m.id = b.message_id
            WHERE b.user_id = $1 AND ($2::timestamptz IS NULL OR (b.created_at, b.message_id) < ($2, $3))
            ORDER BY b.created_at DESC, b.message_id DESC
            LIMIT $4
            """);
        command.Parameters.Add(new() { Value = userId });
        command.Parameters.Add(new() { Value = after is null ? DBNull.Value : StoreTime.Truncate(after.LastActivityAt), NpgsqlDbType = NpgsqlDbType.TimestampTz });
        command.Parameters.Add(new() { Value = after?.Id ?? Guid.Empty });
        command.Parameters.Add(new() { Value = limit + 1 });
        var items = new List<BookmarkSummary>();
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                var message = ReadMessage(reader, 1);
                items.Add(new BookmarkSummary(new BookmarkRecord(userId, message.Id, message.ConversationId, Time(reader, 0)), message));
            }
        }

        var hasMore = Paging.TrimProbe(items, limit);
        return new BookmarkPage(items, hasMore ? new ConversationCursor(items[^1].Bookmark.CreatedAt, items[^1].Bookmark.MessageId) : null);
    }

    public async Task<HideResult> HideMessageAsync(Guid userId, StoredMessage message, DateTimeOffset now, EventContext context, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        // The conversation's row lock is the one every persist batch takes: a delete for everyone either committed
        // before (and is seen by the statements below) or waits for this one (and sees the hidden row).
        await using var batch = new NpgsqlBatch(connection, transaction)
        {
            BatchCommands =
            {
                Command("SELECT 1 FROM conversations WHERE id = $1 FOR UPDATE", message.ConversationId),
                Command("""
                    INSERT INTO hidden_messages (user_id, message_id, conversation_id, hidden_at) VALUES ($1, $2, $3, $4)
                    ON CONFLICT DO NOTHING RETURNING 1
                    """, userId, message.Id, message.ConversationId, StoreTime.Truncate(now)),
            },
        };
        bool hidden;
        await using (var reader = await batch.ExecuteReaderAsync(cancellationToken))
        {
            await reader.NextResultAsync(cancellationToken);
            hidden = await reader.ReadAsync(cancellationToken);
        }

        if (!hidden)
        {
            await using var current = new NpgsqlCommand("SELECT unread_count FROM participants WHERE conversation_id = $1 AND user_id = $2", connection, transaction);
            current.Parameters.Add(new() { Value = message.ConversationId });
            current.Parameters.Add(new() { Value = userId });
            return new HideResult(false, await current.ExecuteScalarAsync(cancellationToken) is long n ? n : 0);
        }

        await using var drop = new NpgsqlCommand("""
            UPDATE participants p SET unread_count = GREATEST(p.unread_count - (CASE WHEN m.sender_id <> p.user_id AND m.deleted_at IS NULL AND m.sequence > p.last_read_seq THEN 1 ELSE 0 END), 0),
                unread_mentions = GREATEST(p.unread_mentions - (CASE WHEN m.sender_id <> p.user_id AND m.deleted_at IS NULL AND m.sequence > p.last_read_seq
                    AND m.mentions IS NOT NULL AND m.mentions::jsonb ? p.user_id::text THEN 1 ELSE 0 END), 0)
            FROM messages m WHERE m.id = $2 AND p.conversation_id = m.conversation_id AND p.user_id = $1
            RETURNING p.unread_count
            """, connection, transaction);
        drop.Parameters.Add(new() { Value = userId });
        drop.Parameters.Add(new() { Value = message.Id });
        var unread = await drop.ExecuteScalarAsync(cancellationToken) is long count ? count : 0L;
        await PostgresOutbox.AppendAsync(connection, transaction, ChangeEvents.MessageHidden(userId, message, now, context), cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return new HideResult(true, unread);
    }

    public async Task<DraftRecord?> GetDraftAsync(Guid userId, Guid conversationId, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("SELECT content, metadata::text, updated_at FROM drafts WHERE user_id = $1 AND conversation_id = $2");
        command.Parameters.Add(new() { Value = userId });
        command.Parameters.Add(new() { Value = conversationId });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken)
            ? new DraftRecord(userId, conversationId, reader.GetString(0), reader.IsDBNull(1) ? null : reader.GetString(1), Time(reader, 2))
            : null;
    }

    public async Task SaveDraftAsync(DraftRecord draft, EventContext context, CancellationToken cancellationToken)
    {
        draft = draft with { UpdatedAt = StoreTime.Truncate(draft.UpdatedAt) };
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using (var upsert = new NpgsqlCommand("""
            INSERT INTO drafts (user_id, conversation_id, content, metadata, updated_at) VALUES ($1, $2, $3, $4::json, $5)
            ON CONFLICT (user_id, conversation_id) DO UPDATE SET content = excluded.content, metadata = excluded.metadata, updated_at = excluded.updated_at
            """, connection, transaction))
        {
            upsert.Parameters.Add(new() { Value = draft.UserId });
            upsert.Parameters.Add(new() { Value = draft.ConversationId });
            upsert.Parameters.Add(new() { Value = draft.Content });
            upsert.Parameters.Add(new() { Value = (object?)draft.Metadata ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
            upsert.Parameters.Add(new() { Value = draft.UpdatedAt });
            await upsert.ExecuteNonQueryAsync(cancellationToken);
        }

        await PostgresOutbox.AppendAsync(connection, transaction, ChangeEvents.DraftSaved(draft, context), cancellationToken);
        await transaction.CommitAsync(cancellationToken);
    }

    public async Task<bool> DeleteDraftAsync(Guid userId, Guid conversationId, DateTimeOffset now, EventContext context, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using var delete = new NpgsqlCommand("DELETE FROM drafts WHERE user_id = $1 AND conversation_id = $2", connection, transaction);
        delete.Parameters.Add(new() { Value = userId });
        delete.Parameters.Add(new() { Value = conversationId });
        if (await delete.ExecuteNonQueryAsync(cancellationToken) == 0)
        {
            return false;
        }

        await PostgresOutbox.AppendAsync(connection, transaction, ChangeEvents.DraftDeleted(userId, conversationId, now, context), cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return true;
    }
}
