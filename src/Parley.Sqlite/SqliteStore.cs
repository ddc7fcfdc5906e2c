using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using Parley.Core.Messaging;
using Parley.Core.Ports;

namespace Parley.Sqlite;

/// <summary>The embedded system of record: users, conversations, participants, messages and receipts in one SQLite file.</summary>
public sealed class SqliteStore : IUserStore, ISessionStore, IConversationStore, IMessageStore, IReceiptStore, IDomainEventStore, IDisposable
{
    private const string MessageColumns =
        "m.id, m.conversation_id, m.sequence, m.sender_id, m.type, m.content, m.metadata, m.client_message_id, m.content_hash, m.size, m.correlation_id, m.accepted_at, m.stored_at";

    private const string ConversationColumns =
        "c.id, c.type, c.title, c.status, c.created_by, c.created_at, c.last_activity_at, c.last_sequence";

    private static readonly (int, string)[] Migrations =
    [
        (1, """
            CREATE TABLE users (
                id TEXT PRIMARY KEY,
                username TEXT NOT NULL UNIQUE,
                display_name TEXT NOT NULL,
                password_hash TEXT NOT NULL,
                created_at INTEGER NOT NULL
            );
            CREATE TABLE refresh_tokens (
                token_hash TEXT PRIMARY KEY,
                user_id TEXT NOT NULL REFERENCES users(id),
                created_at INTEGER NOT NULL,
                expires_at INTEGER NOT NULL,
                used_at INTEGER,
                revoked_at INTEGER
            );
            CREATE INDEX ix_refresh_tokens_user ON refresh_tokens(user_id);
            CREATE TABLE conversations (
                id TEXT PRIMARY KEY,
                type TEXT NOT NULL,
                title TEXT,
                status TEXT NOT NULL,
                direct_key TEXT UNIQUE,
                created_by TEXT NOT NULL REFERENCES users(id),
                created_at INTEGER NOT NULL,
                last_activity_at INTEGER NOT NULL,
                last_sequence INTEGER NOT NULL DEFAULT 0,
                last_message_id TEXT
            );
            CREATE TABLE participants (
                conversation_id TEXT NOT NULL REFERENCES conversations(id),
                user_id TEXT NOT NULL REFERENCES users(id),
                role TEXT NOT NULL,
                joined_at INTEGER NOT NULL,
                last_delivered_seq INTEGER NOT NULL DEFAULT 0,
                last_read_seq INTEGER NOT NULL DEFAULT 0,
                unread_count INTEGER NOT NULL DEFAULT 0,
                PRIMARY KEY (conversation_id, user_id)
            );
            CREATE INDEX ix_participants_user ON participants(user_id);
            CREATE TABLE messages (
                id TEXT PRIMARY KEY,
                conversation_id TEXT NOT NULL REFERENCES conversations(id),
                sequence INTEGER NOT NULL,
                sender_id TEXT NOT NULL,
                type TEXT NOT NULL,
                content TEXT NOT NULL,
                metadata TEXT,
                client_message_id TEXT,
                idempotency_key TEXT NOT NULL UNIQUE,
                content_hash TEXT NOT NULL,
                size INTEGER NOT NULL,
                correlation_id TEXT NOT NULL,
                accepted_at INTEGER NOT NULL,
                stored_at INTEGER NOT NULL,
                UNIQUE (conversation_id, sequence)
            );
            """),
        (2, """
            CREATE TABLE partition_fences (
                partition INTEGER PRIMARY KEY,
                epoch INTEGER NOT NULL
            );
            """),
    ];

    private readonly SqliteDatabase _db;
    private readonly TimeProvider _time;

    public SqliteStore(string path, TimeProvider? time = null)
    {
        _time = time ?? TimeProvider.System;
        _db = new SqliteDatabase(path);
        _db.Migrate(Migrations);
    }

    // ---- users -------------------------------------------------------------------------------

    public Task<bool> CreateUserAsync(UserRecord user, Parley.Core.Events.EventContext context, CancellationToken cancellationToken) =>
        _db.WriteAsync(async (connection, transaction) =>
        {
            await using var command = SqliteDatabase.Command(connection, """
                INSERT INTO users (id, username, display_name, password_hash, created_at) VALUES ($id, $u, $d, $p, $t)
                ON CONFLICT (username) DO NOTHING
                """, transaction);
            command.Parameters.AddWithValue("$id", user.Id.ToString());
            command.Parameters.AddWithValue("$u", user.Username);
            command.Parameters.AddWithValue("$d", user.DisplayName);
            command.Parameters.AddWithValue("$p", user.PasswordHash);
            command.Parameters.AddWithValue("$t", Ms(user.CreatedAt));
            return await command.ExecuteNonQueryAsync(cancellationToken) == 1;
        }, cancellationToken);

