using Dapper;
using Microsoft.Data.Sqlite;
using Parley.Core.Events;
using Parley.Core.Membership;
using Parley.Core.Messaging;
using Parley.Core.Persistence;
using Parley.Core.Ports;
using Parley.Sqlite.Internal;

namespace Parley.Sqlite;

/// <summary>Conversations and their members in the embedded store.</summary>
public sealed class SqliteConversationStore(SqliteDatabase db) : IConversationStore
{
    public Task<(ConversationRecord Conversation, bool Created)> GetOrCreateDirectAsync(Guid conversationId, Guid creator, Guid other, DateTimeOffset now, EventContext context, CancellationToken cancellationToken) =>
        db.WriteAsync(async (connection, transaction) =>
        {
            var key = DirectKey(creator, other);
            var inserted = await connection.ExecuteAsync(new CommandDefinition("""
                INSERT INTO conversations (id, type, title, status, direct_key, created_by, created_at, last_activity_at)
                VALUES (@Id, 'direct', NULL, 'active', @Key, @By, @Now, @Now)
                ON CONFLICT (direct_key) DO NOTHING
                """, new { Id = conversationId.ToString(), Key = key, By = creator.ToString(), Now = SqliteTime.Ms(now) }, transaction, cancellationToken: cancellationToken));
            if (inserted == 1)
            {
                List<(Guid, string)> members = [.. new[] { creator, other }.Distinct().Select(m => (m, ParticipantRoles.Member))];
                var conversation = new ConversationRecord(conversationId, ConversationTypes.Direct, null, ConversationStatuses.Active, creator, now, now, 0);
                await AddParticipantsAsync(connection, transaction, conversationId, [.. members.Select(m => (m.Item1, m.Item2, (string?)null))], now, 0, cancellationToken);
                await SqliteOutbox.AppendAsync(connection, transaction, ChangeEvents.ConversationCreated(conversation, members, context), cancellationToken);
                return (conversation, true);
            }

            return (await QueryConversationAsync(connection, transaction, "c.direct_key = $v", key, cancellationToken)
                ?? throw new InvalidOperationException("Direct conversation vanished"), false);
        }, cancellationToken);

    public Task<(ConversationRecord Conversation, bool Created)> CreateAsync(NewConversation spec, DateTimeOffset now, EventContext context, CancellationToken cancellationToken) =>
        db.WriteAsync(async (connection, transaction) =>
        {
            now = StoreTime.Truncate(now);
            var contextKey = ConversationRecords.ContextKey(spec);
            var inserted = await connection.ExecuteAsync(new CommandDefinition("""
                INSERT INTO conversations (id, type, title, status, direct_key, created_by, created_at, last_activity_at, description, avatar_url, metadata, visibility,
                                           context_type, context_id, context_metadata, context_key)
                VALUES (@Id, @Type, @Title, 'active', NULL, @By, @Now, @Now, @Description, @AvatarUrl, @Metadata, @Visibility,
                        @ContextType, @ContextId, @ContextMetadata, @ContextKey)
                ON CONFLICT (context_key) WHERE context_key IS NOT NULL DO NOTHING
                """, new
            {
                Id = spec.Id.ToString(), spec.Type, spec.Title, By = spec.Owner.ToString(), Now = SqliteTime.Ms(now),
                spec.Description, spec.AvatarUrl, spec.Metadata, spec.Visibility,
                ContextType = spec.Context?.Type, ContextId = spec.Context?.Id, ContextMetadata = spec.Context?.Metadata, ContextKey = contextKey,
            }, transaction, cancellationToken: cancellationToken));
            if (inserted == 0)
            {
                return (await QueryConversationAsync(connection, transaction, "c.context_key = $v", contextKey!, cancellationToken)
                    ?? throw new InvalidOperationException("Context conversation vanished"), false);
            }

            var conversation = ConversationRecords.Created(spec, now);
            var roles = ConversationRecords.InitialRoles(spec);
            await AddParticipantsAsync(connection, transaction, spec.Id, [.. roles.Select(r => (r.UserId, r.Role, spec.Sides.GetValueOrDefault(r.UserId)))], now, 0, cancellationToken);
            await SqliteOutbox.AppendAsync(connection, transaction, ChangeEvents.ConversationCreated(conversation, roles, context), cancellationToken);
            return (conversation, true);
        }, cancellationToken);

