using System.Text;
using Npgsql;
using NpgsqlTypes;
using Parley.Core.Messaging;
using Parley.Core.Ports;

namespace Parley.Postgres;

/// <summary>The production system of record on PostgreSQL (schema from <see cref="PostgresOptions.Schema"/>).</summary>
public sealed class PostgresStore(NpgsqlDataSource dataSource, TimeProvider? time = null) : IUserStore, ISessionStore, IConversationStore, IMessageStore, IReceiptStore, IDomainEventStore
{
    private const string MessageColumns =
        "m.id, m.conversation_id, m.sequence, m.sender_id, m.type, m.content, m.metadata::text, m.client_message_id, m.content_hash, m.size, m.correlation_id, m.accepted_at, m.stored_at";

    private const string ConversationColumns =
        "c.id, c.type, c.title, c.status, c.created_by, c.created_at, c.last_activity_at, c.last_sequence";

    private readonly TimeProvider _time = time ?? TimeProvider.System;

    /// <summary>A data source whose connections use <paramref name="schema"/>; migrations applied when asked.</summary>
    public static async Task<NpgsqlDataSource> CreateDataSourceAsync(string connectionString, string schema, bool migrate, CancellationToken cancellationToken)
    {
        // Auto-prepare: the hot statements are few and repeated, so they are parsed and planned once per connection.
        var builder = new NpgsqlConnectionStringBuilder(connectionString) { SearchPath = schema };
        if (builder.MaxAutoPrepare == 0)
        {
            builder.MaxAutoPrepare = 32;
        }

        var dataSource = NpgsqlDataSource.Create(builder.ConnectionString);
        if (migrate)
        {
            await PostgresMigrations.ApplyAsync(dataSource, schema, cancellationToken);
        }

        return dataSource;
    }

    // ---- users -------------------------------------------------------------------------------

    public async Task<bool> CreateUserAsync(UserRecord user, Parley.Core.Events.EventContext context, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("""
            INSERT INTO users (id, username, display_name, password_hash, created_at) VALUES ($1, $2, $3, $4, $5)
            ON CONFLICT (username) DO NOTHING
            """);
        command.Parameters.Add(new() { Value = user.Id });
        command.Parameters.Add(new() { Value = user.Username });
        command.Parameters.Add(new() { Value = user.DisplayName });
        command.Parameters.Add(new() { Value = user.PasswordHash });
        command.Parameters.Add(new() { Value = T(user.CreatedAt) });
        return await command.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    public Task<UserRecord?> FindByUsernameAsync(string normalizedUsername, CancellationToken cancellationToken) =>
        QueryUserAsync("username = $1", normalizedUsername, cancellationToken);

    public Task<UserRecord?> GetUserAsync(Guid userId, CancellationToken cancellationToken) =>
        QueryUserAsync("id = $1", userId, cancellationToken);

    private async Task<UserRecord?> QueryUserAsync(string where, object value, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand($"SELECT id, username, display_name, password_hash, created_at FROM users WHERE {where}");
        command.Parameters.Add(new() { Value = value });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken)
            ? new UserRecord(reader.GetGuid(0), reader.GetString(1), reader.GetString(2), reader.GetString(3), Time(reader, 4))
            : null;
    }

    public async Task<IReadOnlySet<Guid>> ExistingUsersAsync(IReadOnlyCollection<Guid> userIds, CancellationToken cancellationToken)
    {
        var found = new HashSet<Guid>();
        await using var command = dataSource.CreateCommand("SELECT id FROM users WHERE id = ANY($1)");
        command.Parameters.Add(new() { Value = userIds.ToArray() });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            found.Add(reader.GetGuid(0));
        }