    public Task<UserRecord?> FindByUsernameAsync(string normalizedUsername, CancellationToken cancellationToken) =>
        QueryUserAsync("username = $v", normalizedUsername, cancellationToken);

    public Task<UserRecord?> GetUserAsync(Guid userId, CancellationToken cancellationToken) =>
        QueryUserAsync("id = $v", userId.ToString(), cancellationToken);

    private Task<UserRecord?> QueryUserAsync(string where, string value, CancellationToken cancellationToken) =>
        _db.ReadAsync(async connection =>
        {
            await using var command = SqliteDatabase.Command(connection, $"SELECT id, username, display_name, password_hash, created_at FROM users WHERE {where}");
            command.Parameters.AddWithValue("$v", value);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            return await reader.ReadAsync(cancellationToken)
                ? new UserRecord(Guid.Parse(reader.GetString(0)), reader.GetString(1), reader.GetString(2), reader.GetString(3), FromMs(reader.GetInt64(4)))
                : null;
        }, cancellationToken);

    public Task<IReadOnlySet<Guid>> ExistingUsersAsync(IReadOnlyCollection<Guid> userIds, CancellationToken cancellationToken) =>
        _db.ReadAsync<IReadOnlySet<Guid>>(async connection =>
        {
            var found = new HashSet<Guid>();
            await using var command = SqliteDatabase.Command(connection, "SELECT id FROM users WHERE id IN (SELECT value FROM json_each($ids))");
            command.Parameters.AddWithValue("$ids", GuidsJson(userIds));
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                found.Add(Guid.Parse(reader.GetString(0)));
            }

            return found;
        }, cancellationToken);

    public Task AddRefreshTokenAsync(RefreshTokenRecord token, Parley.Core.Events.EventContext context, CancellationToken cancellationToken) =>
        _db.WriteAsync((connection, transaction) => InsertRefreshTokenAsync(connection, transaction, token, cancellationToken), cancellationToken);

    private static async Task<int> InsertRefreshTokenAsync(SqliteConnection connection, SqliteTransaction transaction, RefreshTokenRecord token, CancellationToken cancellationToken)
    {
        await using var command = SqliteDatabase.Command(connection,
            "INSERT INTO refresh_tokens (token_hash, user_id, created_at, expires_at) VALUES ($h, $u, $c, $e)", transaction);
        command.Parameters.AddWithValue("$h", token.TokenHash);
        command.Parameters.AddWithValue("$u", token.UserId.ToString());
        command.Parameters.AddWithValue("$c", Ms(token.CreatedAt));
        command.Parameters.AddWithValue("$e", Ms(token.ExpiresAt));
        return await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public Task<Guid?> RotateRefreshTokenAsync(string oldHash, RefreshTokenRecord replacement, DateTimeOffset now, Parley.Core.Events.EventContext context, CancellationToken cancellationToken) =>
        _db.WriteAsync<Guid?>(async (connection, transaction) =>
        {
            await using var use = SqliteDatabase.Command(connection, """
                UPDATE refresh_tokens SET used_at = $now
                WHERE token_hash = $h AND used_at IS NULL AND revoked_at IS NULL AND expires_at > $now
                RETURNING user_id
                """, transaction);
            use.Parameters.AddWithValue("$h", oldHash);
            use.Parameters.AddWithValue("$now", Ms(now));
            if (await use.ExecuteScalarAsync(cancellationToken) is not string userText)
            {
                // A used token presented again means it leaked: revoke everything the user holds.
                await using var revoke = SqliteDatabase.Command(connection, """
                    UPDATE refresh_tokens SET revoked_at = $now
                    WHERE revoked_at IS NULL AND user_id = (SELECT user_id FROM refresh_tokens WHERE token_hash = $h AND used_at IS NOT NULL)
                    """, transaction);
                revoke.Parameters.AddWithValue("$h", oldHash);
                revoke.Parameters.AddWithValue("$now", Ms(now));
                await revoke.ExecuteNonQueryAsync(cancellationToken);
                return null;
            }

            var userId = Guid.Parse(userText);
            await InsertRefreshTokenAsync(connection, transaction, replacement with { UserId = userId }, cancellationToken);
            return userId;
        }, cancellationToken);

    public Task<bool> RevokeRefreshTokenAsync(string tokenHash, Guid userId, DateTimeOffset now, Parley.Core.Events.EventContext context, CancellationToken cancellationToken) =>
        _db.WriteAsync(async (connection, transaction) =>
        {
            await using var command = SqliteDatabase.Command(connection,
                "UPDATE refresh_tokens SET revoked_at = $now WHERE token_hash = $h AND user_id = $u AND revoked_at IS NULL AND used_at IS NULL", transaction);
            command.Parameters.AddWithValue("$h", tokenHash);
            command.Parameters.AddWithValue("$u", userId.ToString());
            command.Parameters.AddWithValue("$now", Ms(now));
            return await command.ExecuteNonQueryAsync(cancellationToken) == 1;
        }, cancellationToken);

    // ---- conversations -----------------------------------------------------------------------

    public Task<(ConversationRecord Conversation, bool Created)> GetOrCreateDirectAsync(Guid conversationId, Guid creator, Guid other, DateTimeOffset now, Parley.Core.Events.EventContext context, CancellationToken cancellationToken) =>
        _db.WriteAsync(async (connection, transaction) =>
        {
            var key = DirectKey(creator, other);
            await using (var insert = SqliteDatabase.Command(connection, """
                INSERT INTO conversations (id, type, title, status, direct_key, created_by, created_at, last_activity_at)
                VALUES ($id, 'direct', NULL, 'active', $key, $by, $now, $now)
                ON CONFLICT (direct_key) DO NOTHING
                """, transaction))
            {
                insert.Parameters.AddWithValue("$id", conversationId.ToString());
                insert.Parameters.AddWithValue("$key", key);
                insert.Parameters.AddWithValue("$by", creator.ToString());
                insert.Parameters.AddWithValue("$now", Ms(now));
                if (await insert.ExecuteNonQueryAsync(cancellationToken) == 1)
                {
                    await AddParticipantsAsync(connection, transaction, conversationId, [(creator, ParticipantRoles.Member), (other, ParticipantRoles.Member)], now, cancellationToken);
                    return (new ConversationRecord(conversationId, ConversationTypes.Direct, null, ConversationStatuses.Active, creator, now, now, 0), true);
                }
            }

            return (await QueryConversationAsync(connection, transaction, "c.direct_key = $v", key, cancellationToken)
                ?? throw new InvalidOperationException("Direct conversation vanished"), false);
        }, cancellationToken);

    public Task<ConversationRecord> CreateGroupAsync(Guid conversationId, Guid owner, string? title, IReadOnlyCollection<Guid> members, DateTimeOffset now, Parley.Core.Events.EventContext context, CancellationToken cancellationToken) =>
        _db.WriteAsync(async (connection, transaction) =>
        {
            await using (var insert = SqliteDatabase.Command(connection, """
                INSERT INTO conversations (id, type, title, status, direct_key, created_by, created_at, last_activity_at)
                VALUES ($id, 'group', $title, 'active', NULL, $by, $now, $now)
                """, transaction))
            {
                insert.Parameters.AddWithValue("$id", conversationId.ToString());
                insert.Parameters.AddWithValue("$title", (object?)title ?? DBNull.Value);
                insert.Parameters.AddWithValue("$by", owner.ToString());
                insert.Parameters.AddWithValue("$now", Ms(now));
                await insert.ExecuteNonQueryAsync(cancellationToken);
            }

            var roles = members.Where(m => m != owner).Distinct().Select(m => (m, ParticipantRoles.Member)).Prepend((owner, ParticipantRoles.Owner)).ToList();
            await AddParticipantsAsync(connection, transaction, conversationId, roles, now, cancellationToken);
            return new ConversationRecord(conversationId, ConversationTypes.Group, title, ConversationStatuses.Active, owner, now, now, 0);
        }, cancellationToken);

    private static async Task AddParticipantsAsync(SqliteConnection connection, SqliteTransaction transaction, Guid conversationId, IReadOnlyList<(Guid User, string Role)> members, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var command = SqliteDatabase.Command(connection,
            "INSERT INTO participants (conversation_id, user_id, role, joined_at) VALUES ($c, $u, $r, $now) ON CONFLICT DO NOTHING", transaction);
        command.Parameters.AddWithValue("$c", conversationId.ToString());
        command.Parameters.AddWithValue("$now", Ms(now));
        var user = command.Parameters.Add("$u", SqliteType.Text);
        var role = command.Parameters.Add("$r", SqliteType.Text);
        foreach (var member in members)
        {
            user.Value = member.User.ToString();
            role.Value = member.Role;
            await command.ExecuteNonQueryAsync(cancellationToken);
        }
    }

    public Task<ConversationRecord?> GetConversationAsync(Guid conversationId, CancellationToken cancellationToken) =>
        _db.ReadAsync(connection => QueryConversationAsync(connection, null, "c.id = $v", conversationId.ToString(), cancellationToken), cancellationToken);

    private static async Task<ConversationRecord?> QueryConversationAsync(SqliteConnection connection, SqliteTransaction? transaction, string where, string value, CancellationToken cancellationToken)
    {
        await using var command = SqliteDatabase.Command(connection, $"SELECT {ConversationColumns} FROM conversations c WHERE {where}", transaction);
        command.Parameters.AddWithValue("$v", value);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? ReadConversation(reader, 0) : null;
    }

    public Task<ParticipantRecord?> GetParticipantAsync(Guid conversationId, Guid userId, CancellationToken cancellationToken) =>
        _db.ReadAsync(async connection =>
        {
            await using var command = SqliteDatabase.Command(connection, """
                SELECT role, joined_at, last_delivered_seq, last_read_seq, unread_count FROM participants
                WHERE conversation_id = $c AND user_id = $u
                """);
            command.Parameters.AddWithValue("$c", conversationId.ToString());
            command.Parameters.AddWithValue("$u", userId.ToString());
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            return await reader.ReadAsync(cancellationToken)
                ? new ParticipantRecord(conversationId, userId, reader.GetString(0), FromMs(reader.GetInt64(1)),
                    new ReceiptWatermarks(reader.GetInt64(2), reader.GetInt64(3)), reader.GetInt64(4))
                : null;
        }, cancellationToken);

    public Task<IReadOnlyList<Guid>> GetMemberIdsAsync(Guid conversationId, CancellationToken cancellationToken) =>
        _db.ReadAsync(connection => QueryMemberIdsAsync(connection, null, conversationId, cancellationToken), cancellationToken);

    private static async Task<IReadOnlyList<Guid>> QueryMemberIdsAsync(SqliteConnection connection, SqliteTransaction? transaction, Guid conversationId, CancellationToken cancellationToken)
    {
        var members = new List<Guid>();
        await using var command = SqliteDatabase.Command(connection, "SELECT user_id FROM participants WHERE conversation_id = $c ORDER BY joined_at, user_id", transaction);
        command.Parameters.AddWithValue("$c", conversationId.ToString());
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            members.Add(Guid.Parse(reader.GetString(0)));
        }

        return members;
    }

    public Task<ConversationPage> ListConversationsAsync(Guid userId, ConversationCursor? after, int limit, CancellationToken cancellationToken) =>
        _db.ReadAsync(async connection =>
        {
            var rows = new List<(ConversationRecord Conversation, long Unread, StoredMessage? Last)>();
            await using (var command = SqliteDatabase.Command(connection, $"""
                SELECT {ConversationColumns}, p.unread_count, {MessageColumns}
                FROM participants p
                JOIN conversations c ON c.id = p.conversation_id
                LEFT JOIN messages m ON m.id = c.last_message_id
                WHERE p.user_id = $u
                  AND ($cursorAt IS NULL OR c.last_activity_at < $cursorAt OR (c.last_activity_at = $cursorAt AND c.id < $cursorId))
                ORDER BY c.last_activity_at DESC, c.id DESC
                LIMIT $n
                """))
            {
                command.Parameters.AddWithValue("$u", userId.ToString());
                command.Parameters.AddWithValue("$cursorAt", after is null ? DBNull.Value : Ms(after.LastActivityAt));
                command.Parameters.AddWithValue("$cursorId", after is null ? DBNull.Value : after.Id.ToString());
                command.Parameters.AddWithValue("$n", limit + 1);
                await using var reader = await command.ExecuteReaderAsync(cancellationToken);
                while (await reader.ReadAsync(cancellationToken))
                {
                    rows.Add((ReadConversation(reader, 0), reader.GetInt64(8), reader.IsDBNull(9) ? null : ReadMessage(reader, 9)));
                }
            }

            var hasMore = Paging.TrimProbe(rows, limit);

            var members = new Dictionary<Guid, List<Guid>>();
            await using (var command = SqliteDatabase.Command(connection,
                "SELECT conversation_id, user_id FROM participants WHERE conversation_id IN (SELECT value FROM json_each($ids)) ORDER BY joined_at, user_id"))
            {
                command.Parameters.AddWithValue("$ids", GuidsJson(rows.Select(r => r.Conversation.Id).ToList()));
                await using var reader = await command.ExecuteReaderAsync(cancellationToken);
                while (await reader.ReadAsync(cancellationToken))
                {
                    var id = Guid.Parse(reader.GetString(0));
                    if (!members.TryGetValue(id, out var list))
                    {
                        members[id] = list = [];
                    }

                    list.Add(Guid.Parse(reader.GetString(1)));
                }
            }

            var items = rows.Select(r => new ConversationSummary(r.Conversation, members.GetValueOrDefault(r.Conversation.Id) ?? [], r.Unread, r.Last)).ToList();
            var last = items.LastOrDefault()?.Conversation;
            return new ConversationPage(items, hasMore && last is not null ? new ConversationCursor(last.LastActivityAt, last.Id) : null);
        }, cancellationToken);

    // ---- messages ----------------------------------------------------------------------------

    public Task<IReadOnlyList<PersistResult>> PersistBatchAsync(IReadOnlyList<MessageEnvelope> batch, PartitionFence? fence, CancellationToken cancellationToken) =>
        _db.WriteAsync<IReadOnlyList<PersistResult>>(async (connection, transaction) =>
        {
            if (fence is not null)
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

            var storedAt = _time.GetUtcNow();
            var conversations = new Dictionary<Guid, ConversationState?>();
            var results = new List<PersistResult>(batch.Count);
            await using var insert = SqliteDatabase.Command(connection, """
                INSERT INTO messages (id, conversation_id, sequence, sender_id, type, content, metadata, client_message_id,
                                      idempotency_key, content_hash, size, correlation_id, accepted_at, stored_at)
                VALUES ($id, $c, $seq, $s, $type, $content, $meta, $cmid, $key, $hash, $size, $corr, $acc, $stored)
                ON CONFLICT DO NOTHING
                """, transaction);
            await using var advance = SqliteDatabase.Command(connection, """
                UPDATE conversations SET last_sequence = $seq, last_activity_at = MAX(last_activity_at, $at), last_message_id = $id WHERE id = $c;
                UPDATE participants SET unread_count = unread_count + 1 WHERE conversation_id = $c AND user_id <> $s;
                UPDATE participants SET last_read_seq = $seq, last_delivered_seq = MAX(last_delivered_seq, $seq), unread_count = 0
                    WHERE conversation_id = $c AND user_id = $s;
                """, transaction);

            foreach (var envelope in batch)
            {
                if (!conversations.TryGetValue(envelope.ConversationId, out var state))
                {
                    state = await LoadConversationStateAsync(connection, transaction, envelope.ConversationId, cancellationToken);
                    conversations[envelope.ConversationId] = state;
                }

                if (state is null)
                {
                    results.Add(PersistResult.Rejected(envelope, "conversation does not exist"));
                    continue;
                }

                var message = new StoredMessage(envelope.MessageId, envelope.ConversationId, state.LastSequence + 1, envelope.SenderId, envelope.Type,
                    envelope.Content, envelope.Metadata, envelope.ClientMessageId, IdempotencyKeys.ContentHash(envelope.Content),
                    Encoding.UTF8.GetByteCount(envelope.Content), envelope.CorrelationId, envelope.AcceptedAt, storedAt);

                insert.Parameters.Clear();
                insert.Parameters.AddWithValue("$id", message.Id.ToString());
                insert.Parameters.AddWithValue("$c", message.ConversationId.ToString());
                insert.Parameters.AddWithValue("$seq", message.Sequence);
                insert.Parameters.AddWithValue("$s", message.SenderId.ToString());
                insert.Parameters.AddWithValue("$type", message.Type);
                insert.Parameters.AddWithValue("$content", message.Content);
                insert.Parameters.AddWithValue("$meta", (object?)message.Metadata ?? DBNull.Value);
                insert.Parameters.AddWithValue("$cmid", (object?)message.ClientMessageId ?? DBNull.Value);
                insert.Parameters.AddWithValue("$key", envelope.IdempotencyKey);
                insert.Parameters.AddWithValue("$hash", message.ContentHash);
                insert.Parameters.AddWithValue("$size", message.Size);
                insert.Parameters.AddWithValue("$corr", message.CorrelationId.ToString());
                insert.Parameters.AddWithValue("$acc", Ms(message.AcceptedAt));
                insert.Parameters.AddWithValue("$stored", Ms(storedAt));
                if (await insert.ExecuteNonQueryAsync(cancellationToken) == 0)
                {
                    results.Add(new PersistResult(envelope, PersistOutcome.Duplicate, null, state.Members, null));
                    continue;
                }

                state.LastSequence = message.Sequence;
                advance.Parameters.Clear();
                advance.Parameters.AddWithValue("$seq", message.Sequence);
                advance.Parameters.AddWithValue("$at", Ms(message.AcceptedAt));
                advance.Parameters.AddWithValue("$id", message.Id.ToString());
                advance.Parameters.AddWithValue("$c", message.ConversationId.ToString());
                advance.Parameters.AddWithValue("$s", message.SenderId.ToString());
                await advance.ExecuteNonQueryAsync(cancellationToken);
                results.Add(new PersistResult(envelope, PersistOutcome.Inserted, message, state.Members, null));
            }

            return results;
        }, cancellationToken);

    private static async Task<ConversationState?> LoadConversationStateAsync(SqliteConnection connection, SqliteTransaction transaction, Guid conversationId, CancellationToken cancellationToken)
    {
        await using var command = SqliteDatabase.Command(connection, "SELECT last_sequence FROM conversations WHERE id = $c", transaction);
        command.Parameters.AddWithValue("$c", conversationId.ToString());
        if (await command.ExecuteScalarAsync(cancellationToken) is not long lastSequence)
        {
            return null;
        }

        return new ConversationState(lastSequence, await QueryMemberIdsAsync(connection, transaction, conversationId, cancellationToken));
    }

    public Task<MessagePage> GetMessagesAsync(Guid conversationId, HistoryQuery query, CancellationToken cancellationToken) =>
        query.Around is not null ? GetMessagesAroundAsync(conversationId, query, cancellationToken) : _db.ReadAsync(async connection =>
        {
            // Walking forward from 'after' is catch-up; otherwise the page ends just below 'before' (or at the newest).
            var forward = query.After is not null;
            var sql = $"""
                SELECT {MessageColumns} FROM messages m
                WHERE m.conversation_id = $c AND m.sequence > $after AND m.sequence < $before
                ORDER BY m.sequence {(forward ? "ASC" : "DESC")} LIMIT $n
                """;
            var items = new List<StoredMessage>();
            await using var command = SqliteDatabase.Command(connection, sql);
            command.Parameters.AddWithValue("$c", conversationId.ToString());
            command.Parameters.AddWithValue("$after", query.After ?? 0);
            command.Parameters.AddWithValue("$before", query.Before ?? long.MaxValue);
            command.Parameters.AddWithValue("$n", query.Limit + 1);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                items.Add(ReadMessage(reader, 0));
            }

            return Paging.History(items, query);
        }, cancellationToken);

    public Task<StoredMessage?> GetMessageAsync(Guid messageId, CancellationToken cancellationToken) =>
        QueryMessageAsync("m.id = $v", messageId.ToString(), cancellationToken);

    public Task<StoredMessage?> FindByIdempotencyKeyAsync(string idempotencyKey, CancellationToken cancellationToken) =>
        QueryMessageAsync("m.idempotency_key = $v", idempotencyKey, cancellationToken);

    public Task<IReadOnlyDictionary<string, Guid>> FindIdsByIdempotencyKeysAsync(IReadOnlyCollection<string> idempotencyKeys, CancellationToken cancellationToken) =>
        idempotencyKeys.Count == 0
            ? Task.FromResult<IReadOnlyDictionary<string, Guid>>(new Dictionary<string, Guid>(StringComparer.Ordinal))
            : _db.ReadAsync<IReadOnlyDictionary<string, Guid>>(async connection =>
            {
                // One JSON array parameter instead of a parameter per key: SQLite caps the number of parameters.
                await using var command = SqliteDatabase.Command(connection,
                    "SELECT idempotency_key, id FROM messages WHERE idempotency_key IN (SELECT value FROM json_each($keys))");
                command.Parameters.AddWithValue("$keys", System.Text.Json.JsonSerializer.Serialize(idempotencyKeys.ToArray(), SqliteJsonContext.Default.StringArray));
                var found = new Dictionary<string, Guid>(StringComparer.Ordinal);
                await using var reader = await command.ExecuteReaderAsync(cancellationToken);
                while (await reader.ReadAsync(cancellationToken))
                {
                    found[reader.GetString(0)] = Guid.Parse(reader.GetString(1));
                }

                return found;
            }, cancellationToken);

    private Task<StoredMessage?> QueryMessageAsync(string where, string value, CancellationToken cancellationToken) =>
        _db.ReadAsync(async connection =>
        {
            await using var command = SqliteDatabase.Command(connection, $"SELECT {MessageColumns} FROM messages m WHERE {where}");
            command.Parameters.AddWithValue("$v", value);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            return await reader.ReadAsync(cancellationToken) ? ReadMessage(reader, 0) : null;
        }, cancellationToken);

    public Task<ReceiptUpdate?> AdvanceReceiptAsync(Guid conversationId, Guid userId, ReceiptKind kind, long upToSequence, Parley.Core.Events.EventContext context, CancellationToken cancellationToken) =>
        _db.WriteAsync<ReceiptUpdate?>(async (connection, transaction) =>
        {
            long lastSequence, delivered, read, unread;
            await using (var select = SqliteDatabase.Command(connection, """
                SELECT c.last_sequence, p.last_delivered_seq, p.last_read_seq, p.unread_count
                FROM participants p JOIN conversations c ON c.id = p.conversation_id
                WHERE p.conversation_id = $c AND p.user_id = $u
                """, transaction))
            {
                select.Parameters.AddWithValue("$c", conversationId.ToString());
                select.Parameters.AddWithValue("$u", userId.ToString());
                await using var reader = await select.ExecuteReaderAsync(cancellationToken);
                if (!await reader.ReadAsync(cancellationToken))
                {
                    return null;
                }

                (lastSequence, delivered, read, unread) = (reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2), reader.GetInt64(3));
            }

            var before = new ReceiptWatermarks(delivered, read);
            var after = before.Advance(kind, upToSequence, lastSequence);
            if (after == before)
            {
                return new ReceiptUpdate(conversationId, userId, kind, before, unread, Advanced: false);
            }

            await using var update = SqliteDatabase.Command(connection, """
                UPDATE participants SET last_delivered_seq = $d, last_read_seq = $r,
                    unread_count = (SELECT COUNT(*) FROM messages WHERE conversation_id = $c AND sequence > $r AND sender_id <> $u)
                WHERE conversation_id = $c AND user_id = $u
                RETURNING unread_count
                """, transaction);
            update.Parameters.AddWithValue("$d", after.Delivered);
            update.Parameters.AddWithValue("$r", after.Read);
            update.Parameters.AddWithValue("$c", conversationId.ToString());
            update.Parameters.AddWithValue("$u", userId.ToString());
            var newUnread = Convert.ToInt64(await update.ExecuteScalarAsync(cancellationToken), CultureInfo.InvariantCulture);
            return new ReceiptUpdate(conversationId, userId, kind, after, newUnread, Advanced: true);
        }, cancellationToken);

    public Task<MessageStatusRecord?> GetMessageStatusAsync(Guid messageId, CancellationToken cancellationToken) =>
        QueryMessageStatusAsync("m.id = $id", messageId.ToString(), cancellationToken);

    private Task<MessageStatusRecord?> QueryMessageStatusAsync(string where, string value, CancellationToken cancellationToken) =>
        _db.ReadAsync(async connection =>
        {
            await using var command = SqliteDatabase.Command(connection, $"""
                SELECT {MessageColumns},
                    (SELECT COUNT(*) FROM participants p WHERE p.conversation_id = m.conversation_id AND p.user_id <> m.sender_id),
                    (SELECT COUNT(*) FROM participants p WHERE p.conversation_id = m.conversation_id AND p.user_id <> m.sender_id AND p.last_delivered_seq >= m.sequence),
                    (SELECT COUNT(*) FROM participants p WHERE p.conversation_id = m.conversation_id AND p.user_id <> m.sender_id AND p.last_read_seq >= m.sequence)
                FROM messages m WHERE {where}
                """);
            command.Parameters.AddWithValue("$id", value);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            return await reader.ReadAsync(cancellationToken)
                ? new MessageStatusRecord(ReadMessage(reader, 0), reader.GetInt32(13), reader.GetInt32(14), reader.GetInt32(15))
                : null;
        }, cancellationToken);

    public Task<MessageStatusRecord?> GetMessageStatusByIdempotencyKeyAsync(string idempotencyKey, CancellationToken cancellationToken) =>
        QueryMessageStatusAsync("m.idempotency_key = $id", idempotencyKey, cancellationToken);

    /// <summary>Both sides of an around page in one statement; each side walks the (conversation, sequence) index from the anchor.</summary>
    private Task<MessagePage> GetMessagesAroundAsync(Guid conversationId, HistoryQuery query, CancellationToken cancellationToken) =>
        _db.ReadAsync(async connection =>
        {
            await using var command = SqliteDatabase.Command(connection, $"""
                SELECT * FROM (SELECT {MessageColumns} FROM messages m WHERE m.conversation_id = $c AND m.sequence < $around ORDER BY m.sequence DESC LIMIT $older)
                UNION ALL
                SELECT * FROM (SELECT {MessageColumns} FROM messages m WHERE m.conversation_id = $c AND m.sequence >= $around ORDER BY m.sequence ASC LIMIT $newer)
                """);
            command.Parameters.AddWithValue("$c", conversationId.ToString());
            command.Parameters.AddWithValue("$around", query.Around!.Value);
            command.Parameters.AddWithValue("$older", query.AroundOlder + 1);
            command.Parameters.AddWithValue("$newer", query.AroundNewer + 1);
            var items = new List<StoredMessage>();
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                items.Add(ReadMessage(reader, 0));
            }

            return Paging.Around(items, query);
        }, cancellationToken);

    public Task<UnreadTotal> GetUnreadTotalAsync(Guid userId, CancellationToken cancellationToken) =>
        _db.ReadAsync(async connection =>
        {
            await using var command = SqliteDatabase.Command(connection,
                "SELECT COALESCE(SUM(unread_count), 0), COALESCE(SUM(unread_count > 0), 0) FROM participants WHERE user_id = $u");
            command.Parameters.AddWithValue("$u", userId.ToString());
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            await reader.ReadAsync(cancellationToken);
            return new UnreadTotal(reader.GetInt64(0), reader.GetInt32(1));
        }, cancellationToken);

    // ---- helpers -----------------------------------------------------------------------------

    private static ConversationRecord ReadConversation(SqliteDataReader r, int o) => new(
        Guid.Parse(r.GetString(o)), r.GetString(o + 1), r.IsDBNull(o + 2) ? null : r.GetString(o + 2), r.GetString(o + 3),
        Guid.Parse(r.GetString(o + 4)), FromMs(r.GetInt64(o + 5)), FromMs(r.GetInt64(o + 6)), r.GetInt64(o + 7));

    private static StoredMessage ReadMessage(SqliteDataReader r, int o) => new(
        Guid.Parse(r.GetString(o)), Guid.Parse(r.GetString(o + 1)), r.GetInt64(o + 2), Guid.Parse(r.GetString(o + 3)),
        r.GetString(o + 4), r.GetString(o + 5), r.IsDBNull(o + 6) ? null : r.GetString(o + 6), r.IsDBNull(o + 7) ? null : r.GetString(o + 7),
        r.GetString(o + 8), r.GetInt32(o + 9), Guid.Parse(r.GetString(o + 10)), FromMs(r.GetInt64(o + 11)), FromMs(r.GetInt64(o + 12)));

    private static string DirectKey(Guid a, Guid b) => a.CompareTo(b) < 0 ? $"{a:N}:{b:N}" : $"{b:N}:{a:N}";

    private static string GuidsJson(IReadOnlyCollection<Guid> ids) =>
        JsonSerializer.Serialize(ids.Select(i => i.ToString()).ToArray(), SqliteJsonContext.Default.StringArray);

    private static long Ms(DateTimeOffset value) => value.ToUnixTimeMilliseconds();

    private static DateTimeOffset FromMs(long value) => DateTimeOffset.FromUnixTimeMilliseconds(value);

    public void Dispose() => _db.Dispose();

    private sealed class ConversationState(long lastSequence, IReadOnlyList<Guid> members)
    {
        public long LastSequence { get; set; } = lastSequence;

        public IReadOnlyList<Guid> Members { get; } = members;
    }

    // Temporary until the outbox lands in this engine (issue 12, same branch).
    public Task<IReadOnlyList<Parley.Core.Events.DomainEvent>> ReadAsync(Parley.Core.Events.EventCursor after, int limit, CancellationToken cancellationToken) => throw new NotSupportedException();

    public Task<Parley.Core.Events.EventCursor> GetCheckpointAsync(string consumer, CancellationToken cancellationToken) => throw new NotSupportedException();

    public Task SaveCheckpointAsync(string consumer, Parley.Core.Events.EventCursor cursor, CancellationToken cancellationToken) => throw new NotSupportedException();
}
