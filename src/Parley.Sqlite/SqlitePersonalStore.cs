using Dapper;
using Parley.Core.Events;
using Parley.Core.Persistence;
using Parley.Core.Ports;
using Parley.Sqlite.Internal;

namespace Parley.Sqlite;

/// <summary>Bookmarks and drafts in the embedded store: each write and its domain event in one transaction.</summary>
public sealed class SqlitePersonalStore(SqliteDatabase db) : IPersonalStore
{
    public Task<(BookmarkRecord Bookmark, bool Created)> AddBookmarkAsync(Guid userId, StoredMessage message, DateTimeOffset now, EventContext context, CancellationToken cancellationToken) =>
        db.WriteAsync(async (connection, transaction) =>
        {
            var bookmark = new BookmarkRecord(userId, message.Id, message.ConversationId, StoreTime.Truncate(now));
            var u = userId.ToString();
            var m = message.Id.ToString();
            var created = await connection.ExecuteAsync(new CommandDefinition(
                "INSERT INTO bookmarks (user_id, message_id, conversation_id, created_at) VALUES (@u, @m, @c, @at) ON CONFLICT DO NOTHING",
                new { u, m, c = message.ConversationId.ToString(), at = SqliteTime.Ms(bookmark.CreatedAt) }, transaction, cancellationToken: cancellationToken)) == 1;
            if (created)
            {
                await SqliteOutbox.AppendAsync(connection, transaction, ChangeEvents.MessageBookmarked(bookmark, context), cancellationToken);
                return (bookmark, true);
            }

            var at = await connection.ExecuteScalarAsync<long>(new CommandDefinition(
                "SELECT created_at FROM bookmarks WHERE user_id = @u AND message_id = @m", new { u, m }, transaction, cancellationToken: cancellationToken));
            return (bookmark with { CreatedAt = SqliteTime.FromMs(at) }, false);
        }, cancellationToken);

    public Task<bool> RemoveBookmarkAsync(Guid userId, Guid messageId, DateTimeOffset now, EventContext context, CancellationToken cancellationToken) =>
        db.WriteAsync(async (connection, transaction) =>
        {
            var conversation = await connection.ExecuteScalarAsync<string?>(new CommandDefinition(
                "DELETE FROM bookmarks WHERE user_id = @u AND message_id = @m RETURNING conversation_id",
                new { u = userId.ToString(), m = messageId.ToString() }, transaction, cancellationToken: cancellationToken));
            if (conversation is null)
            {
                return false;
            }

            await SqliteOutbox.AppendAsync(connection, transaction, ChangeEvents.MessageUnbookmarked(userId, messageId, Guid.Parse(conversation), now, context), cancellationToken);
            return true;
        }, cancellationToken);

    public Task<BookmarkPage> ListBookmarksAsync(Guid userId, ConversationCursor? after, int limit, CancellationToken cancellationToken) =>
        db.ReadAsync(async connection =>
        {
            var items = new List<BookmarkSummary>();
            await using (var command = SqliteDatabase.Command(connection, $"""
                SELECT b.created_at, {SqliteRows.MessageColumns}
                FROM bookmarks b
                JOIN participants p ON p.conversation_id = b.conversation_id AND p.user_id = b.user_id
                JOIN messages m ON m.id = b.message_id
                WHERE b.user_id = $u
                  AND ($cursorAt IS NULL OR b.created_at < $cursorAt OR (b.created_at = $cursorAt AND b.message_id < $cursorId))
                ORDER BY b.created_at DESC, b.message_id DESC
                LIMIT $n
                """))
            {
                command.Parameters.AddWithValue("$u", userId.ToString());
                command.Parameters.AddWithValue("$cursorAt", after is null ? DBNull.Value : SqliteTime.Ms(after.LastActivityAt));
                command.Parameters.AddWithValue("$cursorId", after is null ? DBNull.Value : after.Id.ToString());
                command.Parameters.AddWithValue("$n", limit + 1);
                await using var reader = await command.ExecuteReaderAsync(cancellationToken);
                while (await reader.ReadAsync(cancellationToken))
                {
                    var message = SqliteRows.ReadMessage(reader, 1);
                    items.Add(new BookmarkSummary(new BookmarkRecord(userId, message.Id, message.ConversationId, SqliteTime.FromMs(reader.GetInt64(0))), message));
                }
            }

            var hasMore = Paging.TrimProbe(items, limit);
            return new BookmarkPage(items, hasMore ? new ConversationCursor(items[^1].Bookmark.CreatedAt, items[^1].Bookmark.MessageId) : null);
        }, cancellationToken);

