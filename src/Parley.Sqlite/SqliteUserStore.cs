using Dapper;
using Parley.Core.Events;
using Parley.Core.Persistence;
using Parley.Core.Ports;
using Parley.Core.Validation;
using Parley.Sqlite.Internal;

namespace Parley.Sqlite;

/// <summary>Accounts in the embedded store.</summary>
public sealed class SqliteUserStore(SqliteDatabase db) : IUserStore
{
    private const string UserColumns = "id AS Id, username AS Username, display_name AS DisplayName, password_hash AS PasswordHash, created_at AS CreatedAt, email AS Email, avatar_url AS AvatarUrl";

    public Task<bool> CreateUserAsync(UserRecord user, EventContext context, CancellationToken cancellationToken) =>
        db.WriteAsync(async (connection, transaction) =>
        {
            var inserted = await connection.ExecuteAsync(new CommandDefinition("""
                INSERT INTO users (id, username, display_name, display_name_key, password_hash, created_at)
                VALUES (@Id, @Username, @DisplayName, @DisplayNameKey, @PasswordHash, @CreatedAt)
                ON CONFLICT (username) DO NOTHING
                """, UserRow.From(user), transaction, cancellationToken: cancellationToken));
            if (inserted == 0)
            {
                return false;
            }

            await SqliteOutbox.AppendAsync(connection, transaction, ChangeEvents.UserRegistered(user, context), cancellationToken);
            return true;
        }, cancellationToken);

    public Task<UserRecord?> FindByUsernameAsync(string normalizedUsername, CancellationToken cancellationToken) =>
        QueryUserAsync($"SELECT {UserColumns} FROM users WHERE username = @Value", normalizedUsername, cancellationToken);

    public Task<UserRecord?> GetUserAsync(Guid userId, CancellationToken cancellationToken) =>
        QueryUserAsync($"SELECT {UserColumns} FROM users WHERE id = @Value", userId.ToString(), cancellationToken);

    private Task<UserRecord?> QueryUserAsync(string sql, string value, CancellationToken cancellationToken) =>
        db.ReadAsync(async connection =>
            (await connection.QuerySingleOrDefaultAsync<UserRow>(new CommandDefinition(sql, new { Value = value }, cancellationToken: cancellationToken)))?.ToRecord(),
            cancellationToken);

    public Task<ProfileChangeResult> ChangeProfileAsync(Guid userId, ProfileChange change, DateTimeOffset now, EventContext context, CancellationToken cancellationToken) =>
        db.WriteAsync(async (connection, transaction) =>
        {
            var id = userId.ToString();
            if (change.SetEmail && change.EmailKey is { } key && await connection.ExecuteScalarAsync<long>(new CommandDefinition(
                "SELECT count(*) FROM users WHERE email_normalized = @key AND id <> @id",
                new { key, id }, transaction, cancellationToken: cancellationToken)) > 0)
            {
                // The single writer makes the check and the update one step: nobody can take the address in between.
                return new ProfileChangeResult(ProfileChangeOutcome.EmailTaken, null);
            }

            var row = await connection.QuerySingleOrDefaultAsync<UserRow>(new CommandDefinition($"""
                UPDATE users SET
                    display_name = COALESCE(@DisplayName, display_name),
                    display_name_key = COALESCE(@DisplayNameKey, display_name_key),
                    avatar_url = CASE WHEN @SetAvatarUrl THEN @AvatarUrl ELSE avatar_url END,
                    email = CASE WHEN @SetEmail THEN @Email ELSE email END,
                    email_normalized = CASE WHEN @SetEmail THEN @EmailKey ELSE email_normalized END
                WHERE id = @id
                RETURNING {UserColumns}
                """, new { id, change.DisplayName, change.DisplayNameKey, change.SetAvatarUrl, change.AvatarUrl, change.SetEmail, change.Email, change.EmailKey },
                transaction, cancellationToken: cancellationToken));
            if (row is null)
            {
                return new ProfileChangeResult(ProfileChangeOutcome.NotFound, null);
            }

            var user = row.ToRecord();
            await SqliteOutbox.AppendAsync(connection, transaction, ChangeEvents.UserUpdated(user, change, now, context), cancellationToken);
            return new ProfileChangeResult(ProfileChangeOutcome.Updated, user);
        }, cancellationToken);