        return found;
    }

    public async Task AddRefreshTokenAsync(RefreshTokenRecord token, Parley.Core.Events.EventContext context, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await InsertRefreshTokenAsync(connection, null, token, cancellationToken);
    }

    private static async Task InsertRefreshTokenAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, RefreshTokenRecord token, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("INSERT INTO refresh_tokens (token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)", connection, transaction);
        command.Parameters.Add(new() { Value = token.TokenHash });
        command.Parameters.Add(new() { Value = token.UserId });
        command.Parameters.Add(new() { Value = T(token.CreatedAt) });
        command.Parameters.Add(new() { Value = T(token.ExpiresAt) });
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task<Guid?> RotateRefreshTokenAsync(string oldHash, RefreshTokenRecord replacement, DateTimeOffset now, Parley.Core.Events.EventContext context, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using var use = new NpgsqlCommand("""
            UPDATE refresh_tokens SET used_at = $2
            WHERE token_hash = $1 AND used_at IS NULL AND revoked_at IS NULL AND expires_at > $2
            RETURNING user_id
            """, connection, transaction);
        use.Parameters.Add(new() { Value = oldHash });
        use.Parameters.Add(new() { Value = T(now) });
        if (await use.ExecuteScalarAsync(cancellationToken) is not Guid userId)
        {
            // A used token presented again means it leaked: revoke everything the user holds.
            await using var revoke = new NpgsqlCommand("""
                UPDATE refresh_tokens SET revoked_at = $2
                WHERE revoked_at IS NULL AND user_id = (SELECT user_id FROM refresh_tokens WHERE token_hash = $1 AND used_at IS NOT NULL)
                """, connection, transaction);
            revoke.Parameters.Add(new() { Value = oldHash });
            revoke.Parameters.Add(new() { Value = T(now) });
            await revoke.ExecuteNonQueryAsync(cancellationToken);
            await transaction.CommitAsync(cancellationToken);
            return null;
        }

        await InsertRefreshTokenAsync(connection, transaction, replacement with { UserId = userId }, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return userId;
    }

    public async Task<bool> RevokeRefreshTokenAsync(string tokenHash, Guid userId, DateTimeOffset now, Parley.Core.Events.EventContext context, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(
            "UPDATE refresh_tokens SET revoked_at = $3 WHERE token_hash = $1 AND user_id = $2 AND revoked_at IS NULL AND used_at IS NULL");
        command.Parameters.Add(new() { Value = tokenHash });
        command.Parameters.Add(new() { Value = userId });
        command.Parameters.Add(new() { Value = T(now) });
        return await command.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    // ---- conversations -----------------------------------------------------------------------

    public async Task<(ConversationRecord Conversation, bool Created)> GetOrCreateDirectAsync(Guid conversationId, Guid creator, Guid other, DateTimeOffset now, Parley.Core.Events.EventContext context, CancellationToken cancellationToken)
    {
        var key = creator.CompareTo(other) < 0 ? $"{creator:N}:{other:N}" : $"{other:N}:{creator:N}";
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using (var insert = new NpgsqlCommand("""
            INSERT INTO conversations (id, type, title, status, direct_key, created_by, created_at, last_activity_at)
            VALUES ($1, 'direct', NULL, 'active', $2, $3, $4, $4)
            ON CONFLICT (direct_key) DO NOTHING
            """, connection, transaction))
        {
            insert.Parameters.Add(new() { Value = conversationId });
            insert.Parameters.Add(new() { Value = key });
            insert.Parameters.Add(new() { Value = creator });
            insert.Parameters.Add(new() { Value = T(now) });
            if (await insert.ExecuteNonQueryAsync(cancellationToken) == 1)
            {
                await AddParticipantsAsync(connection, transaction, conversationId, [(creator, ParticipantRoles.Member), (other, ParticipantRoles.Member)], now, cancellationToken);
                await transaction.CommitAsync(cancellationToken);
                return (new ConversationRecord(conversationId, ConversationTypes.Direct, null, ConversationStatuses.Active, creator, T(now), T(now), 0), true);
            }
        }

        var existing = await QueryConversationAsync(connection, transaction, "c.direct_key = $1", key, cancellationToken)
            ?? throw new InvalidOperationException("Direct conversation vanished");
        await transaction.CommitAsync(cancellationToken);
        return (existing, false);
    }

    public async Task<ConversationRecord> CreateGroupAsync(Guid conversationId, Guid owner, string? title, IReadOnlyCollection<Guid> members, DateTimeOffset now, Parley.Core.Events.EventContext context, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using (var insert = new NpgsqlCommand("""
            INSERT INTO conversations (id, type, title, status, direct_key, created_by, created_at, last_activity_at)
            VALUES ($1, 'group', $2, 'active', NULL, $3, $4, $4)
            """, connection, transaction))
        {
            insert.Parameters.Add(new() { Value = conversationId });
            insert.Parameters.Add(new() { Value = (object?)title ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
            insert.Parameters.Add(new() { Value = owner });
            insert.Parameters.Add(new() { Value = T(now) });
            await insert.ExecuteNonQueryAsync(cancellationToken);
        }

        var roles = members.Where(m => m != owner).Distinct().Select(m => (m, ParticipantRoles.Member)).Prepend((owner, ParticipantRoles.Owner)).ToList();
        await AddParticipantsAsync(connection, transaction, conversationId, roles, now, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return new ConversationRecord(conversationId, ConversationTypes.Group, title, ConversationStatuses.Active, owner, T(now), T(now), 0);
    }

    private static async Task AddParticipantsAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, Guid conversationId, IReadOnlyList<(Guid User, string Role)> members, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("""
            INSERT INTO participants (conversation_id, user_id, role, joined_at)
            SELECT $1, u, r, $4 FROM unnest($2::uuid[], $3::text[]) AS t(u, r)
            ON CONFLICT DO NOTHING
            """, connection, transaction);
        command.Parameters.Add(new() { Value = conversationId });
        command.Parameters.Add(new() { Value = members.Select(m => m.User).ToArray() });
        command.Parameters.Add(new() { Value = members.Select(m => m.Role).ToArray() });
        command.Parameters.Add(new() { Value = T(now) });
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task<ConversationRecord?> GetConversationAsync(Guid conversationId, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return await QueryConversationAsync(connection, null, "c.id = $1", conversationId, cancellationToken);
    }

    private static async Task<ConversationRecord?> QueryConversationAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, string where, object value, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand($"SELECT {ConversationColumns} FROM conversations c WHERE {where}", connection, transaction);
        command.Parameters.Add(new() { Value = value });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? ReadConversation(reader, 0) : null;
    }

    public async Task<ParticipantRecord?> GetParticipantAsync(Guid conversationId, Guid userId, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("""
            SELECT role, joined_at, last_delivered_seq, last_read_seq, unread_count FROM participants
            WHERE conversation_id = $1 AND user_id = $2
            """);
        command.Parameters.Add(new() { Value = conversationId });
        command.Parameters.Add(new() { Value = userId });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken)
            ? new ParticipantRecord(conversationId, userId, reader.GetString(0), Time(reader, 1), new ReceiptWatermarks(reader.GetInt64(2), reader.GetInt64(3)), reader.GetInt64(4))
            : null;
    }

    public async Task<IReadOnlyList<Guid>> GetMemberIdsAsync(Guid conversationId, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return await QueryMemberIdsAsync(connection, null, conversationId, cancellationToken);
    }

    private static async Task<IReadOnlyList<Guid>> QueryMemberIdsAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, Guid conversationId, CancellationToken cancellationToken)
    {
        var members = new List<Guid>();
        await using var command = new NpgsqlCommand("SELECT user_id FROM participants WHERE conversation_id = $1 ORDER BY joined_at, user_id", connection, transaction);
        command.Parameters.Add(new() { Value = conversationId });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            members.Add(reader.GetGuid(0));
        }

        return members;
    }

    public async Task<ConversationPage> ListConversationsAsync(Guid userId, ConversationCursor? after, int limit, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var rows = new List<(ConversationRecord Conversation, long Unread, StoredMessage? Last)>();
        await using (var command = new NpgsqlCommand($"""
            SELECT {ConversationColumns}, p.unread_count, {MessageColumns}
            FROM participants p
            JOIN conversations c ON c.id = p.conversation_id
            LEFT JOIN messages m ON m.id = c.last_message_id
            WHERE p.user_id = $1 AND ($2::timestamptz IS NULL OR (c.last_activity_at, c.id) < ($2, $3))
            ORDER BY c.last_activity_at DESC, c.id DESC
            LIMIT $4
            """, connection))
        {
            command.Parameters.Add(new() { Value = userId });
            command.Parameters.Add(new() { Value = after is null ? DBNull.Value : T(after.LastActivityAt), NpgsqlDbType = NpgsqlDbType.TimestampTz });
            command.Parameters.Add(new() { Value = after?.Id ?? Guid.Empty });
            command.Parameters.Add(new() { Value = limit + 1 });
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                rows.Add((ReadConversation(reader, 0), reader.GetInt64(8), reader.IsDBNull(9) ? null : ReadMessage(reader, 9)));
            }
        }

        var hasMore = Paging.TrimProbe(rows, limit);

        var members = new Dictionary<Guid, List<Guid>>();
        await using (var command = new NpgsqlCommand("SELECT conversation_id, user_id FROM participants WHERE conversation_id = ANY($1) ORDER BY joined_at, user_id", connection))
        {
            command.Parameters.Add(new() { Value = rows.Select(r => r.Conversation.Id).ToArray() });
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                var id = reader.GetGuid(0);
                if (!members.TryGetValue(id, out var list))
                {
                    members[id] = list = [];
                }

                list.Add(reader.GetGuid(1));
            }
        }

        var items = rows.Select(r => new ConversationSummary(r.Conversation, members.GetValueOrDefault(r.Conversation.Id) ?? [], r.Unread, r.Last)).ToList();
        var last = items.LastOrDefault()?.Conversation;
        return new ConversationPage(items, hasMore && last is not null ? new ConversationCursor(last.LastActivityAt, last.Id) : null);
    }

    // ---- messages ----------------------------------------------------------------------------

    /// <summary>
    /// Set-based: whatever the batch size, one transaction of a handful of statements. The batch's
    /// conversations are locked, duplicates found up front, sequences assigned in batch order, then the
    /// messages go in as one multi-row insert and the conversation and participant counters as one update each.
    /// </summary>
    public async Task<IReadOnlyList<PersistResult>> PersistBatchAsync(IReadOnlyList<MessageEnvelope> batch, PartitionFence? fence, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var storedAt = T(_time.GetUtcNow());
        var conversationIds = batch.Select(e => e.ConversationId).Distinct().ToArray();

        // Lock in id order, so concurrent batches cannot deadlock, and read the sequences and members.
        var states = new Dictionary<Guid, ConversationState>();

        // Everything stored already or earlier in this batch, by message id and by idempotency key.
        var seen = new HashSet<string>(StringComparer.Ordinal);
        await using (var read = new NpgsqlBatch(connection, transaction))
        {
            if (fence is not null)
            {
                // First, and held to commit: the partition's batches commit one after another, and a holder whose lease
                // was taken over finds the newer epoch here (no row back) and writes nothing. In the same round trip.
                read.BatchCommands.Add(Command("""
                    INSERT INTO partition_fences AS f (partition, epoch) VALUES ($1, $2)
                    ON CONFLICT (partition) DO UPDATE SET epoch = excluded.epoch WHERE f.epoch <= excluded.epoch
                    RETURNING epoch
                    """, fence.Partition, fence.Epoch));
            }

            read.BatchCommands.Add(Command("SELECT id, last_sequence FROM conversations WHERE id = ANY($1) ORDER BY id FOR UPDATE", conversationIds));
            read.BatchCommands.Add(Command("SELECT conversation_id, user_id FROM participants WHERE conversation_id = ANY($1) ORDER BY joined_at, user_id", conversationIds));
            read.BatchCommands.Add(Command("SELECT id, idempotency_key FROM messages WHERE id = ANY($1) OR idempotency_key = ANY($2)",
                batch.Select(e => e.MessageId).ToArray(), batch.Select(e => e.IdempotencyKey).ToArray()));
            await using var reader = await read.ExecuteReaderAsync(cancellationToken);
            if (fence is not null)
            {
                if (!await reader.ReadAsync(cancellationToken))
                {
                    throw new PartitionFencedException(fence.Partition, fence.Epoch);
                }

                await reader.NextResultAsync(cancellationToken);
            }

            while (await reader.ReadAsync(cancellationToken))
            {
                states[reader.GetGuid(0)] = new ConversationState(reader.GetInt64(1));
            }

            await reader.NextResultAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                states[reader.GetGuid(0)].Members.Add(reader.GetGuid(1));
            }

            await reader.NextResultAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                seen.Add(reader.GetGuid(0).ToString());
                seen.Add(reader.GetString(1));
            }
        }

        var results = new List<PersistResult>(batch.Count);
        var inserted = new List<StoredMessage>();
        var keys = new List<string>();
        var effects = new Dictionary<(Guid Conversation, Guid User), ParticipantEffect>();
        foreach (var envelope in batch)
        {
            if (!states.TryGetValue(envelope.ConversationId, out var state))
            {
                results.Add(PersistResult.Rejected(envelope, "conversation does not exist"));
                continue;
            }

            if (!seen.Add(envelope.MessageId.ToString()) | !seen.Add(envelope.IdempotencyKey))
            {
                results.Add(new PersistResult(envelope, PersistOutcome.Duplicate, null, state.Members, null));
                continue;
            }

            var message = new StoredMessage(envelope.MessageId, envelope.ConversationId, ++state.LastSequence, envelope.SenderId, envelope.Type,
                envelope.Content, envelope.Metadata, envelope.ClientMessageId, IdempotencyKeys.ContentHash(envelope.Content),
                Encoding.UTF8.GetByteCount(envelope.Content), envelope.CorrelationId, T(envelope.AcceptedAt), storedAt);
            inserted.Add(message);
            keys.Add(envelope.IdempotencyKey);
            state.LastActivity = state.LastActivity > message.AcceptedAt ? state.LastActivity : message.AcceptedAt;
            state.LastMessage = message.Id;
            foreach (var member in state.Members)
            {
                var effect = effects.TryGetValue((message.ConversationId, member), out var e) ? e : new ParticipantEffect();
                // The sender has read everything up to their own message; everyone else has one more unread.
                effects[(message.ConversationId, member)] = member == message.SenderId
                    ? effect with { Reset = true, Added = 0, ReadTo = message.Sequence }
                    : effect with { Added = effect.Added + 1 };
            }

            results.Add(new PersistResult(envelope, PersistOutcome.Inserted, message, state.Members, null));
        }

        if (inserted.Count > 0)
        {
            await using var write = new NpgsqlBatch(connection, transaction);
            write.BatchCommands.Add(Command("""
                INSERT INTO messages (id, conversation_id, sequence, sender_id, type, content, metadata, client_message_id,
                                      idempotency_key, content_hash, size, correlation_id, accepted_at, stored_at)
                SELECT id, conversation_id, sequence, sender_id, type, content, metadata::json, client_message_id,
                       idempotency_key, content_hash, size, correlation_id, accepted_at, $14
                FROM unnest($1::uuid[], $2::uuid[], $3::bigint[], $4::uuid[], $5::text[], $6::text[], $7::text[], $8::text[],
                            $9::text[], $10::text[], $11::int[], $12::uuid[], $13::timestamptz[])
                     AS t(id, conversation_id, sequence, sender_id, type, content, metadata, client_message_id,
                          idempotency_key, content_hash, size, correlation_id, accepted_at)
                """,
                inserted.Select(m => m.Id).ToArray(), inserted.Select(m => m.ConversationId).ToArray(), inserted.Select(m => m.Sequence).ToArray(),
                inserted.Select(m => m.SenderId).ToArray(), inserted.Select(m => m.Type).ToArray(), inserted.Select(m => m.Content).ToArray(),
                inserted.Select(m => m.Metadata).ToArray(), inserted.Select(m => m.ClientMessageId).ToArray(), keys.ToArray(),
                inserted.Select(m => m.ContentHash).ToArray(), inserted.Select(m => m.Size).ToArray(), inserted.Select(m => m.CorrelationId).ToArray(),
                inserted.Select(m => m.AcceptedAt).ToArray(), storedAt));
            var touched = states.Where(s => s.Value.LastMessage is not null).ToList();
            write.BatchCommands.Add(Command("""
                UPDATE conversations c SET last_sequence = t.seq, last_activity_at = GREATEST(c.last_activity_at, t.at), last_message_id = t.msg
                FROM unnest($1::uuid[], $2::bigint[], $3::timestamptz[], $4::uuid[]) AS t(id, seq, at, msg)
                WHERE c.id = t.id
                """,
                touched.Select(s => s.Key).ToArray(), touched.Select(s => s.Value.LastSequence).ToArray(),
                touched.Select(s => s.Value.LastActivity).ToArray(), touched.Select(s => s.Value.LastMessage!.Value).ToArray()));
            var changes = effects.ToList();
            write.BatchCommands.Add(Command("""
                UPDATE participants p SET
                    unread_count = CASE WHEN t.reset THEN t.added ELSE p.unread_count + t.added END,
                    last_read_seq = GREATEST(p.last_read_seq, t.read_to),
                    last_delivered_seq = GREATEST(p.last_delivered_seq, t.read_to)
                FROM unnest($1::uuid[], $2::uuid[], $3::boolean[], $4::bigint[], $5::bigint[]) AS t(conversation_id, user_id, reset, added, read_to)
                WHERE p.conversation_id = t.conversation_id AND p.user_id = t.user_id
                """,
                changes.Select(c => c.Key.Conversation).ToArray(), changes.Select(c => c.Key.User).ToArray(), changes.Select(c => c.Value.Reset).ToArray(),
                changes.Select(c => c.Value.Added).ToArray(), changes.Select(c => c.Value.ReadTo).ToArray()));
            await write.ExecuteNonQueryAsync(cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
        return results;
    }

    private static NpgsqlBatchCommand Command(string sql, params object?[] values)
    {
        var command = new NpgsqlBatchCommand(sql);
        foreach (var value in values)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = value ?? DBNull.Value });
        }

        return command;
    }

    public async Task<MessagePage> GetMessagesAsync(Guid conversationId, HistoryQuery query, CancellationToken cancellationToken)
    {
        if (query.Around is not null)
        {
            return await GetMessagesAroundAsync(conversationId, query, cancellationToken);
        }

        var forward = query.After is not null;
        await using var command = dataSource.CreateCommand($"""
            SELECT {MessageColumns} FROM messages m
            WHERE m.conversation_id = $1 AND m.sequence > $2 AND m.sequence < $3
            ORDER BY m.sequence {(forward ? "ASC" : "DESC")} LIMIT $4
            """);
        command.Parameters.Add(new() { Value = conversationId });
        command.Parameters.Add(new() { Value = query.After ?? 0L });
        command.Parameters.Add(new() { Value = query.Before ?? long.MaxValue });
        command.Parameters.Add(new() { Value = query.Limit + 1 });
        var items = new List<StoredMessage>();
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                items.Add(ReadMessage(reader, 0));
            }
        }

        return Paging.History(items, query);
    }

    public Task<StoredMessage?> GetMessageAsync(Guid messageId, CancellationToken cancellationToken) =>
        QueryMessageAsync("m.id = $1", messageId, cancellationToken);

    public Task<StoredMessage?> FindByIdempotencyKeyAsync(string idempotencyKey, CancellationToken cancellationToken) =>
        QueryMessageAsync("m.idempotency_key = $1", idempotencyKey, cancellationToken);

    public async Task<IReadOnlyDictionary<string, Guid>> FindIdsByIdempotencyKeysAsync(IReadOnlyCollection<string> idempotencyKeys, CancellationToken cancellationToken)
    {
        var found = new Dictionary<string, Guid>(StringComparer.Ordinal);
        if (idempotencyKeys.Count == 0)
        {
            return found;
        }

        await using var command = dataSource.CreateCommand("SELECT idempotency_key, id FROM messages WHERE idempotency_key = ANY($1)");
        command.Parameters.Add(new() { Value = idempotencyKeys.ToArray() });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            found[reader.GetString(0)] = reader.GetGuid(1);
        }

        return found;
    }

    private async Task<StoredMessage?> QueryMessageAsync(string where, object value, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand($"SELECT {MessageColumns} FROM messages m WHERE {where}");
        command.Parameters.Add(new() { Value = value });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? ReadMessage(reader, 0) : null;
    }

    public async Task<ReceiptUpdate?> AdvanceReceiptAsync(Guid conversationId, Guid userId, ReceiptKind kind, long upToSequence, Parley.Core.Events.EventContext context, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        long lastSequence, delivered, read, unread;
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

            (lastSequence, delivered, read, unread) = (reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2), reader.GetInt64(3));
        }

        var before = new ReceiptWatermarks(delivered, read);
        var after = before.Advance(kind, upToSequence, lastSequence);
        if (after == before)
        {
            await transaction.CommitAsync(cancellationToken);
            return new ReceiptUpdate(conversationId, userId, kind, before, unread, Advanced: false);
        }

        await using var update = new NpgsqlCommand("""
            UPDATE participants SET last_delivered_seq = $3, last_read_seq = $4,
                unread_count = (SELECT COUNT(*) FROM messages WHERE conversation_id = $1 AND sequence > $4 AND sender_id <> $2)
            WHERE conversation_id = $1 AND user_id = $2
            RETURNING unread_count
            """, connection, transaction);
        update.Parameters.Add(new() { Value = conversationId });
        update.Parameters.Add(new() { Value = userId });
        update.Parameters.Add(new() { Value = after.Delivered });
        update.Parameters.Add(new() { Value = after.Read });
        var newUnread = (long)(await update.ExecuteScalarAsync(cancellationToken))!;
        await transaction.CommitAsync(cancellationToken);
        return new ReceiptUpdate(conversationId, userId, kind, after, newUnread, Advanced: true);
    }

    public Task<MessageStatusRecord?> GetMessageStatusAsync(Guid messageId, CancellationToken cancellationToken) =>
        QueryMessageStatusAsync("m.id = $1", messageId, cancellationToken);

    private async Task<MessageStatusRecord?> QueryMessageStatusAsync(string where, object value, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand($"""
            SELECT {MessageColumns},
                COUNT(p.user_id)::int,
                COUNT(p.user_id) FILTER (WHERE p.last_delivered_seq >= m.sequence)::int,
                COUNT(p.user_id) FILTER (WHERE p.last_read_seq >= m.sequence)::int
            FROM messages m
            LEFT JOIN participants p ON p.conversation_id = m.conversation_id AND p.user_id <> m.sender_id
            WHERE {where}
            GROUP BY m.id
            """);
        command.Parameters.Add(new() { Value = value });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken)
            ? new MessageStatusRecord(ReadMessage(reader, 0), reader.GetInt32(13), reader.GetInt32(14), reader.GetInt32(15))
            : null;
    }

    public Task<MessageStatusRecord?> GetMessageStatusByIdempotencyKeyAsync(string idempotencyKey, CancellationToken cancellationToken) =>
        QueryMessageStatusAsync("m.idempotency_key = $1", idempotencyKey, cancellationToken);

    /// <summary>Both sides of an around page in one round trip; each side walks the (conversation, sequence) index from the anchor.</summary>
    private async Task<MessagePage> GetMessagesAroundAsync(Guid conversationId, HistoryQuery query, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand($"""
            (SELECT {MessageColumns} FROM messages m WHERE m.conversation_id = $1 AND m.sequence < $2 ORDER BY m.sequence DESC LIMIT $3)
            UNION ALL
            (SELECT {MessageColumns} FROM messages m WHERE m.conversation_id = $1 AND m.sequence >= $2 ORDER BY m.sequence ASC LIMIT $4)
            """);
        command.Parameters.Add(new() { Value = conversationId });
        command.Parameters.Add(new() { Value = query.Around!.Value });
        command.Parameters.Add(new() { Value = query.AroundOlder + 1 });
        command.Parameters.Add(new() { Value = query.AroundNewer + 1 });
        var items = new List<StoredMessage>();
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                items.Add(ReadMessage(reader, 0));
            }
        }

        return Paging.Around(items, query);
    }

    public async Task<UnreadTotal> GetUnreadTotalAsync(Guid userId, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(
            "SELECT COALESCE(SUM(unread_count), 0)::bigint, (COUNT(*) FILTER (WHERE unread_count > 0))::int FROM participants WHERE user_id = $1");
        command.Parameters.Add(new() { Value = userId });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        return new UnreadTotal(reader.GetInt64(0), reader.GetInt32(1));
    }

    // ---- helpers -----------------------------------------------------------------------------

    private static ConversationRecord ReadConversation(NpgsqlDataReader r, int o) => new(
        r.GetGuid(o), r.GetString(o + 1), r.IsDBNull(o + 2) ? null : r.GetString(o + 2), r.GetString(o + 3),
        r.GetGuid(o + 4), Time(r, o + 5), Time(r, o + 6), r.GetInt64(o + 7));

    private static StoredMessage ReadMessage(NpgsqlDataReader r, int o) => new(
        r.GetGuid(o), r.GetGuid(o + 1), r.GetInt64(o + 2), r.GetGuid(o + 3), r.GetString(o + 4), r.GetString(o + 5),
        r.IsDBNull(o + 6) ? null : r.GetString(o + 6), r.IsDBNull(o + 7) ? null : r.GetString(o + 7),
        r.GetString(o + 8), r.GetInt32(o + 9), r.GetGuid(o + 10), Time(r, o + 11), Time(r, o + 12));

    private static DateTimeOffset Time(NpgsqlDataReader reader, int ordinal) => reader.GetFieldValue<DateTimeOffset>(ordinal);

    /// <summary>Milliseconds in UTC: what the API and the keyset cursors carry, whatever engine stores it.</summary>
    private static DateTimeOffset T(DateTimeOffset value) => value.AddTicks(-(value.Ticks % TimeSpan.TicksPerMillisecond)).ToUniversalTime();

    private sealed class ConversationState(long lastSequence)
    {
        public long LastSequence { get; set; } = lastSequence;

        public List<Guid> Members { get; } = [];

        public DateTimeOffset LastActivity { get; set; } = DateTimeOffset.MinValue;

        public Guid? LastMessage { get; set; }
    }

    /// <summary>What a batch does to one participant: unread added (after an optional reset) and read watermark.</summary>
    private readonly record struct ParticipantEffect(bool Reset, long Added, long ReadTo);

    // Temporary until the outbox lands in this engine (issue 12, same branch).
    public Task<IReadOnlyList<Parley.Core.Events.DomainEvent>> ReadAsync(Parley.Core.Events.EventCursor after, int limit, CancellationToken cancellationToken) => throw new NotSupportedException();

    public Task<Parley.Core.Events.EventCursor> GetCheckpointAsync(string consumer, CancellationToken cancellationToken) => throw new NotSupportedException();

    public Task SaveCheckpointAsync(string consumer, Parley.Core.Events.EventCursor cursor, CancellationToken cancellationToken) => throw new NotSupportedException();
}
