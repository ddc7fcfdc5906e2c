using Dapper;
using Microsoft.Data.Sqlite;
using Parley.Core.Events;
using Parley.Core.Persistence;
using Parley.Core.Ports;
using Parley.Sqlite.Internal;

namespace Parley.Sqlite;

/// <summary>Refresh tokens in the embedded store, each usable once.</summary>
public sealed class SqliteSessionStore(SqliteDatabase db) : ISessionStore
{
    public Task AddRefreshTokenAsync(RefreshTokenRecord token, EventContext context, CancellationToken cancellationToken) =>
        db.WriteAsync(async (connection, transaction) =>
        {
            await InsertAsync(connection, transaction, token, cancellationToken);
            await SqliteOutbox.AppendAsync(connection, transaction, ChangeEvents.SessionStarted(token, context), cancellationToken);
            return true;
        }, cancellationToken);

    public Task<Guid?> RotateRefreshTokenAsync(string oldHash, RefreshTokenRecord replacement, DateTimeOffset now, EventContext context, CancellationToken cancellationToken) =>
        db.WriteAsync<Guid?>(async (connection, transaction) =>
        {
            var used = await connection.ExecuteScalarAsync<string?>(new CommandDefinition("""
                UPDATE refresh_tokens SET used_at = @Now
                WHERE token_hash = @Hash AND used_at IS NULL AND revoked_at IS NULL AND expires_at > @Now
                RETURNING user_id
                """, new { Hash = oldHash, Now = SqliteTime.Ms(now) }, transaction, cancellationToken: cancellationToken));
            if (used is null)
            {
                await RevokeAfterReuseAsync(connection, transaction, oldHash, now, context, cancellationToken);
                return null;
            }

            var userId = Guid.Parse(used);
            await InsertAsync(connection, transaction, replacement with { UserId = userId }, cancellationToken);
            await SqliteOutbox.AppendAsync(connection, transaction, ChangeEvents.SessionRefreshed(userId, replacement, now, context), cancellationToken);
            return userId;
        }, cancellationToken);

    /// <summary>A used token presented again means it leaked: revoke everything its user holds (an event only if something was revoked).</summary>
    private static async Task RevokeAfterReuseAsync(SqliteConnection connection, SqliteTransaction transaction, string oldHash, DateTimeOffset now, EventContext context, CancellationToken cancellationToken)
    {
        var owner = await connection.ExecuteScalarAsync<string?>(new CommandDefinition(
            "SELECT user_id FROM refresh_tokens WHERE token_hash = @Hash AND used_at IS NOT NULL", new { Hash = oldHash }, transaction, cancellationToken: cancellationToken));
        if (owner is null)
        {
            return;
        }

        // Each revoked row says whether it was still unused: those are the sessions the reuse ends.
        var revoked = (await connection.QueryAsync<long>(new CommandDefinition(
            "UPDATE refresh_tokens SET revoked_at = @Now WHERE revoked_at IS NULL AND user_id = @User RETURNING used_at IS NULL",
            new { Now = SqliteTime.Ms(now), User = owner }, transaction, cancellationToken: cancellationToken))).ToList();
        if (revoked.Count > 0)
        {
            await SqliteOutbox.AppendAsync(connection, transaction,
                ChangeEvents.SessionReuseDetected(Guid.Parse(owner), revoked.Count(unused => unused == 1), now, context), cancellationToken);
        }
    }

    public Task<bool> RevokeRefreshTokenAsync(string tokenHash, Guid userId, DateTimeOffset now, EventContext context, CancellationToken cancellationToken) =>
        db.WriteAsync(async (connection, transaction) =>
        {
            var revoked = await connection.ExecuteAsync(new CommandDefinition(
                "UPDATE refresh_tokens SET revoked_at = @Now WHERE token_hash = @Hash AND user_id = @User AND revoked_at IS NULL AND used_at IS NULL",
                new { Hash = tokenHash, User = userId.ToString(), Now = SqliteTime.Ms(now) }, transaction, cancellationToken: cancellationToken));
            if (revoked != 1)
            {
                return false;
            }

            await SqliteOutbox.AppendAsync(connection, transaction, ChangeEvents.SessionRevoked(userId, now, context), cancellationToken);
            return true;
        }, cancellationToken);

    private static Task<int> InsertAsync(SqliteConnection connection, SqliteTransaction transaction, RefreshTokenRecord token, CancellationToken cancellationToken) =>
        connection.ExecuteAsync(new CommandDefinition(
            "INSERT INTO refresh_tokens (token_hash, user_id, created_at, expires_at) VALUES (@Hash, @User, @CreatedAt, @ExpiresAt)",
            new { Hash = token.TokenHash, User = token.UserId.ToString(), CreatedAt = SqliteTime.Ms(token.CreatedAt), ExpiresAt = SqliteTime.Ms(token.ExpiresAt) },
            transaction, cancellationToken: cancellationToken));
}