    public Task<IReadOnlySet<Guid>> ExistingUsersAsync(IReadOnlyCollection<Guid> userIds, CancellationToken cancellationToken) =>
        db.ReadAsync<IReadOnlySet<Guid>>(async connection =>
        {
            var found = await connection.QueryAsync<string>(new CommandDefinition(
                "SELECT id FROM users WHERE id IN (SELECT value FROM json_each(@Ids))", new { Ids = SqliteRows.GuidsJson(userIds) }, cancellationToken: cancellationToken));
            return found.Select(Guid.Parse).ToHashSet();
        }, cancellationToken);

    public Task<UsernamePage<UserProfile>> SearchUsersAsync(Guid callerId, UserQuery query, UsernameCursor? after, int limit, CancellationToken cancellationToken) =>
        db.ReadAsync(async connection =>
        {
            // One branch per way to match, each an index range with its own limit, then the page from their union
            // (as on PostgreSQL, where an OR of the three can walk the whole username index). Usernames are
            // lower-case ASCII, so the folded prefix applies to them as it is.
            const string visible = """
                AND u.id <> @me
                AND (@after IS NULL OR u.username > @after)
                AND NOT EXISTS (SELECT 1 FROM user_blocks b
                                WHERE (b.blocker_id = @me AND b.blocked_id = u.id) OR (b.blocker_id = u.id AND b.blocked_id = @me))
                """;
            var rows = (await connection.QueryAsync<SqliteProfileRow>(new CommandDefinition($"""
                WITH hits AS (
                    SELECT id FROM (SELECT u.id FROM users u WHERE u.username >= @Prefix AND u.username < @PrefixUpper {visible}
                                    ORDER BY u.username LIMIT @take)
                    UNION
                    SELECT id FROM (SELECT u.id FROM users u WHERE u.display_name_key >= @Prefix AND u.display_name_key < @PrefixUpper {visible}
                                    ORDER BY u.username LIMIT @take)
                    UNION
                    SELECT u.id FROM users u WHERE u.email_normalized = @EmailKey {visible})
                SELECT {SqliteProfileRow.Columns}, CASE WHEN u.email_normalized = @EmailKey THEN u.email END AS Email
                FROM hits JOIN users u ON u.id = hits.id
                ORDER BY u.username
                LIMIT @take
                """, new { query.Prefix, query.PrefixUpper, query.EmailKey, me = callerId.ToString(), after = after?.AfterUsername, take = limit + 1 },
                cancellationToken: cancellationToken))).Select(r => r.ToProfile()).ToList();
            return UsernamePage<UserProfile>.From(rows, limit, u => u.Username);
        }, cancellationToken);

    public async Task<int> BackfillSearchKeysAsync(int batchSize, CancellationToken cancellationToken)
    {
        var filled = 0;
        while (true)
        {
            var batch = await db.WriteAsync(async (connection, transaction) =>
            {
                var rows = (await connection.QueryAsync<(string Id, string DisplayName)>(new CommandDefinition(
                    "SELECT id, display_name FROM users WHERE display_name_key IS NULL LIMIT @batchSize",
                    new { batchSize }, transaction, cancellationToken: cancellationToken))).ToList();
                foreach (var (id, displayName) in rows)
                {
                    await connection.ExecuteAsync(new CommandDefinition("UPDATE users SET display_name_key = @key WHERE id = @id",
                        new { key = SearchRules.Fold(displayName), id }, transaction, cancellationToken: cancellationToken));
                }

                return rows.Count;
            }, cancellationToken);
            filled += batch;
            if (batch < batchSize)
            {
                return filled;
            }
        }
    }

    /// <summary>A users row as stored (text ids, millisecond times), for Dapper.</summary>
    private sealed class UserRow
    {
        public string Id { get; set; } = "";

        public string Username { get; set; } = "";

        public string DisplayName { get; set; } = "";

        public string? DisplayNameKey { get; set; }

        public string PasswordHash { get; set; } = "";

        public long CreatedAt { get; set; }

        public string? Email { get; set; }

        public string? AvatarUrl { get; set; }

        public static UserRow From(UserRecord user) => new()
        {
            Id = user.Id.ToString(),
            Username = user.Username,
            DisplayName = user.DisplayName,
            DisplayNameKey = SearchRules.Fold(user.DisplayName),
            PasswordHash = user.PasswordHash,
            CreatedAt = SqliteTime.Ms(user.CreatedAt),
        };

        public UserRecord ToRecord() => new(Guid.Parse(Id), Username, DisplayName, PasswordHash, SqliteTime.FromMs(CreatedAt)) { Email = Email, AvatarUrl = AvatarUrl };
    }
}