    public Task<MembershipResult> ChangeMembershipAsync(Guid conversationId, MembershipCommand command, DateTimeOffset now, EventContext context, CancellationToken cancellationToken) =>
        db.WriteAsync(async (connection, transaction) =>
        {
            // The single writer is the lock: nothing else changes the conversation between this read and the commit.
            var (error, plan) = MembershipPlanner.Plan(conversationId, await LoadMembershipAsync(connection, transaction, conversationId, command, cancellationToken), command, now, context);
            if (plan is null)
            {
                return new MembershipResult(error, null);
            }

            var c = conversationId.ToString();
            if (plan.Inserts.Count > 0)
            {
                await AddParticipantsAsync(connection, transaction, conversationId, [.. plan.Inserts.Select(m => (m.UserId, m.Role, m.Side))],
                    plan.Inserts[0].JoinedAt, plan.Change.Conversation.LastSequence, cancellationToken);
            }

            foreach (var user in plan.Deletes)
            {
                await connection.ExecuteAsync(new CommandDefinition("DELETE FROM participants WHERE conversation_id = @c AND user_id = @u",
                    new { c, u = user.ToString() }, transaction, cancellationToken: cancellationToken));
            }

            foreach (var (user, role) in plan.RoleUpdates)
            {
                await connection.ExecuteAsync(new CommandDefinition("UPDATE participants SET role = @role WHERE conversation_id = @c AND user_id = @u",
                    new { c, u = user.ToString(), role }, transaction, cancellationToken: cancellationToken));
            }

            if (plan.ConversationUpdate is { } u)
            {
                await connection.ExecuteAsync(new CommandDefinition("""
                    UPDATE conversations SET title = @Title, description = @Description, avatar_url = @AvatarUrl, metadata = @Metadata,
                        visibility = @Visibility, status = @Status, message_ttl_seconds = @MessageTtlSeconds
                    WHERE id = @c
                    """, new { c, u.Title, u.Description, u.AvatarUrl, u.Metadata, u.Visibility, u.Status, u.MessageTtlSeconds }, transaction, cancellationToken: cancellationToken));
            }

            if (plan.InviteInsert is { } created)
            {
                await connection.ExecuteAsync(new CommandDefinition("""
                    INSERT INTO conversation_invites (code, conversation_id, created_by, created_at, expires_at, max_uses, uses, revoked_at)
                    VALUES (@Code, @c, @By, @At, @ExpiresAt, @MaxUses, 0, NULL)
                    """, new { created.Code, c, By = created.CreatedBy.ToString(), At = SqliteTime.Ms(created.CreatedAt),
                    ExpiresAt = created.ExpiresAt is { } e ? SqliteTime.Ms(e) : (long?)null, created.MaxUses }, transaction, cancellationToken: cancellationToken));
            }

            if (plan.InviteUpdate is { } updated)
            {
                await connection.ExecuteAsync(new CommandDefinition(
                    "UPDATE conversation_invites SET uses = @Uses, revoked_at = @RevokedAt WHERE code = @Code",
                    new { updated.Code, updated.Uses, RevokedAt = updated.RevokedAt is { } r ? SqliteTime.Ms(r) : (long?)null }, transaction, cancellationToken: cancellationToken));
            }

            await using var outbox = new SqliteOutbox(connection, transaction);
            await outbox.AppendAsync(plan.Events, cancellationToken);

            return new MembershipResult(null, plan.Change);
        }, cancellationToken);

