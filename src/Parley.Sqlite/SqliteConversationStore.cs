using Dapper;
using Microsoft.Data.Sqlite;
using Parley.Core.Events;
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
                await AddParticipantsAsync(connection, transaction, conversationId, members, now, cancellationToken);
                await SqliteOutbox.AppendAsync(connection, transaction, ChangeEvents.ConversationCreated(conversation, members, context), cancellationToken);
                return (conversation, true);
            }

            return (await QueryConversationAsync(connection, transaction, "c.direct_key = $v", key, cancellationToken)
                ?? throw new InvalidOperationException("Direct conversation vanished"), false);
        }, cancellationToken);

    public Task<ConversationRecord> CreateGroupAsync(Guid conversationId, Guid owner, string? title, IReadOnlyCollection<Guid> members, DateTimeOffset now, EventContext context, CancellationToken cancellationToken) =>
        db.WriteAsync(async (connection, transaction) =>
        {
            await connection.ExecuteAsync(new CommandDefinition("""
                INSERT INTO conversations (id, type, title, status, direct_key, created_by, created_at, last_activity_at)
                VALUES (@Id, 'group', @Title, 'active', NULL, @By, @Now, @Now)
                """, new { Id = conversationId.ToString(), Title = title, By = owner.ToString(), Now = SqliteTime.Ms(now) }, transaction, cancellationToken: cancellationToken));

            List<(Guid, string)> roles = [.. members.Where(m => m != owner).Distinct().Select(m => (m, ParticipantRoles.Member)).Prepend((owner, ParticipantRoles.Owner))];
            var conversation = new ConversationRecord(conversationId, ConversationTypes.Group, title, ConversationStatuses.Active, owner, now, now, 0);
            await AddParticipantsAsync(connection, transaction, conversationId, roles, now, cancellationToken);
            await SqliteOutbox.AppendAsync(connection, transaction, ChangeEvents.ConversationCreated(conversation, roles, context), cancellationToken);
            return conversation;
        }, cancellationToken);

    /// <summary>One prepared insert re-executed per member: a group may have thousands.</summary>
    private static async Task AddParticipantsAsync(SqliteConnection connection, SqliteTransaction transaction, Guid conversationId, IReadOnlyList<(Guid User, string Role)> members, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var command = SqliteDatabase.Command(connection,
            "INSERT INTO participants (conversation_id, user_id, role, joined_at) VALUES ($c, $u, $r, $now) ON CONFLICT DO NOTHING", transaction);
        command.Parameters.AddWithValue("$c", conversationId.ToString());
        command.Parameters.AddWithValue("$now", SqliteTime.Ms(now));
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
        db.ReadAsync(connection => QueryConversationAsync(connection, null, "c.id = $v", conversationId.ToString(), cancellationToken), cancellationToken);

    private static async Task<ConversationRecord?> QueryConversationAsync(SqliteConnection connection, SqliteTransaction? transaction, string where, string value, CancellationToken cancellationToken)
    {
        await using var command = SqliteDatabase.Command(connection, $"SELECT {SqliteRows.ConversationColumns} FROM conversations c WHERE {where}", transaction);
        command.Parameters.AddWithValue("$v", value);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? SqliteRows.ReadConversation(reader, 0) : null;
    }

    public Task<ParticipantRecord?> GetParticipantAsync(Guid conversationId, Guid userId, CancellationToken cancellationToken) =>
        db.ReadAsync(async connection =>
        {
            var row = await connection.QuerySingleOrDefaultAsync<ParticipantRow>(new CommandDefinition("""
                SELECT role AS Role, joined_at AS JoinedAt, last_delivered_seq AS Delivered, last_read_seq AS Read, unread_count AS Unread
                FROM participants WHERE conversation_id = @Conversation AND user_id = @User
                """, new { Conversation = conversationId.ToString(), User = userId.ToString() }, cancellationToken: cancellationToken));
            return row is null
                ? null
                : new ParticipantRecord(conversationId, userId, row.Role, SqliteTime.FromMs(row.JoinedAt), new ReceiptWatermarks(row.Delivered, row.Read), row.Unread);
        }, cancellationToken);

    public Task<IReadOnlyList<Guid>> GetMemberIdsAsync(Guid conversationId, CancellationToken cancellationToken) =>
        db.ReadAsync<IReadOnlyList<Guid>>(async connection =>
        {
            var ids = await connection.QueryAsync<string>(new CommandDefinition(
                "SELECT user_id FROM participants WHERE conversation_id = @Conversation ORDER BY joined_at, user_id",
                new { Conversation = conversationId.ToString() }, cancellationToken: cancellationToken));
            return [.. ids.Select(Guid.Parse)];
        }, cancellationToken);

    public Task<ConversationPage> ListConversationsAsync(Guid userId, ConversationCursor? after, int limit, CancellationToken cancellationToken) =>
        db.ReadAsync(async connection =>
        {
            var rows = new List<(ConversationRecord Conversation, long Unread, StoredMessage? Last)>();
            await using (var command = SqliteDatabase.Command(connection, $"""
                SELECT {SqliteRows.ConversationColumns}, p.unread_count, {SqliteRows.MessageColumns}
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
                command.Parameters.AddWithValue("$cursorAt", after is null ? DBNull.Value : SqliteTime.Ms(after.LastActivityAt));
                command.Parameters.AddWithValue("$cursorId", after is null ? DBNull.Value : after.Id.ToString());
                command.Parameters.AddWithValue("$n", limit + 1);
                await using var reader = await command.ExecuteReaderAsync(cancellationToken);
                while (await reader.ReadAsync(cancellationToken))
                {
                    rows.Add((SqliteRows.ReadConversation(reader, 0), reader.GetInt64(8), reader.IsDBNull(9) ? null : SqliteRows.ReadMessage(reader, 9)));
                }
            }

            var hasMore = Paging.TrimProbe(rows, limit);
            var members = await SqliteMembers.LoadAsync(connection, null, rows.Select(r => r.Conversation.Id), cancellationToken);
            var items = rows.Select(r => new ConversationSummary(r.Conversation, members.GetValueOrDefault(r.Conversation.Id) ?? [], r.Unread, r.Last)).ToList();
            var last = items.LastOrDefault()?.Conversation;
            return new ConversationPage(items, hasMore && last is not null ? new ConversationCursor(last.LastActivityAt, last.Id) : null);
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

    private sealed class ParticipantRow
    {
        public string Role { get; set; } = "";

        public long JoinedAt { get; set; }

        public long Delivered { get; set; }

        public long Read { get; set; }

        public long Unread { get; set; }
    }

    private sealed class UnreadRow
    {
        public long Total { get; set; }

        public long Conversations { get; set; }
    }
}
