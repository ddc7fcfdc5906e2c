using Dapper;
using Npgsql;
using NpgsqlTypes;
using Parley.Core.Events;
using Parley.Core.Membership;
using Parley.Core.Persistence;
using Parley.Core.Ports;
using Parley.Postgres.Internal;
using static Parley.Postgres.Internal.PostgresRows;

namespace Parley.Postgres;

/// <summary>Conversations and their members on PostgreSQL; the conversation list stays hand-tuned Npgsql (a hot read).</summary>
public sealed class PostgresConversationStore(NpgsqlDataSource dataSource) : IConversationStore
{
    public async Task<(ConversationRecord Conversation, bool Created)> GetOrCreateDirectAsync(Guid conversationId, Guid creator, Guid other, DateTimeOffset now, EventContext context, CancellationToken cancellationToken)
    {
        now = StoreTime.Truncate(now);
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
            insert.Parameters.Add(new() { Value = now });
            if (await insert.ExecuteNonQueryAsync(cancellationToken) == 1)
            {
                var conversation = new ConversationRecord(conversationId, ConversationTypes.Direct, null, ConversationStatuses.Active, creator, now, now, 0);
                await CreatedAsync(connection, transaction, conversation, [(creator, ParticipantRoles.Member), (other, ParticipantRoles.Member)], context, cancellationToken);
                return (conversation, true);
            }
        }

