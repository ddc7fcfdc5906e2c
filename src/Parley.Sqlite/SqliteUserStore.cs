using Dapper;
using Parley.Core.Events;
using Parley.Core.Persistence;
using Parley.Core.Ports;
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
                INSERT INTO users (id, username, display_name, password_hash, created_at) VALUES (@Id, @Username, @DisplayName, @PasswordHash, @CreatedAt)
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
                    avatar_url = CASE WHEN @SetAvatarUrl THEN @AvatarUrl ELSE avatar_url END,
                    email = CASE WHEN @SetEmail THEN @Email ELSE email END,
                    email_normalized = CASE WHEN @SetEmail THEN @EmailKey ELSE email_normalized END
                WHERE id = @id
                RETURNING {UserColumns}
                """, new { id, change.DisplayName, change.SetAvatarUrl, change.AvatarUrl, change.SetEmail, change.Email, change.EmailKey },
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

    /// <summary>A users row as stored (text ids, millisecond times), for Dapper.</summary>
    private sealed class UserRow
    {
        public string Id { get; set; } = "";

        public string Username { get; set; } = "";

        public string DisplayName { get; set; } = "";

        public string PasswordHash { get; set; } = "";

        public long CreatedAt { get; set; }

        public string? Email { get; set; }

        public string? AvatarUrl { get; set; }

        public static UserRow From(UserRecord user) => new()
        {
            Id = user.Id.ToString(),
            Username = user.Username,
            DisplayName = user.DisplayName,
            PasswordHash = user.PasswordHash,
            CreatedAt = SqliteTime.Ms(user.CreatedAt),
        };

        public UserRecord ToRecord() => new(Guid.Parse(Id), Username, DisplayName, PasswordHash, SqliteTime.FromMs(CreatedAt)) { Email = Email, AvatarUrl = AvatarUrl };
    }
}