    private static async Task<MembershipState?> LoadMembershipAsync(SqliteConnection connection, SqliteTransaction transaction, Guid conversationId, MembershipCommand command, CancellationToken cancellationToken)
    {
        var conversation = await QueryConversationAsync(connection, transaction, "c.id = $v", conversationId.ToString(), cancellationToken);
        if (conversation is null)
        {
            return null;
        }

        var c = conversationId.ToString();
        var members = new Dictionary<Guid, MemberRecord>();
        foreach (var row in await connection.QueryAsync<MemberRow>(new CommandDefinition("""
            SELECT user_id AS UserId, role AS Role, joined_at AS JoinedAt FROM participants
            WHERE conversation_id = @c AND user_id IN (SELECT value FROM json_each(@ids))
            """, new { c, ids = SqliteRows.GuidsJson(command.Involved.Distinct()) }, transaction, cancellationToken: cancellationToken)))
        {
            var member = row.ToRecord();
            members[member.UserId] = member;
        }

        var counts = await connection.QuerySingleAsync<CountRow>(new CommandDefinition(
            "SELECT COUNT(*) AS Members, COALESCE(SUM(role = 'owner'), 0) AS Owners FROM participants WHERE conversation_id = @c",
            new { c }, transaction, cancellationToken: cancellationToken));
        var successor = command is LeaveCommand
            ? (await connection.QuerySingleOrDefaultAsync<MemberRow>(new CommandDefinition($"""
                SELECT user_id AS UserId, role AS Role, joined_at AS JoinedAt FROM participants
                WHERE conversation_id = @c AND user_id <> @leaver AND role <> 'owner'
                ORDER BY {ConversationRecords.SuccessionOrder}, joined_at, user_id LIMIT 1
                """, new { c, leaver = command.Actor.ToString() }, transaction, cancellationToken: cancellationToken)))?.ToRecord()
            : null;
        var invite = command.InviteCode is { } code ? await QueryInviteAsync(connection, transaction, "code = @code AND conversation_id = @c", new { code, c }, cancellationToken) : null;
        return new MembershipState(conversation, members, (int)counts.Members, (int)counts.Owners, successor) { Invite = invite };
    }

    public Task<InviteRecord?> GetInviteAsync(string code, CancellationToken cancellationToken) =>
        db.ReadAsync(connection => QueryInviteAsync(connection, null, "code = @code", new { code }, cancellationToken), cancellationToken);

    public Task<IReadOnlyList<InviteRecord>> ListInvitesAsync(Guid conversationId, CancellationToken cancellationToken) =>
        db.ReadAsync<IReadOnlyList<InviteRecord>>(async connection =>
            [.. (await connection.QueryAsync<InviteRow>(new CommandDefinition($"{InviteSelect} WHERE conversation_id = @c ORDER BY created_at DESC, code",
                new { c = conversationId.ToString() }, cancellationToken: cancellationToken))).Select(r => r.ToRecord())], cancellationToken);

    private const string InviteSelect = """
        SELECT code AS Code, conversation_id AS ConversationId, created_by AS CreatedBy, created_at AS CreatedAt, expires_at AS ExpiresAt,
               max_uses AS MaxUses, uses AS Uses, revoked_at AS RevokedAt
        FROM conversation_invites
        """;

    private static async Task<InviteRecord?> QueryInviteAsync(SqliteConnection connection, SqliteTransaction? transaction, string where, object parameters, CancellationToken cancellationToken) =>
        (await connection.QuerySingleOrDefaultAsync<InviteRow>(new CommandDefinition($"{InviteSelect} WHERE {where}", parameters, transaction, cancellationToken: cancellationToken)))?.ToRecord();