        var existing = await QueryConversationAsync(connection, transaction, "c.direct_key = $1", key, cancellationToken)
            ?? throw new InvalidOperationException("Direct conversation vanished");
        await transaction.CommitAsync(cancellationToken);
        return (existing, false);
    }

    public async Task<(ConversationRecord Conversation, bool Created)> CreateAsync(NewConversation spec, DateTimeOffset now, EventContext context, CancellationToken cancellationToken)
    {
        now = StoreTime.Truncate(now);
        var contextKey = ConversationRecords.ContextKey(spec);
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using (var insert = new NpgsqlCommand("""
            INSERT INTO conversations (id, type, title, status, direct_key, created_by, created_at, last_activity_at, description, avatar_url, metadata, visibility,
                                       context_type, context_id, context_metadata, context_key)
            VALUES ($1, $2, $3, 'active', NULL, $4, $5, $5, $6, $7, $8::json, $9, $10, $11, $12::json, $13)
            ON CONFLICT (context_key) WHERE context_key IS NOT NULL DO NOTHING
            """, connection, transaction))
        {
            insert.Parameters.Add(new() { Value = spec.Id });
            insert.Parameters.Add(new() { Value = spec.Type });
            insert.Parameters.Add(Text(spec.Title));
            insert.Parameters.Add(new() { Value = spec.Owner });
            insert.Parameters.Add(new() { Value = now });
            insert.Parameters.Add(Text(spec.Description));
            insert.Parameters.Add(Text(spec.AvatarUrl));
            insert.Parameters.Add(Text(spec.Metadata));
            insert.Parameters.Add(new() { Value = spec.Visibility });
            insert.Parameters.Add(Text(spec.Context?.Type));
            insert.Parameters.Add(Text(spec.Context?.Id));
            insert.Parameters.Add(Text(spec.Context?.Metadata));
            insert.Parameters.Add(Text(contextKey));
            if (await insert.ExecuteNonQueryAsync(cancellationToken) == 0)
            {
                // Another request made this context's conversation first (the insert waited for it to commit).
                var existing = await QueryConversationAsync(connection, transaction, "c.context_key = $1", contextKey!, cancellationToken)
                    ?? throw new InvalidOperationException("Context conversation vanished");
                await transaction.CommitAsync(cancellationToken);
                return (existing, false);
            }
        }

        var conversation = ConversationRecords.Created(spec, now);
        await CreatedAsync(connection, transaction, conversation, ConversationRecords.InitialRoles(spec), context, cancellationToken, spec.Sides);
        return (conversation, true);
    }

    private static NpgsqlParameter Text(string? value) => new() { Value = (object?)value ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text };

    public async Task<MembershipResult> ChangeMembershipAsync(Guid conversationId, MembershipCommand command, DateTimeOffset now, EventContext context, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var (error, plan) = MembershipPlanner.Plan(conversationId, await LoadMembershipAsync(connection, transaction, conversationId, command, cancellationToken), command, now, context);
        if (plan is null)
        {
            return new MembershipResult(error, null);
        }

        await using var write = new NpgsqlBatch(connection, transaction);
        if (plan.Inserts.Count > 0)
        {
            // A newcomer has seen and read everything so far: joining does not make the history unread.
            write.BatchCommands.Add(Command("""
                INSERT INTO participants (conversation_id, user_id, role, joined_at, last_delivered_seq, last_read_seq, side)
                SELECT $1, u, r, $4, $5, $5, s FROM unnest($2::uuid[], $3::text[], $6::text[]) AS t(u, r, s)
                ON CONFLICT DO NOTHING
                """, conversationId, plan.Inserts.Select(m => m.UserId).ToArray(), plan.Inserts.Select(m => m.Role).ToArray(),
                plan.Inserts[0].JoinedAt, plan.Change.Conversation.LastSequence, plan.Inserts.Select(m => m.Side).ToArray()));
        }

        if (plan.Deletes.Count > 0)
        {
            write.BatchCommands.Add(Command("DELETE FROM participants WHERE conversation_id = $1 AND user_id = ANY($2)", conversationId, plan.Deletes.ToArray()));
        }

        if (plan.RoleUpdates.Count > 0)
        {
            write.BatchCommands.Add(Command("""
                UPDATE participants p SET role = t.r FROM unnest($2::uuid[], $3::text[]) AS t(u, r)
                WHERE p.conversation_id = $1 AND p.user_id = t.u
                """, conversationId, plan.RoleUpdates.Select(r => r.UserId).ToArray(), plan.RoleUpdates.Select(r => r.Role).ToArray()));
        }

        if (plan.ConversationUpdate is { } u)
        {
            write.BatchCommands.Add(Command("""
                UPDATE conversations SET title = $2, description = $3, avatar_url = $4, metadata = $5::json, visibility = $6, status = $7, message_ttl_seconds = $8::int
                WHERE id = $1
                """, conversationId, u.Title, u.Description, u.AvatarUrl, u.Metadata, u.Visibility, u.Status, u.MessageTtlSeconds));
            foreach (var p in write.BatchCommands[^1].Parameters.Skip(1).Take(4))
            {
                p.NpgsqlDbType = NpgsqlDbType.Text;
            }
        }

        if (plan.InviteInsert is { } created)
        {
            write.BatchCommands.Add(Command("""
                INSERT INTO conversation_invites (code, conversation_id, created_by, created_at, expires_at, max_uses, uses, revoked_at)
                VALUES ($1, $2, $3, $4, $5, $6, 0, NULL)
                """, created.Code, conversationId, created.CreatedBy, created.CreatedAt, created.ExpiresAt, created.MaxUses));
            write.BatchCommands[^1].Parameters[4].NpgsqlDbType = NpgsqlDbType.TimestampTz;
            write.BatchCommands[^1].Parameters[5].NpgsqlDbType = NpgsqlDbType.Integer;
        }

        if (plan.InviteUpdate is { } updated)
        {
            write.BatchCommands.Add(Command("UPDATE conversation_invites SET uses = $2, revoked_at = $3 WHERE code = $1", updated.Code, updated.Uses, updated.RevokedAt));
            write.BatchCommands[^1].Parameters[2].NpgsqlDbType = NpgsqlDbType.TimestampTz;
        }

        if (plan.Events.Count > 0)
        {
            write.BatchCommands.Add(PostgresOutbox.Append(plan.Events));
            await write.ExecuteNonQueryAsync(cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
        return new MembershipResult(null, plan.Change);
    }

    /// <summary>The conversation row locked (membership changes of one conversation take turns), then the rows the command involves.</summary>
    private static async Task<MembershipState?> LoadMembershipAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, Guid conversationId, MembershipCommand command, CancellationToken cancellationToken)
    {
        var conversation = await QueryConversationAsync(connection, transaction, "c.id = $1 FOR UPDATE", conversationId, cancellationToken);
        if (conversation is null)
        {
            return null;
        }

        await using var read = new NpgsqlBatch(connection, transaction);
        read.BatchCommands.Add(Command("SELECT user_id, role, joined_at FROM participants WHERE conversation_id = $1 AND user_id = ANY($2)",
            conversationId, command.Involved.Distinct().ToArray()));
        read.BatchCommands.Add(Command("SELECT COUNT(*)::int, (COUNT(*) FILTER (WHERE role = 'owner'))::int FROM participants WHERE conversation_id = $1", conversationId));
        read.BatchCommands.Add(Command($"""
            SELECT user_id, role, joined_at FROM participants WHERE conversation_id = $1 AND user_id <> $2 AND role <> 'owner' AND $3
            ORDER BY {ConversationRecords.SuccessionOrder}, joined_at, user_id LIMIT 1
            """, conversationId, command.Actor, command is LeaveCommand));
        read.BatchCommands.Add(Command($"SELECT {InviteColumns} FROM conversation_invites WHERE code = $1 AND conversation_id = $2", command.InviteCode ?? "", conversationId));
        await using var reader = await read.ExecuteReaderAsync(cancellationToken);
        var members = new Dictionary<Guid, MemberRecord>();
        while (await reader.ReadAsync(cancellationToken))
        {
            members[reader.GetGuid(0)] = new MemberRecord(reader.GetGuid(0), reader.GetString(1), Time(reader, 2));
        }

        await reader.NextResultAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        var (count, owners) = (reader.GetInt32(0), reader.GetInt32(1));
        await reader.NextResultAsync(cancellationToken);
        var successor = await reader.ReadAsync(cancellationToken) ? new MemberRecord(reader.GetGuid(0), reader.GetString(1), Time(reader, 2)) : null;
        await reader.NextResultAsync(cancellationToken);
        var invite = await reader.ReadAsync(cancellationToken) ? ReadInvite(reader) : null;
        return new MembershipState(conversation, members, count, owners, successor) { Invite = invite };
    }

    private const string InviteColumns = "code, conversation_id, created_by, created_at, expires_at, max_uses, uses, revoked_at";

    private static InviteRecord ReadInvite(NpgsqlDataReader r) => new(
        r.GetString(0), r.GetGuid(1), r.GetGuid(2), Time(r, 3), r.IsDBNull(4) ? null : Time(r, 4), r.IsDBNull(5) ? null : r.GetInt32(5), r.GetInt32(6),
        r.IsDBNull(7) ? null : Time(r, 7));

    public async Task<InviteRecord?> GetInviteAsync(string code, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand($"SELECT {InviteColumns} FROM conversation_invites WHERE code = $1");
        command.Parameters.Add(new() { Value = code });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? ReadInvite(reader) : null;
    }

    public async Task<IReadOnlyList<InviteRecord>> ListInvitesAsync(Guid conversationId, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand($"SELECT {InviteColumns} FROM conversation_invites WHERE conversation_id = $1 ORDER BY created_at DESC, code");
        command.Parameters.Add(new() { Value = conversationId });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var invites = new List<InviteRecord>();
        while (await reader.ReadAsync(cancellationToken))
        {
            invites.Add(ReadInvite(reader));
        }

        return invites;
    }

    public async Task<ChannelPage> SearchChannelsAsync(string? query, ConversationCursor? after, int limit, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand($"""
            SELECT {ConversationColumns}, (SELECT COUNT(*)::int FROM participants p WHERE p.conversation_id = c.id)
            FROM conversations c
            WHERE c.type = 'channel' AND c.visibility = 'public' AND c.status = 'active'
              AND ($1::text IS NULL OR lower(c.title) LIKE $1 ESCAPE '\')
              AND ($2::timestamptz IS NULL OR (c.last_activity_at, c.id) < ($2, $3))
            ORDER BY c.last_activity_at DESC, c.id DESC
            LIMIT $4
            """);
        command.Parameters.Add(Text(query is null ? null : ConversationRecords.PrefixPattern(query)));
        command.Parameters.Add(new() { Value = after is null ? DBNull.Value : StoreTime.Truncate(after.LastActivityAt), NpgsqlDbType = NpgsqlDbType.TimestampTz });
        command.Parameters.Add(new() { Value = after?.Id ?? Guid.Empty });
        command.Parameters.Add(new() { Value = limit + 1 });
        var rows = new List<ChannelSummary>();
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                rows.Add(new ChannelSummary(ReadConversation(reader, 0), reader.GetInt32(ConversationColumnCount)));
            }
        }

        var hasMore = Paging.TrimProbe(rows, limit);
        var last = rows.LastOrDefault()?.Conversation;
        return new ChannelPage(rows, hasMore && last is not null ? new ConversationCursor(last.LastActivityAt, last.Id) : null);
    }

    /// <summary>A new conversation's members and its event, then commit.</summary>
    private static async Task CreatedAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, ConversationRecord conversation, IReadOnlyList<(Guid User, string Role)> members, EventContext context, CancellationToken cancellationToken, IReadOnlyDictionary<Guid, string>? sides = null)
    {
        await using (var command = new NpgsqlCommand("""
            INSERT INTO participants (conversation_id, user_id, role, joined_at, side)
            SELECT $1, u, r, $4, s FROM unnest($2::uuid[], $3::text[], $5::text[]) AS t(u, r, s)
            ON CONFLICT DO NOTHING
            """, connection, transaction))
        {
            command.Parameters.Add(new() { Value = conversation.Id });
            command.Parameters.Add(new() { Value = members.Select(m => m.User).ToArray() });
            command.Parameters.Add(new() { Value = members.Select(m => m.Role).ToArray() });
            command.Parameters.Add(new() { Value = conversation.CreatedAt });
            command.Parameters.Add(new() { Value = members.Select(m => sides?.GetValueOrDefault(m.User)).ToArray() });
            await command.ExecuteNonQueryAsync(cancellationToken);
        }

        await PostgresOutbox.AppendAsync(connection, transaction, ChangeEvents.ConversationCreated(conversation, members, context), cancellationToken);
        await transaction.CommitAsync(cancellationToken);
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
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return await QueryParticipantAsync(connection, null, conversationId, userId, cancellationToken);
    }

    /// <summary>In a transaction the row is locked until it ends.</summary>
    private static async Task<ParticipantRecord?> QueryParticipantAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, Guid conversationId, Guid userId, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand($"""
            SELECT p.role, p.joined_at, p.last_delivered_seq, p.last_read_seq, p.unread_count, {SettingsColumns}, p.side, p.unread_mentions
            FROM participants p WHERE p.conversation_id = $1 AND p.user_id = $2{(transaction is null ? "" : " FOR UPDATE")}
            """, connection, transaction);
        command.Parameters.Add(new() { Value = conversationId });
        command.Parameters.Add(new() { Value = userId });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken)
            ? new ParticipantRecord(conversationId, userId, reader.GetString(0), Time(reader, 1), new Parley.Core.Messaging.ReceiptWatermarks(reader.GetInt64(2), reader.GetInt64(3)), reader.GetInt64(4))
            {
                Settings = ReadSettings(reader, 5),
                Side = reader.IsDBNull(5 + SettingsColumnCount) ? null : reader.GetString(5 + SettingsColumnCount),
                UnreadMentions = reader.GetInt64(6 + SettingsColumnCount),
            }
            : null;
    }

    public async Task<MemberSettingsResult?> ChangeSettingsAsync(Guid conversationId, Guid userId, MemberSettingsChange change, DateTimeOffset now, EventContext context, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        // Locked: two changes of one member's settings (from two devices) take turns, so neither undoes the other's fields.
        var participant = await QueryParticipantAsync(connection, transaction, conversationId, userId, cancellationToken);
        if (participant is null)
        {
            return null;
        }

        var (next, changed) = MemberSettingsPlanner.Plan(conversationId, userId, participant.Settings, change, now, context);
        if (changed is not null)
        {
            await using var write = new NpgsqlBatch(connection, transaction);
            write.BatchCommands.Add(Command("""
                UPDATE participants SET muted = $3, muted_until = $4, pinned_at = $5, archived = $6 WHERE conversation_id = $1 AND user_id = $2
                """, conversationId, userId, next.Muted, next.MutedUntil, next.PinnedAt, next.Archived));
            foreach (var p in write.BatchCommands[^1].Parameters.Skip(3).Take(2))
            {
                p.NpgsqlDbType = NpgsqlDbType.TimestampTz;
            }

            write.BatchCommands.Add(PostgresOutbox.Append([changed]));
            await write.ExecuteNonQueryAsync(cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
        return new MemberSettingsResult(next, changed is not null);
    }

    public async Task<IReadOnlyList<Guid>> GetMemberIdsAsync(Guid conversationId, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var members = await connection.QueryAsync<Guid>(new CommandDefinition(
            "SELECT user_id FROM participants WHERE conversation_id = @conversationId ORDER BY joined_at, user_id", new { conversationId }, cancellationToken: cancellationToken));
        return members.AsList();
    }

    public async Task<ConversationPage> ListConversationsAsync(Guid userId, ConversationListFilter filter, ConversationCursor? after, int limit, CancellationToken cancellationToken)
    {
        const int settingsAt = ConversationColumnCount + 1;
        const int messageAt = settingsAt + SettingsColumnCount;
        string[] names = ["kind", "archived", "pinnedFirst", "cursorAt", "cursorId", "cursorPinned", "contextType", "contextId"];
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var rows = new List<ConversationSummary>();
        await using (var command = new NpgsqlCommand($"""
            SELECT {ConversationColumns}, p.unread_count, {SettingsColumns}, {MessageColumns}, p.unread_mentions
            FROM participants p
            JOIN conversations c ON c.id = p.conversation_id
            LEFT JOIN messages m ON m.id = c.last_message_id
            WHERE p.user_id = $1
            {ConversationRecords.ListConditionsAndOrder(name => "$" + (Array.IndexOf(names, name) + 2))}
            LIMIT $10
            """, connection))
        {
            command.Parameters.Add(new() { Value = userId });
            command.Parameters.Add(Text(filter.Kind));
            command.Parameters.Add(new() { Value = (object?)filter.Archived ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Boolean });
            command.Parameters.Add(new() { Value = filter.PinnedFirst, NpgsqlDbType = NpgsqlDbType.Boolean });
            command.Parameters.Add(new() { Value = after is null ? DBNull.Value : StoreTime.Truncate(after.LastActivityAt), NpgsqlDbType = NpgsqlDbType.TimestampTz });
            command.Parameters.Add(new() { Value = after?.Id ?? Guid.Empty, NpgsqlDbType = NpgsqlDbType.Uuid });
            command.Parameters.Add(new() { Value = filter.PinnedFirst && after is { Pinned: true }, NpgsqlDbType = NpgsqlDbType.Boolean });
            command.Parameters.Add(Text(filter.ContextType));
            command.Parameters.Add(Text(filter.ContextId));
            command.Parameters.Add(new() { Value = limit + 1 });
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                rows.Add(new ConversationSummary(ReadConversation(reader, 0), [], reader.GetInt64(ConversationColumnCount), reader.IsDBNull(messageAt) ? null : ReadMessage(reader, messageAt))
                {
                    Settings = ReadSettings(reader, settingsAt),
                    UnreadMentions = reader.GetInt64(messageAt + MessageColumnCount),
                });
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

        var items = rows.Select(r => r with { MemberIds = members.GetValueOrDefault(r.Conversation.Id) ?? [] }).ToList();
        return new ConversationPage(items, hasMore && items.Count > 0 ? filter.CursorAfter(items[^1]) : null);
    }

    public async Task<UnreadTotal> GetUnreadTotalAsync(Guid userId, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var (total, conversations) = await connection.QuerySingleAsync<(long, int)>(new CommandDefinition(
            "SELECT COALESCE(SUM(unread_count), 0)::bigint, (COUNT(*) FILTER (WHERE unread_count > 0))::int FROM participants WHERE user_id = @userId",
            new { userId }, cancellationToken: cancellationToken));
        return new UnreadTotal(total, conversations);
    }
}
