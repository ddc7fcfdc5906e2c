using Dapper;
using Parley.Core.Events;
using Parley.Core.Ports;
using Parley.Sqlite.Internal;

namespace Parley.Sqlite;

/// <summary>
/// The outbox's read side in the embedded store. SQLite has one writer and a reader sees only committed transactions,
/// so a position is never filled in behind a reader: the cursor is the position alone (<see cref="EventCursor.Transaction"/> is 0).
/// </summary>
public sealed class SqliteDomainEventStore(SqliteDatabase db, TimeProvider? time = null) : IDomainEventStore
{
    private readonly TimeProvider _time = time ?? TimeProvider.System;

    public Task<IReadOnlyList<DomainEvent>> ReadAsync(EventCursor after, int limit, CancellationToken cancellationToken) =>
        ReadAsync(after, limit, EventFilter.None, cancellationToken);

    public Task<IReadOnlyList<DomainEvent>> ReadAsync(EventCursor after, int limit, EventFilter filter, CancellationToken cancellationToken) =>
        db.ReadAsync<IReadOnlyList<DomainEvent>>(async connection =>
        {
            var rows = await connection.QueryAsync<EventRow>(new CommandDefinition("""
                SELECT position AS Position, id AS Id, aggregate_type AS AggregateType, aggregate_id AS AggregateId, type AS Type, version AS Version,
                       correlation_id AS CorrelationId, causation_id AS CausationId, user_id AS UserId, occurred_at AS OccurredAt, data AS Data, metadata AS Metadata
                FROM domain_events WHERE position > @After AND (@AggregateId IS NULL OR aggregate_id = @AggregateId) AND (@Type IS NULL OR type = @Type)
                ORDER BY position LIMIT @Limit
                """, new { After = after.Position, Limit = limit, filter.AggregateId, filter.Type }, cancellationToken: cancellationToken));
            return [.. rows.Select(r => r.ToEvent())];
        }, cancellationToken);

    public Task<EventCursor> GetCheckpointAsync(string consumer, CancellationToken cancellationToken) =>
        db.ReadAsync(async connection =>
        {
            var position = await connection.ExecuteScalarAsync<long?>(new CommandDefinition(
                "SELECT position FROM event_checkpoints WHERE consumer = @Consumer", new { Consumer = consumer }, cancellationToken: cancellationToken));
            return position is { } p ? new EventCursor(0, p) : EventCursor.Start;
        }, cancellationToken);

    public Task SaveCheckpointAsync(string consumer, EventCursor cursor, CancellationToken cancellationToken) =>
        db.WriteAsync((connection, transaction) => connection.ExecuteAsync(new CommandDefinition("""
            INSERT INTO event_checkpoints (consumer, position, updated_at) VALUES (@Consumer, @Position, @Now)
            ON CONFLICT (consumer) DO UPDATE SET position = excluded.position, updated_at = excluded.updated_at
            """, new { Consumer = consumer, cursor.Position, Now = SqliteTime.Ms(_time.GetUtcNow()) }, transaction, cancellationToken: cancellationToken)), cancellationToken);

    private sealed class EventRow
    {
        public long Position { get; set; }

        public string Id { get; set; } = "";

        public string AggregateType { get; set; } = "";

        public string AggregateId { get; set; } = "";

        public string Type { get; set; } = "";

        public long Version { get; set; }

        public string CorrelationId { get; set; } = "";

        public string? CausationId { get; set; }

        public string? UserId { get; set; }

        public long OccurredAt { get; set; }

        public string Data { get; set; } = "";

        public string? Metadata { get; set; }

        public DomainEvent ToEvent() => new(
            Guid.Parse(Id), AggregateType, AggregateId, Type, (int)Version, Guid.Parse(CorrelationId),
            CausationId is null ? null : Guid.Parse(CausationId), UserId is null ? null : Guid.Parse(UserId),
            SqliteTime.FromMs(OccurredAt), Data, Metadata)
        {
            Cursor = new EventCursor(0, Position),
        };
    }
}
