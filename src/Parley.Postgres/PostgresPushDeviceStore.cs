using Dapper;
using Npgsql;
using Parley.Core.Events;
using Parley.Core.Persistence;
using Parley.Core.Ports;
using Parley.Core.Push;
using Parley.Postgres.Internal;

namespace Parley.Postgres;

/// <summary>Push targets on PostgreSQL: each write and its domain event in one transaction.</summary>
public sealed class PostgresPushDeviceStore(NpgsqlDataSource dataSource) : IPushDeviceStore
{
    private const string Columns = "id AS Id, user_id AS UserId, platform AS Platform, token AS Token, created_at AS CreatedAt";

    public async Task<(PushDevice Device, bool Created)> RegisterAsync(Guid userId, string platform, string token, DateTimeOffset now, EventContext context, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        // Two registrations of one token at once (an app retrying) must end with one row and the right events: the token's
        // own lock orders them, whether or not its row exists yet.
        await connection.ExecuteAsync(new CommandDefinition("SELECT pg_advisory_xact_lock(hashtextextended(@key, 16))",
            new { key = $"{platform}\n{token}" }, transaction, cancellationToken: cancellationToken));
        var existing = (await connection.QuerySingleOrDefaultAsync<Row>(new CommandDefinition(
            $"SELECT {Columns} FROM push_devices WHERE platform = @platform AND token = @token", new { platform, token }, transaction, cancellationToken: cancellationToken)))?.ToDevice();
        if (existing is not null && existing.UserId == userId)
        {
            await transaction.CommitAsync(cancellationToken);
            return (existing, false);
        }

        if (existing is not null)
        {
            // The token moved to another account (the device was signed into it): the previous owner must stop getting its pushes.
            await connection.ExecuteAsync(new CommandDefinition("DELETE FROM push_devices WHERE id = @Id", new { existing.Id }, transaction, cancellationToken: cancellationToken));
            await PostgresOutbox.AppendAsync(connection, transaction, ChangeEvents.DeviceRemoved(existing, "moved", now, context), cancellationToken);
        }

        var created = new PushDevice(Guid.CreateVersion7(now), userId, platform, token, StoreTime.Truncate(now));
        await connection.ExecuteAsync(new CommandDefinition(
            "INSERT INTO push_devices (id, user_id, platform, token, created_at) VALUES (@Id, @UserId, @Platform, @Token, @CreatedAt)",
            created, transaction, cancellationToken: cancellationToken));
        await PostgresOutbox.AppendAsync(connection, transaction, ChangeEvents.DeviceRegistered(created, context), cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return (created, true);
    }

    public async Task<IReadOnlyList<PushDevice>> ListAsync(Guid userId, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return [.. (await connection.QueryAsync<Row>(new CommandDefinition(
            $"SELECT {Columns} FROM push_devices WHERE user_id = @userId ORDER BY created_at, id", new { userId }, cancellationToken: cancellationToken)))
            .Select(r => r.ToDevice())];
    }

    public async Task<bool> RemoveAsync(Guid deviceId, Guid? userId, string reason, DateTimeOffset now, EventContext context, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var removed = (await connection.QuerySingleOrDefaultAsync<Row>(new CommandDefinition(
            $"DELETE FROM push_devices WHERE id = @deviceId AND (@userId::uuid IS NULL OR user_id = @userId) RETURNING {Columns}",
            new { deviceId, userId }, transaction, cancellationToken: cancellationToken)))?.ToDevice();
        if (removed is null)
        {
            return false;
        }

        await PostgresOutbox.AppendAsync(connection, transaction, ChangeEvents.DeviceRemoved(removed, reason, now, context), cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return true;
    }

    public async Task<IReadOnlyList<PushRecipient>> GetRecipientsAsync(Guid conversationId, Guid senderId, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return [.. (await connection.QueryAsync<RecipientRow>(new CommandDefinition(
            """
            SELECT d.id AS Id, d.user_id AS UserId, d.platform AS Platform, d.token AS Token, d.created_at AS CreatedAt,
                   p.muted AS Muted, p.muted_until AS MutedUntil,
                   (SELECT COALESCE(SUM(t.unread_count), 0) FROM participants t WHERE t.user_id = d.user_id)::bigint AS UnreadTotal
            FROM participants p JOIN push_devices d ON d.user_id = p.user_id
            WHERE p.conversation_id = @conversationId AND p.user_id <> @senderId
            ORDER BY d.user_id, d.id
            """,
            new { conversationId, senderId }, cancellationToken: cancellationToken)))
            .Select(r => new PushRecipient(r.ToDevice(), r.Muted, r.MutedUntil is { } until ? Utc(until) : null, r.UnreadTotal))];
    }

    private static DateTimeOffset Utc(DateTime value) => new(DateTime.SpecifyKind(value, DateTimeKind.Utc));

    private class Row
    {
        public Guid Id { get; set; }

        public Guid UserId { get; set; }

        public string Platform { get; set; } = "";

        public string Token { get; set; } = "";

        public DateTime CreatedAt { get; set; }

        public PushDevice ToDevice() => new(Id, UserId, Platform, Token, Utc(CreatedAt));
    }

    private sealed class RecipientRow : Row
    {
        public bool Muted { get; set; }

        public DateTime? MutedUntil { get; set; }

        public long UnreadTotal { get; set; }
    }
}
