using Dapper;
using Npgsql;
using Parley.Core.Events;
using Parley.Core.Persistence;
using Parley.Core.Ports;
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
            INSERT INTO users (id, username, display_name, password_hash, created_at)
            VALUES (@Id, @Username, @DisplayName, @PasswordHash, @CreatedAt)
            ON CONFLICT (username) DO NOTHING
            """, user, transaction, cancellationToken: cancellationToken));
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
                    avatar_url = CASE WHEN @SetAvatarUrl THEN @AvatarUrl ELSE avatar_url END,
                    email = CASE WHEN @SetEmail THEN @Email ELSE email END,
                    email_normalized = CASE WHEN @SetEmail THEN @EmailKey ELSE email_normalized END
                WHERE id = @userId
                RETURNING {UserColumns}
                """, new { userId, change.DisplayName, change.SetAvatarUrl, change.AvatarUrl, change.SetEmail, change.Email, change.EmailKey }, transaction, cancellationToken: cancellationToken));
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

    /// <summary>Dapper's shape of a row: timestamptz arrives as a UTC <see cref="DateTime"/>.</summary>
    private sealed record UserRow(Guid Id, string Username, string DisplayName, string PasswordHash, DateTime CreatedAt, string? Email, string? AvatarUrl)
    {
        public UserRecord ToRecord() => new(Id, Username, DisplayName, PasswordHash, PostgresRows.Utc(CreatedAt)) { Email = Email, AvatarUrl = AvatarUrl };
    }
}