    public Task<ChannelPage> SearchChannelsAsync(string? query, ConversationCursor? after, int limit, CancellationToken cancellationToken) =>
        db.ReadAsync(async connection =>
        {
            var rows = new List<ChannelSummary>();
            await using (var command = SqliteDatabase.Command(connection, $"""
                SELECT {SqliteRows.ConversationColumns}, (SELECT COUNT(*) FROM participants p WHERE p.conversation_id = c.id)
                FROM conversations c
                WHERE c.type = 'channel' AND c.visibility = 'public' AND c.status = 'active'
                  AND ($q IS NULL OR lower(c.title) LIKE $q ESCAPE '\')
                  AND ($cursorAt IS NULL OR c.last_activity_at < $cursorAt OR (c.last_activity_at = $cursorAt AND c.id < $cursorId))
                ORDER BY c.last_activity_at DESC, c.id DESC
                LIMIT $n
                """))
            {
                command.Parameters.AddWithValue("$q", query is null ? DBNull.Value : ConversationRecords.PrefixPattern(query));
                command.Parameters.AddWithValue("$cursorAt", after is null ? DBNull.Value : SqliteTime.Ms(after.LastActivityAt));
                command.Parameters.AddWithValue("$cursorId", after is null ? DBNull.Value : after.Id.ToString());
                command.Parameters.AddWithValue("$n", limit + 1);
                await using var reader = await command.ExecuteReaderAsync(cancellationToken);
                while (await reader.ReadAsync(cancellationToken))
                {
                    rows.Add(new ChannelSummary(SqliteRows.ReadConversation(reader, 0), reader.GetInt32(SqliteRows.ConversationColumnCount)));
                }
            }

            var hasMore = Paging.TrimProbe(rows, limit);
            var last = rows.LastOrDefault()?.Conversation;
            return new ChannelPage(rows, hasMore && last is not null ? new ConversationCursor(last.LastActivityAt, last.Id) : null);
        }, cancellationToken);

    /// <summary>
    /// One prepared insert re-executed per member: a group may have thousands. A newcomer has seen and read everything up
    /// to <paramref name="seenTo"/>: joining does not make the history unread.
    /// </summary>
    private static async Task AddParticipantsAsync(SqliteConnection connection, SqliteTransaction transaction, Guid conversationId, IReadOnlyList<(Guid User, string Role, string? Side)> members, DateTimeOffset now, long seenTo, CancellationToken cancellationToken)
    {
        await using var command = SqliteDatabase.Command(connection, """
            INSERT INTO participants (conversation_id, user_id, role, joined_at, last_delivered_seq, last_read_seq, side)
            VALUES ($c, $u, $r, $now, $seen, $seen, $side) ON CONFLICT DO NOTHING
            """, transaction);
        command.Parameters.AddWithValue("$c", conversationId.ToString());
        command.Parameters.AddWithValue("$now", SqliteTime.Ms(now));
        command.Parameters.AddWithValue("$seen", seenTo);
        var user = command.Parameters.Add("$u", SqliteType.Text);
        var role = command.Parameters.Add("$r", SqliteType.Text);
        var side = command.Parameters.Add("$side", SqliteType.Text);
        foreach (var member in members)
        {
            user.Value = member.User.ToString();
            role.Value = member.Role;
            side.Value = SqliteRows.OrNull(member.Side);
            await command.ExecuteNonQueryAsync(cancellationToken);
        }
    }

    public Task<ConversationRecord?> GetConversationAsync(Guid conversationId, CancellationToken cancellationToken) =>
        db.ReadAsync(connection => QueryConversationAsync(connection, null, "c.id = $v", conversationId.ToString(), cancellationToken), cancellationToken);

    private static async Task<ConversationRecord?> QueryConversationAsync(SqliteConnection connection, SqliteTransaction? transaction, string where, string value, CancellationToken cancellationToken)
    {
        await using var command = SqliteDatabase.Command(connection, $"SELECT {SqliteRows.ConversationColumns} FROM conversations c WHERE {where}", transaction);
        command.Parameters.AddWithValue("$v", value);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? SqliteRows.ReadConversation(reader, 0) : null;
    }

    public Task<ParticipantRecord?> GetParticipantAsync(Guid conversationId, Guid userId, CancellationToken cancellationToken) =>
        db.ReadAsync(connection => QueryParticipantAsync(connection, null, conversationId, userId, cancellationToken), cancellationToken);

