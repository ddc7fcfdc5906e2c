using Dapper;
using Parley.Core.Events;
using Parley.Core.Persistence;
using Parley.Core.Ports;
using Parley.Core.Push;
using Parley.Sqlite.Internal;

namespace Parley.Sqlite;

/// <summary>Push targets in the embedded store: each write and its domain event in one transaction, behind the one write gate.</summary>
public sealed class SqlitePushDeviceStore(SqliteDatabase db) : IPushDeviceStore
{
    private const string Columns = "id AS Id, user_id AS UserId, platform AS Platform, token AS Token, created_at AS CreatedAt";

    public Task<(PushDevice Device, bool Created)> RegisterAsync(Guid userId, string platform, string token, DateTimeOffset now, EventContext context, CancellationToken cancellationToken) =>
        db.WriteAsync(async (connection, transaction) =>
        {
            var existing = await connection.QuerySingleOrDefaultAsync<Row>(new CommandDefinition(
                $"SELECT {Columns} FROM push_devices WHERE platform = @platform AND token = @token", new { platform, token }, transaction, cancellationToken: cancellationToken));
            if (existing?.ToDevice() is { } device && device.UserId == userId)
            {
                return (device, false);
            }

            if (existing?.ToDevice() is { } previous)
            {
                // The token moved to another account (the device was signed into it): the previous owner must stop getting its pushes.
                await connection.ExecuteAsync(new CommandDefinition("DELETE FROM push_devices WHERE id = @Id", new { Id = previous.Id.ToString() }, transaction, cancellationToken: cancellationToken));
                await SqliteOutbox.AppendAsync(connection, transaction, ChangeEvents.DeviceRemoved(previous, "moved", now, context), cancellationToken);
            }

            var created = new PushDevice(Guid.CreateVersion7(now), userId, platform, token, StoreTime.Truncate(now));
            await connection.ExecuteAsync(new CommandDefinition(
                "INSERT INTO push_devices (id, user_id, platform, token, created_at) VALUES (@id, @user, @platform, @token, @at)",
                new { id = created.Id.ToString(), user = userId.ToString(), platform, token, at = SqliteTime.Ms(created.CreatedAt) }, transaction, cancellationToken: cancellationToken));
            await SqliteOutbox.AppendAsync(connection, transaction, ChangeEvents.DeviceRegistered(created, context), cancellationToken);
            return (created, true);
        }, cancellationToken);

    public Task<IReadOnlyList<PushDevice>> ListAsync(Guid userId, CancellationToken cancellationToken) =>
        db.ReadAsync<IReadOnlyList<PushDevice>>(async connection =>
            [.. (await connection.QueryAsync<Row>(new CommandDefinition(
                $"SELECT {Columns} FROM push_devices WHERE user_id = @user ORDER BY created_at, id", new { user = userId.ToString() }, cancellationToken: cancellationToken)))
                .Select(r => r.ToDevice())], cancellationToken);

    public Task<bool> RemoveAsync(Guid deviceId, Guid? userId, string reason, DateTimeOffset now, EventContext context, CancellationToken cancellationToken) =>
        db.WriteAsync(async (connection, transaction) =>
        {
            var row = await connection.QuerySingleOrDefaultAsync<Row>(new CommandDefinition(
                $"SELECT {Columns} FROM push_devices WHERE id = @id AND (@user IS NULL OR user_id = @user)",
                new { id = deviceId.ToString(), user = userId?.ToString() }, transaction, cancellationToken: cancellationToken));
            if (row is null)
            {
                return false;
            }

            await connection.ExecuteAsync(new CommandDefinition("DELETE FROM push_devices WHERE id = @id", new { id = deviceId.ToString() }, transaction, cancellationToken: cancellationToken));
            await SqliteOutbox.AppendAsync(connection, transaction, ChangeEvents.DeviceRemoved(row.ToDevice(), reason, now, context), cancellationToken);
            return true;
        }, cancellationToken);

    public Task<IReadOnlyList<PushRecipient>> GetRecipientsAsync(Guid conversationId, Guid senderId, CancellationToken cancellationToken) =>
        db.ReadAsync<IReadOnlyList<PushRecipient>>(async connection =>
            [.. (await connection.QueryAsync<RecipientRow>(new CommandDefinition(
                """
                SELECT d.id AS Id, d.user_id AS UserId, d.platform AS Platform, d.token AS Token, d.created_at AS CreatedAt,
                       p.muted AS Muted, p.muted_until AS MutedUntil,
                       (SELECT COALESCE(SUM(t.unread_count), 0) FROM participants t WHERE t.user_id = d.user_id) AS UnreadTotal
                FROM participants p JOIN push_devices d ON d.user_id = p.user_id
                WHERE p.conversation_id = @conversation AND p.user_id <> @sender
                ORDER BY d.user_id, d.id
                """,
                new { conversation = conversationId.ToString(), sender = senderId.ToString() }, cancellationToken: cancellationToken)))
                .Select(r => new PushRecipient(r.ToDevice(), r.Muted != 0, r.MutedUntil is { } until ? SqliteTime.FromMs(until) : null, r.UnreadTotal))], cancellationToken);

    private class Row
    {
        public string Id { get; set; } = "";

        public string UserId { get; set; } = "";

        public string Platform { get; set; } = "";

        public string Token { get; set; } = "";

        public long CreatedAt { get; set; }

        public PushDevice ToDevice() => new(Guid.Parse(Id), Guid.Parse(UserId), Platform, Token, SqliteTime.FromMs(CreatedAt));
    }

    private sealed class RecipientRow : Row
    {
        public long Muted { get; set; }

        public long? MutedUntil { get; set; }

        public long UnreadTotal { get; set; }
    }
}
