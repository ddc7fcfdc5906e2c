using Dapper;
using Npgsql;
using Parley.Core.Events;
using Parley.Core.Persistence;
using Parley.Core.Ports;
using Parley.Core.Validation;
using Parley.Postgres.Internal;

namespace Parley.Postgres;

/// <summary>Accounts on PostgreSQL: plain CRUD, mapped by Dapper.</summary>
public sealed class PostgresUserStore(NpgsqlDataSource dataSource) : IUserStore
{
    private const string UserColumns = "id, username, display_name AS displayname, password_hash AS passwordhash, created_at AS createdat, email, avatar_url AS avatarurl";

    public async Task<bool> CreateUserAsync(UserRecord user, EventContext context, CancellationToken cancellationToken)
    {
        user = user with { CreatedAt = StoreTime.Truncate(user.CreatedAt) };
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var inserted = await connection.ExecuteAsync(new CommandDefinition("""
            INSERT INTO users (id, username, display_name, display_name_key, password_hash, created_at)
            VALUES (@Id, @Username, @DisplayName, @DisplayNameKey, @PasswordHash, @CreatedAt)
            ON CONFLICT (username) DO NOTHING
            """, new { user.Id, user.Username, user.DisplayName, DisplayNameKey = SearchRules.Fold(user.DisplayName), user.PasswordHash, user.CreatedAt }, transaction, cancellationToken: cancellationToken));
        if (inserted == 1)
        {
            await PostgresOutbox.AppendAsync(connection, transaction, ChangeEvents.UserRegistered(user, context), cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
        return inserted == 1;
    }

    public Task<UserRecord?> FindByUsernameAsync(string normalizedUsername, CancellationToken cancellationToken) =>
        QueryUserAsync("username = @value", normalizedUsername, cancellationToken);

    public Task<UserRecord?> GetUserAsync(Guid userId, CancellationToken cancellationToken) =>
        QueryUserAsync("id = @value", userId, cancellationToken);

    private async Task<UserRecord?> QueryUserAsync(string where, object value, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var row = await connection.QuerySingleOrDefaultAsync<UserRow>(new CommandDefinition(
            $"SELECT {UserColumns} FROM users WHERE {where}", new { value }, cancellationToken: cancellationToken));
        return row?.ToRecord();
    }

    public async Task<ProfileChangeResult> ChangeProfileAsync(Guid userId, ProfileChange change, DateTimeOffset now, EventContext context, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        UserRow? row;
        try
        {
            row = await connection.QuerySingleOrDefaultAsync<UserRow>(new CommandDefinition($"""
                UPDATE users SET
                    display_name = COALESCE(@DisplayName, display_name),
                    display_name_key = COALESCE(@DisplayNameKey, display_name_key),
                    avatar_url = CASE WHEN @SetAvatarUrl THEN @AvatarUrl ELSE avatar_url END,
                    email = CASE WHEN @SetEmail THEN @Email ELSE email END,
                    email_normalized = CASE WHEN @SetEmail THEN @EmailKey ELSE email_normalized END
                WHERE id = @userId
                RETURNING {UserColumns}
                """, new { userId, change.DisplayName, change.DisplayNameKey, change.SetAvatarUrl, change.AvatarUrl, change.SetEmail, change.Email, change.EmailKey }, transaction, cancellationToken: cancellationToken));
        }
        catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.UniqueViolation && ex.ConstraintName == "users_email_normalized_key")
        {
            return new ProfileChangeResult(ProfileChangeOutcome.EmailTaken, null);
        }

        if (row is null)
        {
            return new ProfileChangeResult(ProfileChangeOutcome.NotFound, null);
        }

        var user = row.ToRecord();
        await PostgresOutbox.AppendAsync(connection, transaction, ChangeEvents.UserUpdated(user, change, now, context), cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return new ProfileChangeResult(ProfileChangeOutcome.Updated, user);
    }

    public async Task<IReadOnlySet<Guid>> ExistingUsersAsync(IReadOnlyCollection<Guid> userIds, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var found = await connection.QueryAsync<Guid>(new CommandDefinition(
            "SELECT id FROM users WHERE id = ANY(@ids)", new { ids = userIds.ToArray() }, cancellationToken: cancellationToken));
        return found.ToHashSet();
    }

    public async Task<UsernamePage<UserProfile>> SearchUsersAsync(Guid callerId, UserQuery query, UsernameCursor? after, int limit, CancellationToken cancellationToken)
    {
        // One branch per way to match, each an index range in byte order (COLLATE "C", as the search indexes are
        // built) with its own limit, then the page from their union: an OR of the three lets a generic (prepared)
        // plan walk the whole username index in order for a rare prefix. Usernames are lower-case ASCII, so the
        // folded prefix applies to them as it is.
        const string visible = """
            AND u.id <> @me
            AND (@after::text IS NULL OR u.username COLLATE "C" > @after::text)
            AND NOT EXISTS (SELECT 1 FROM user_blocks b
                            WHERE (b.blocker_id = @me AND b.blocked_id = u.id) OR (b.blocker_id = u.id AND b.blocked_id = @me))
            """;
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var rows = (await connection.QueryAsync<PostgresProfileRow>(new CommandDefinition($"""
            WITH hits AS (
                (SELECT u.id FROM users u WHERE u.username COLLATE "C" >= @Prefix AND u.username COLLATE "C" < @PrefixUpper {visible}
                 ORDER BY u.username COLLATE "C" LIMIT @take)
                UNION
                (SELECT u.id FROM users u WHERE u.display_name_key COLLATE "C" >= @Prefix AND u.display_name_key COLLATE "C" < @PrefixUpper {visible}
                 ORDER BY u.username COLLATE "C" LIMIT @take)
                UNION
                (SELECT u.id FROM users u WHERE u.email_normalized = @EmailKey::text {visible}))
            SELECT {PostgresProfileRow.Columns}, CASE WHEN u.email_normalized = @EmailKey::text THEN u.email END AS email
            FROM hits JOIN users u ON u.id = hits.id
            ORDER BY u.username COLLATE "C"
            LIMIT @take
            """, new { query.Prefix, query.PrefixUpper, query.EmailKey, me = callerId, after = after?.AfterUsername, take = limit + 1 },
            cancellationToken: cancellationToken))).Select(r => r.ToProfile()).ToList();
        return UsernamePage<UserProfile>.From(rows, limit, u => u.Username);
    }

    public async Task<int> BackfillSearchKeysAsync(int batchSize, CancellationToken cancellationToken)
    {
        var filled = 0;
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        while (true)
        {
            var rows = (await connection.QueryAsync<(Guid Id, string DisplayName)>(new CommandDefinition(
                "SELECT id, display_name FROM users WHERE display_name_key IS NULL LIMIT @batchSize", new { batchSize }, cancellationToken: cancellationToken))).ToList();
            if (rows.Count > 0)
            {
                // A concurrent profile change already wrote its own key: keep it (IS NULL in the update too).
                await connection.ExecuteAsync(new CommandDefinition("""
                    UPDATE users u SET display_name_key = k.key
                    FROM unnest(@ids, @keys) AS k(id, key)
                    WHERE u.id = k.id AND u.display_name_key IS NULL
                    """, new { ids = rows.Select(r => r.Id).ToArray(), keys = rows.Select(r => SearchRules.Fold(r.DisplayName)).ToArray() },
                    cancellationToken: cancellationToken));
            }

            filled += rows.Count;
            if (rows.Count < batchSize)
            {
                return filled;
            }
        }
    }

    /// <summary>Dapper's shape of a row: timestamptz arrives as a UTC <see cref="DateTime"/>.</summary>
    private sealed record UserRow(Guid Id, string Username, string DisplayName, string PasswordHash, DateTime CreatedAt, string? Email, string? AvatarUrl)
    {
        public UserRecord ToRecord() => new(Id, Username, DisplayName, PasswordHash, PostgresRows.Utc(CreatedAt)) { Email = Email, AvatarUrl = AvatarUrl };
    }
}
