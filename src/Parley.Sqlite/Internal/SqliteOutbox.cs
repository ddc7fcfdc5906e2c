using Microsoft.Data.Sqlite;
using Parley.Core.Events;

namespace Parley.Sqlite.Internal;

/// <summary>
/// The write side of the outbox: appends domain events inside the caller's transaction, so an event commits with its
/// change or not at all. One prepared statement, re-executed per event (SQLite's bulk path). Dispose it before the
/// transaction commits.
/// </summary>
internal sealed class SqliteOutbox : IAsyncDisposable
{
    private readonly SqliteCommand _insert;
    private readonly SqliteParameter _id;
    private readonly SqliteParameter _aggregateType;
    private readonly SqliteParameter _aggregateId;
    private readonly SqliteParameter _type;
    private readonly SqliteParameter _version;
    private readonly SqliteParameter _correlation;
    private readonly SqliteParameter _causation;
    private readonly SqliteParameter _user;
    private readonly SqliteParameter _occurredAt;
    private readonly SqliteParameter _data;
    private readonly SqliteParameter _metadata;

    public SqliteOutbox(SqliteConnection connection, SqliteTransaction transaction)
    {
        _insert = SqliteDatabase.Command(connection, """
            INSERT INTO domain_events (id, aggregate_type, aggregate_id, type, version, correlation_id, causation_id, user_id, occurred_at, data, metadata)
            VALUES ($id, $at, $aid, $type, $v, $corr, $cause, $user, $when, $data, $meta)
            """, transaction);
        _id = _insert.Parameters.Add("$id", SqliteType.Text);
        _aggregateType = _insert.Parameters.Add("$at", SqliteType.Text);
        _aggregateId = _insert.Parameters.Add("$aid", SqliteType.Text);
        _type = _insert.Parameters.Add("$type", SqliteType.Text);
        _version = _insert.Parameters.Add("$v", SqliteType.Integer);
        _correlation = _insert.Parameters.Add("$corr", SqliteType.Text);
        _causation = _insert.Parameters.Add("$cause", SqliteType.Text);
        _user = _insert.Parameters.Add("$user", SqliteType.Text);
        _occurredAt = _insert.Parameters.Add("$when", SqliteType.Integer);
        _data = _insert.Parameters.Add("$data", SqliteType.Text);
        _metadata = _insert.Parameters.Add("$meta", SqliteType.Text);
    }

    /// <summary>Appends one event in a transaction of its own making (a single change).</summary>
    public static async Task AppendAsync(SqliteConnection connection, SqliteTransaction transaction, DomainEvent domainEvent, CancellationToken cancellationToken)
    {
        await using var outbox = new SqliteOutbox(connection, transaction);
        await outbox.AppendAsync(domainEvent, cancellationToken);
    }

    public async Task AppendAsync(DomainEvent e, CancellationToken cancellationToken)
    {
        _id.Value = e.Id.ToString();
        _aggregateType.Value = e.AggregateType;
        _aggregateId.Value = e.AggregateId;
        _type.Value = e.Type;
        _version.Value = e.Version;
        _correlation.Value = e.CorrelationId.ToString();
        _causation.Value = e.CausationId is { } causation ? causation.ToString() : DBNull.Value;
        _user.Value = e.UserId is { } user ? user.ToString() : DBNull.Value;
        _occurredAt.Value = SqliteTime.Ms(e.OccurredAt);
        _data.Value = e.Data;
        _metadata.Value = SqliteRows.OrNull(e.Metadata);
        await _insert.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task AppendAsync(IEnumerable<DomainEvent> events, CancellationToken cancellationToken)
    {
        foreach (var e in events)
        {
            await AppendAsync(e, cancellationToken);
        }
    }

    public ValueTask DisposeAsync() => _insert.DisposeAsync();
}