    private static async Task<ParticipantRecord?> QueryParticipantAsync(SqliteConnection connection, SqliteTransaction? transaction, Guid conversationId, Guid userId, CancellationToken cancellationToken)
    {
        await using var command = SqliteDatabase.Command(connection, $"""
            SELECT p.role, p.joined_at, p.last_delivered_seq, p.last_read_seq, p.unread_count, {SqliteRows.SettingsColumns}, p.side, p.unread_mentions
            FROM participants p WHERE p.conversation_id = $c AND p.user_id = $u
            """, transaction);
        command.Parameters.AddWithValue("$c", conversationId.ToString());
        command.Parameters.AddWithValue("$u", userId.ToString());
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken)
            ? new ParticipantRecord(conversationId, userId, reader.GetString(0), SqliteTime.FromMs(reader.GetInt64(1)), new ReceiptWatermarks(reader.GetInt64(2), reader.GetInt64(3)), reader.GetInt64(4))
            {
                Settings = SqliteRows.ReadSettings(reader, 5),
                Side = reader.IsDBNull(5 + SqliteRows.SettingsColumnCount) ? null : reader.GetString(5 + SqliteRows.SettingsColumnCount),
                UnreadMentions = reader.GetInt64(6 + SqliteRows.SettingsColumnCount),
            }
            : null;
    }

    public Task<MemberSettingsResult?> ChangeSettingsAsync(Guid conversationId, Guid userId, MemberSettingsChange change, DateTimeOffset now, EventContext context, CancellationToken cancellationToken) =>
        db.WriteAsync(async (connection, transaction) =>
        {
            // The single writer is the lock: the row cannot change between this read and the write.
            var participant = await QueryParticipantAsync(connection, transaction, conversationId, userId, cancellationToken);
            if (participant is null)
            {
                return null;
            }

            var (next, changed) = MemberSettingsPlanner.Plan(conversationId, userId, participant.Settings, change, now, context);
            if (changed is not null)
            {
                await connection.ExecuteAsync(new CommandDefinition("""
                    UPDATE participants SET muted = @Muted, muted_until = @MutedUntil, pinned_at = @PinnedAt, archived = @Archived
                    WHERE conversation_id = @c AND user_id = @u
                    """, new
                {
                    c = conversationId.ToString(), u = userId.ToString(), next.Muted, next.Archived,
                    MutedUntil = next.MutedUntil is { } until ? SqliteTime.Ms(until) : (long?)null,
                    PinnedAt = next.PinnedAt is { } pinned ? SqliteTime.Ms(pinned) : (long?)null,
                }, transaction, cancellationToken: cancellationToken));
                await SqliteOutbox.AppendAsync(connection, transaction, changed, cancellationToken);
            }

            return (MemberSettingsResult?)new MemberSettingsResult(next, changed is not null);
        }, cancellationToken);

    public Task<IReadOnlyList<Guid>> GetMemberIdsAsync(Guid conversationId, CancellationToken cancellationToken) =>
        db.ReadAsync<IReadOnlyList<Guid>>(async connection =>
        {
            var ids = await connection.QueryAsync<string>(new CommandDefinition(
                "SELECT user_id FROM participants WHERE conversation_id = @Conversation ORDER BY joined_at, user_id",
                new { Conversation = conversationId.ToString() }, cancellationToken: cancellationToken));
            return [.. ids.Select(Guid.Parse)];
        }, cancellationToken);

    public Task<ConversationPage> ListConversationsAsync(Guid userId, ConversationListFilter filter, ConversationCursor? after, int limit, CancellationToken cancellationToken) =>
        db.ReadAsync(async connection =>
        {
            const int settingsAt = SqliteRows.ConversationColumnCount + 1;
            const int messageAt = settingsAt + SqliteRows.SettingsColumnCount;
            var rows = new List<ConversationSummary>();
            await using (var command = SqliteDatabase.Command(connection, $"""
                SELECT {SqliteRows.ConversationColumns}, p.unread_count, {SqliteRows.SettingsColumns}, {SqliteRows.MessageColumns}, p.unread_mentions
                FROM participants p
                JOIN conversations c ON c.id = p.conversation_id
                LEFT JOIN messages m ON m.id = c.last_message_id
                WHERE p.user_id = $u
                {ConversationRecords.ListConditionsAndOrder(name => "$" + name)}
                LIMIT $n
                """))
            {
                command.Parameters.AddWithValue("$u", userId.ToString());
                command.Parameters.AddWithValue("$kind", SqliteRows.OrNull(filter.Kind));
                command.Parameters.AddWithValue("$archived", (object?)filter.Archived ?? DBNull.Value);
                command.Parameters.AddWithValue("$pinnedFirst", filter.PinnedFirst);
                command.Parameters.AddWithValue("$cursorAt", after is null ? DBNull.Value : SqliteTime.Ms(after.LastActivityAt));
                command.Parameters.AddWithValue("$cursorId", after is null ? DBNull.Value : after.Id.ToString());
                command.Parameters.AddWithValue("$cursorPinned", filter.PinnedFirst && after is { Pinned: true });
                command.Parameters.AddWithValue("$contextType", SqliteRows.OrNull(filter.ContextType));
                command.Parameters.AddWithValue("$contextId", SqliteRows.OrNull(filter.ContextId));
                command.Parameters.AddWithValue("$n", limit + 1);
                await using var reader = await command.ExecuteReaderAsync(cancellationToken);
                while (await reader.ReadAsync(cancellationToken))
                {
                    rows.Add(new ConversationSummary(SqliteRows.ReadConversation(reader, 0), [], reader.GetInt64(SqliteRows.ConversationColumnCount),
                        reader.IsDBNull(messageAt) ? null : SqliteRows.ReadMessage(reader, messageAt))
                    {
                        Settings = SqliteRows.ReadSettings(reader, settingsAt),
                        UnreadMentions = reader.GetInt64(messageAt + SqliteRows.MessageColumnCount),
                    });
                }
            }

            var hasMore = Paging.TrimProbe(rows, limit);
            var members = await SqliteMembers.LoadAsync(connection, null, rows.Select(r => r.Conversation.Id), cancellationToken);
            var items = rows.Select(r => r with { MemberIds = members.GetValueOrDefault(r.Conversation.Id) ?? [] }).ToList();
            return new ConversationPage(items, hasMore && items.Count > 0 ? filter.CursorAfter(items[^1]) : null);
        }, cancellationToken);

    public Task<UnreadTotal> GetUnreadTotalAsync(Guid userId, CancellationToken cancellationToken) =>
        db.ReadAsync(async connection =>
        {
            var row = await connection.QuerySingleAsync<UnreadRow>(new CommandDefinition(
                "SELECT COALESCE(SUM(unread_count), 0) AS Total, COALESCE(SUM(unread_count > 0), 0) AS Conversations FROM participants WHERE user_id = @User",
                new { User = userId.ToString() }, cancellationToken: cancellationToken));
            return new UnreadTotal(row.Total, (int)row.Conversations);
        }, cancellationToken);

    private static string DirectKey(Guid a, Guid b) => a.CompareTo(b) < 0 ? $"{a:N}:{b:N}" : $"{b:N}:{a:N}";

    private sealed class MemberRow
    {
        public string UserId { get; set; } = "";

        public string Role { get; set; } = "";

        public long JoinedAt { get; set; }

        public MemberRecord ToRecord() => new(Guid.Parse(UserId), Role, SqliteTime.FromMs(JoinedAt));
    }

    private sealed class InviteRow
    {
        public string Code { get; set; } = "";

        public string ConversationId { get; set; } = "";

        public string CreatedBy { get; set; } = "";

        public long CreatedAt { get; set; }

        public long? ExpiresAt { get; set; }

        public long? MaxUses { get; set; }

        public long Uses { get; set; }

        public long? RevokedAt { get; set; }

        public InviteRecord ToRecord() => new(Code, Guid.Parse(ConversationId), Guid.Parse(CreatedBy), SqliteTime.FromMs(CreatedAt),
            ExpiresAt is { } e ? SqliteTime.FromMs(e) : null, MaxUses is { } m ? (int)m : null, (int)Uses, RevokedAt is { } r ? SqliteTime.FromMs(r) : null);
    }

    private sealed class CountRow
    {
        public long Members { get; set; }

        public long Owners { get; set; }
    }

    private sealed class UnreadRow
    {
        public long Total { get; set; }

        public long Conversations { get; set; }
    }
}