    /// <summary>The write gate serializes this with every persist batch (see <see cref="IPersonalStore.HideMessageAsync"/>).</summary>
    public Task<HideResult> HideMessageAsync(Guid userId, StoredMessage message, DateTimeOffset now, EventContext context, CancellationToken cancellationToken) =>
        db.WriteAsync(async (connection, transaction) =>
        {
            var u = userId.ToString();
            var m = message.Id.ToString();
            if (await connection.ExecuteAsync(new CommandDefinition(
                "INSERT INTO hidden_messages (user_id, message_id, conversation_id, hidden_at) VALUES (@u, @m, @c, @at) ON CONFLICT DO NOTHING",
                new { u, m, c = message.ConversationId.ToString(), at = SqliteTime.Ms(StoreTime.Truncate(now)) }, transaction, cancellationToken: cancellationToken)) == 0)
            {
                return new HideResult(false, await connection.ExecuteScalarAsync<long?>(new CommandDefinition(
                    "SELECT unread_count FROM participants WHERE conversation_id = @c AND user_id = @u",
                    new { u, c = message.ConversationId.ToString() }, transaction, cancellationToken: cancellationToken)) ?? 0);
            }

            var unread = await connection.ExecuteScalarAsync<long?>(new CommandDefinition("""
                UPDATE participants SET unread_count = MAX(unread_count - (SELECT COUNT(*) FROM messages m
                    WHERE m.id = @m AND m.sender_id <> participants.user_id AND m.deleted_at IS NULL AND m.sequence > participants.last_read_seq), 0),
                  unread_mentions = MAX(unread_mentions - (SELECT COUNT(*) FROM messages m
                    WHERE m.id = @m AND m.sender_id <> participants.user_id AND m.deleted_at IS NULL AND m.sequence > participants.last_read_seq
                      AND m.mentions IS NOT NULL AND EXISTS (SELECT 1 FROM json_each(m.mentions) WHERE value = participants.user_id)), 0)
                WHERE conversation_id = @c AND user_id = @u
                RETURNING unread_count
                """, new { u, m, c = message.ConversationId.ToString() }, transaction, cancellationToken: cancellationToken));
            await SqliteOutbox.AppendAsync(connection, transaction, ChangeEvents.MessageHidden(userId, message, now, context), cancellationToken);
            return new HideResult(true, unread ?? 0);
        }, cancellationToken);

    public Task<DraftRecord?> GetDraftAsync(Guid userId, Guid conversationId, CancellationToken cancellationToken) =>
        db.ReadAsync(async connection =>
        {
            var row = await connection.QuerySingleOrDefaultAsync<DraftRow>(new CommandDefinition(
                "SELECT content AS Content, metadata AS Metadata, updated_at AS UpdatedAt FROM drafts WHERE user_id = @u AND conversation_id = @c",
                new { u = userId.ToString(), c = conversationId.ToString() }, cancellationToken: cancellationToken));
            return row is null ? null : new DraftRecord(userId, conversationId, row.Content, row.Metadata, SqliteTime.FromMs(row.UpdatedAt));
        }, cancellationToken);

    public Task SaveDraftAsync(DraftRecord draft, EventContext context, CancellationToken cancellationToken) =>
        db.WriteAsync(async (connection, transaction) =>
        {
            draft = draft with { UpdatedAt = StoreTime.Truncate(draft.UpdatedAt) };
            await connection.ExecuteAsync(new CommandDefinition("""
                INSERT INTO drafts (user_id, conversation_id, content, metadata, updated_at) VALUES (@u, @c, @Content, @Metadata, @at)
                ON CONFLICT (user_id, conversation_id) DO UPDATE SET content = excluded.content, metadata = excluded.metadata, updated_at = excluded.updated_at
                """, new { u = draft.UserId.ToString(), c = draft.ConversationId.ToString(), draft.Content, draft.Metadata, at = SqliteTime.Ms(draft.UpdatedAt) },
                transaction, cancellationToken: cancellationToken));
            await SqliteOutbox.AppendAsync(connection, transaction, ChangeEvents.DraftSaved(draft, context), cancellationToken);
            return true;
        }, cancellationToken);

    public Task<bool> DeleteDraftAsync(Guid userId, Guid conversationId, DateTimeOffset now, EventContext context, CancellationToken cancellationToken) =>
        db.WriteAsync(async (connection, transaction) =>
        {
            if (await connection.ExecuteAsync(new CommandDefinition("DELETE FROM drafts WHERE user_id = @u AND conversation_id = @c",
                    new { u = userId.ToString(), c = conversationId.ToString() }, transaction, cancellationToken: cancellationToken)) == 0)
            {
                return false;
            }

            await SqliteOutbox.AppendAsync(connection, transaction, ChangeEvents.DraftDeleted(userId, conversationId, now, context), cancellationToken);
            return true;
        }, cancellationToken);

    private sealed class DraftRow
    {
        public string Content { get; set; } = "";

        public string? Metadata { get; set; }

        public long UpdatedAt { get; set; }
    }
}
