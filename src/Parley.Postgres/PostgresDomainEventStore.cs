using Dapper;
using Npgsql;
using Parley.Core.Events;
using Parley.Core.Ports;
using Parley.Postgres.Internal;

namespace Parley.Postgres;

/// <summary>
/// The outbox's read side on PostgreSQL. Positions are taken at insert, not at commit, so a later position can commit
/// first; events are therefore read in (writing transaction, position) order and only from transactions older than
/// every transaction still open (<c>pg_snapshot_xmin</c>): whatever commits later sorts after what was already read.
/// </summary>
public sealed class PostgresDomainEventStore(NpgsqlDataSource dataSource) : IDomainEventStore
{
    public Task<IReadOnlyList<DomainEvent>> ReadAsync(EventCursor after, int limit, CancellationToken cancellationToken) =>
        ReadAsync(after, limit, EventFilter.None, cancellationToken);

    public async Task<IReadOnlyList<DomainEvent>> ReadAsync(EventCursor after, int limit, EventFilter filter, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("""
            SELECT transaction_id::text::bigint, position, id, aggregate_type, aggregate_id, type, version, correlation_id, causation_id, user_id,
                   occurred_at, data::text, metadata::text
            FROM domain_events
            WHERE (transaction_id, position) > ($1::text::xid8, $2)
              AND transaction_id < pg_snapshot_xmin(pg_current_snapshot())
              AND ($4::text IS NULL OR aggregate_id = $4) AND ($5::text IS NULL OR type = $5)
            ORDER BY transaction_id, position
            LIMIT $3
            """);
        command.Parameters.Add(new() { Value = after.Transaction.ToString(System.Globalization.CultureInfo.InvariantCulture) });
        command.Parameters.Add(new() { Value = after.Position });
        command.Parameters.Add(new() { Value = limit });
        command.Parameters.Add(new() { Value = (object?)filter.AggregateId ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
        command.Parameters.Add(new() { Value = (object?)filter.Type ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
        var events = new List<DomainEvent>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            events.Add(new DomainEvent(
                reader.GetGuid(2), reader.GetString(3), reader.GetString(4), reader.GetString(5), reader.GetInt32(6), reader.GetGuid(7),
                reader.IsDBNull(8) ? null : reader.GetGuid(8), reader.IsDBNull(9) ? null : reader.GetGuid(9), PostgresRows.Time(reader, 10),
                reader.GetString(11), reader.IsDBNull(12) ? null : reader.GetString(12))
            {
                Cursor = new EventCursor(reader.GetInt64(0), reader.GetInt64(1)),
            });
        }

        return events;
    }

    public async Task<EventCursor> GetCheckpointAsync(string consumer, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var rows = await connection.QueryAsync<(long Transaction, long Position)>(new CommandDefinition(
            "SELECT transaction_id::text::bigint, position FROM event_checkpoints WHERE consumer = @consumer", new { consumer }, cancellationToken: cancellationToken));
        return rows.Select(r => new EventCursor(r.Transaction, r.Position)).SingleOrDefault(EventCursor.Start);
    }

    public async Task SaveCheckpointAsync(string consumer, EventCursor cursor, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await connection.ExecuteAsync(new CommandDefinition("""
            INSERT INTO event_checkpoints (consumer, transaction_id, position, updated_at) VALUES (@consumer, @transaction::text::xid8, @position, now())
            ON CONFLICT (consumer) DO UPDATE SET transaction_id = excluded.transaction_id, position = excluded.position, updated_at = excluded.updated_at
            """, new { consumer, transaction = cursor.Transaction, position = cursor.Position }, cancellationToken: cancellationToken));
    }
}
