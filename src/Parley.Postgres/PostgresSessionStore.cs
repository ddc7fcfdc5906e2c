using Dapper;
using Npgsql;
using Parley.Core.Events;
using Parley.Core.Persistence;
using Parley.Core.Ports;
using Parley.Postgres.Internal;

namespace Parley.Postgres;

/// <summary>Refresh tokens on PostgreSQL: plain CRUD by Dapper, each change with its session event in its transaction.</summary>
public sealed class PostgresSessionStore(NpgsqlDataSource dataSource) : ISessionStore
{
    private const string InsertToken =
        "INSERT INTO refresh_tokens (token_hash, user_id, created_at, expires_at) VALUES (@TokenHash, @UserId, @CreatedAt, @ExpiresAt)";

    public async Task AddRefreshTokenAsync(RefreshTokenRecord token, EventContext context, CancellationToken cancellationToken)
    {
        token = Truncated(token);
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await connection.ExecuteAsync(new CommandDefinition(InsertToken, token, transaction, cancellationToken: cancellationToken));
        await PostgresOutbox.AppendAsync(connection, transaction, ChangeEvents.SessionStarted(token, context), cancellationToken);
        await transaction.CommitAsync(cancellationToken);
    }

    public async Task<Guid?> RotateRefreshTokenAsync(string oldHash, RefreshTokenRecord replacement, DateTimeOffset now, EventContext context, CancellationToken cancellationToken)
    {
        now = StoreTime.Truncate(now);
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var userId = await connection.ExecuteScalarAsync<Guid?>(new CommandDefinition("""
            UPDATE refresh_tokens SET used_at = @now
            WHERE token_hash = @oldHash AND used_at IS NULL AND revoked_at IS NULL AND expires_at > @now
            RETURNING user_id
            """, new { oldHash, now }, transaction, cancellationToken: cancellationToken));
        if (userId is not { } owner)
        {
            // A used token presented again means it leaked: revoke everything the user holds.
            var revoked = (await connection.QueryAsync<Guid>(new CommandDefinition("""
                UPDATE refresh_tokens SET revoked_at = @now
                WHERE revoked_at IS NULL AND user_id = (SELECT user_id FROM refresh_tokens WHERE token_hash = @oldHash AND used_at IS NOT NULL)
                RETURNING user_id
                """, new { oldHash, now }, transaction, cancellationToken: cancellationToken))).ToList();
            if (revoked.Count > 0)
            {
                await PostgresOutbox.AppendAsync(connection, transaction, ChangeEvents.SessionReuseDetected(revoked[0], revoked.Count, now, context), cancellationToken);
            }

            await transaction.CommitAsync(cancellationToken);
            return null;
        }

        replacement = Truncated(replacement with { UserId = owner });
        await connection.ExecuteAsync(new CommandDefinition(InsertToken, replacement, transaction, cancellationToken: cancellationToken));
        await PostgresOutbox.AppendAsync(connection, transaction, ChangeEvents.SessionRefreshed(owner, replacement, now, context), cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return owner;
    }

    public async Task<bool> RevokeRefreshTokenAsync(string tokenHash, Guid userId, DateTimeOffset now, EventContext context, CancellationToken cancellationToken)
    {
        now = StoreTime.Truncate(now);
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var revoked = await connection.ExecuteAsync(new CommandDefinition(
            "UPDATE refresh_tokens SET revoked_at = @now WHERE token_hash = @tokenHash AND user_id = @userId AND revoked_at IS NULL AND used_at IS NULL",
            new { tokenHash, userId, now }, transaction, cancellationToken: cancellationToken)) == 1;
        if (revoked)
        {
            await PostgresOutbox.AppendAsync(connection, transaction, ChangeEvents.SessionRevoked(userId, now, context), cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
        return revoked;
    }

    private static RefreshTokenRecord Truncated(RefreshTokenRecord token) =>
        token with { CreatedAt = StoreTime.Truncate(token.CreatedAt), ExpiresAt = StoreTime.Truncate(token.ExpiresAt) };
}
