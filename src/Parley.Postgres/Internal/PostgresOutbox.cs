using Npgsql;
using Parley.Core.Events;

namespace Parley.Postgres.Internal;

/// <summary>
/// The write side of the outbox: appends domain events in the caller's transaction, so an event commits with its
/// change or not at all. One set-based statement whatever the count; positions follow the list's order.
/// </summary>
internal static class PostgresOutbox
{
    private const string InsertSql = """
        INSERT INTO domain_events (id, aggregate_type, aggregate_id, type, version, correlation_id, causation_id, user_id, occurred_at, data, metadata)
        SELECT id, aggregate_type, aggregate_id, type, version, correlation_id, causation_id, user_id, occurred_at, data::json, metadata::json
        FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::int[], $6::uuid[], $7::uuid[], $8::uuid[], $9::timestamptz[], $10::text[], $11::text[])
             WITH ORDINALITY AS t(id, aggregate_type, aggregate_id, type, version, correlation_id, causation_id, user_id, occurred_at, data, metadata, ordinal)
        ORDER BY ordinal
        """;

    /// <summary>For a caller that sends its writes as one <see cref="NpgsqlBatch"/> round trip.</summary>
    public static NpgsqlBatchCommand Append(IReadOnlyList<DomainEvent> events)
    {
        var command = new NpgsqlBatchCommand(InsertSql);
        AddParameters(command.Parameters, events);
        return command;
    }

    public static async Task AppendAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, DomainEvent domainEvent, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(InsertSql, connection, transaction);
        AddParameters(command.Parameters, [domainEvent]);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static void AddParameters(NpgsqlParameterCollection parameters, IReadOnlyList<DomainEvent> events)
    {
        parameters.Add(new() { Value = events.Select(e => e.Id).ToArray() });
        parameters.Add(new() { Value = events.Select(e => e.AggregateType).ToArray() });
        parameters.Add(new() { Value = events.Select(e => e.AggregateId).ToArray() });
        parameters.Add(new() { Value = events.Select(e => e.Type).ToArray() });
        parameters.Add(new() { Value = events.Select(e => e.Version).ToArray() });
        parameters.Add(new() { Value = events.Select(e => e.CorrelationId).ToArray() });
        parameters.Add(new() { Value = events.Select(e => e.CausationId).ToArray() });
        parameters.Add(new() { Value = events.Select(e => e.UserId).ToArray() });
        parameters.Add(new() { Value = events.Select(e => e.OccurredAt.ToUniversalTime()).ToArray() });
        parameters.Add(new() { Value = events.Select(e => e.Data).ToArray() });
        parameters.Add(new() { Value = events.Select(e => e.Metadata).ToArray() });
    }
}
