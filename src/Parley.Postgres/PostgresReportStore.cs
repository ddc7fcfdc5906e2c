using Npgsql;
using NpgsqlTypes;
using Parley.Core.Events;
using Parley.Core.Persistence;
using Parley.Core.Ports;
using Parley.Postgres.Internal;
using static Parley.Postgres.Internal.PostgresRows;

namespace Parley.Postgres;

/// <summary>Reports and their resolution on PostgreSQL: each write and its domain events in one transaction.</summary>
public sealed class PostgresReportStore(NpgsqlDataSource dataSource) : IReportStore
{
    private const string Columns = "r.id, r.message_id, r.conversation_id, r.reporter_id, r.reason, r.created_at, r.status, r.resolved_by, r.resolved_at, r.action";

    private const int ColumnCount = 10;

    private static readonly string[] ModeratorGrants = [.. ReportQuery.ModeratorGrants];

    public async Task<(ReportRecord Report, bool Created)> CreateAsync(ReportRecord report, EventContext context, CancellationToken cancellationToken)
    {
        report = report with { CreatedAt = StoreTime.Truncate(report.CreatedAt), Status = ReportStatuses.Open };
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        // A concurrent resolve can close the open report that refused the insert before it is read: then insert again.
        for (var attempt = 0; ; attempt++)
        {
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
            await using (var insert = new NpgsqlCommand("""
                INSERT INTO reports (id, message_id, conversation_id, reporter_id, reason, created_at, status) VALUES ($1, $2, $3, $4, $5, $6, 'open')
                ON CONFLICT DO NOTHING
                """, connection, transaction))
            {
                insert.Parameters.Add(new() { Value = report.Id });
                insert.Parameters.Add(new() { Value = report.MessageId });
                insert.Parameters.Add(new() { Value = report.ConversationId });
                insert.Parameters.Add(new() { Value = report.ReporterId });
                insert.Parameters.Add(new() { Value = report.Reason });
                insert.Parameters.Add(new() { Value = report.CreatedAt });
                if (await insert.ExecuteNonQueryAsync(cancellationToken) == 1)
                {
                    await PostgresOutbox.AppendAsync(connection, transaction, ChangeEvents.MessageReported(report, context), cancellationToken);
                    await transaction.CommitAsync(cancellationToken);
                    return (report, true);
                }
            }

            // A statement of its own: it sees the open report even when a concurrent report committed it just now.
            var existing = await ReadAsync(connection, transaction, "r.message_id = $1 AND r.reporter_id = $2 AND r.status = 'open'", [report.MessageId, report.ReporterId], cancellationToken);
            await transaction.CommitAsync(cancellationToken);
            if (existing.Count == 1 || attempt >= 2)
            {
                return (existing.Single(), false);
            }
        }
    }

    public async Task<ReportRecord?> GetAsync(Guid reportId, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return (await ReadAsync(connection, null, "r.id = $1", [reportId], cancellationToken)).SingleOrDefault();
    }

    public async Task<ReportPage> ListAsync(ReportQuery query, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand($"""
            SELECT {Columns}, {MessageColumns}
            FROM reports r
            JOIN messages m ON m.id = r.message_id
            WHERE r.status = $1
              AND ($2::uuid IS NULL OR r.conversation_id = $2)
              AND ($3::uuid IS NULL OR EXISTS (
                  SELECT 1 FROM participants p JOIN conversations c ON c.id = p.conversation_id
                  WHERE p.conversation_id = r.conversation_id AND p.user_id = $3 AND c.type || ':' || p.role = ANY($4)))
              AND ($5::timestamptz IS NULL OR (r.created_at, r.id) < ($5, $6))
            ORDER BY r.created_at DESC, r.id DESC
            LIMIT $7
            """);
        command.Parameters.Add(new() { Value = query.Status });
        command.Parameters.Add(new() { Value = (object?)query.ConversationId ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Uuid });
        command.Parameters.Add(new() { Value = (object?)query.ModeratorId ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Uuid });
        command.Parameters.Add(new() { Value = ModeratorGrants, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        command.Parameters.Add(new() { Value = query.After is null ? DBNull.Value : StoreTime.Truncate(query.After.LastActivityAt), NpgsqlDbType = NpgsqlDbType.TimestampTz });
        command.Parameters.Add(new() { Value = query.After?.Id ?? Guid.Empty });
        command.Parameters.Add(new() { Value = query.Limit + 1 });
        var items = new List<ReportSummary>();
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                items.Add(new ReportSummary(Read(reader), ReadMessage(reader, ColumnCount)));
            }
        }

        var hasMore = Paging.TrimProbe(items, query.Limit);
        return new ReportPage(items, hasMore ? new ConversationCursor(items[^1].Report.CreatedAt, items[^1].Report.Id) : null);
    }

    public async Task<ResolveReportResult> ResolveAsync(Guid reportId, Guid resolverId, string action, DateTimeOffset now, EventContext context, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        // The row lock orders resolves of one report; one of another report on the same message waits on the update
        // below and then sees its report resolved (FOR UPDATE reads the newest committed version).
        var report = (await ReadAsync(connection, transaction, "r.id = $1 FOR UPDATE", [reportId], cancellationToken)).SingleOrDefault();
        if (report is null)
        {
            return new ResolveReportResult(ReportResolution.NotFound, null, 0);
        }

        if (report.Status != ReportStatuses.Open)
        {
            return new ResolveReportResult(ReportResolution.AlreadyResolved, report, 0);
        }

        var resolved = new List<ReportRecord>();
        await using (var update = new NpgsqlCommand($"""
            UPDATE reports r SET status = 'resolved', resolved_by = $1, resolved_at = $2, action = $3
            WHERE r.message_id = $4 AND r.status = 'open'
            RETURNING {Columns}
            """, connection, transaction))
        {
            update.Parameters.Add(new() { Value = resolverId });
            update.Parameters.Add(new() { Value = StoreTime.Truncate(now) });
            update.Parameters.Add(new() { Value = action });
            update.Parameters.Add(new() { Value = report.MessageId });
            await using var reader = await update.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                resolved.Add(Read(reader));
            }
        }

        foreach (var each in resolved.OrderBy(r => r.CreatedAt).ThenBy(r => r.Id))
        {
            await PostgresOutbox.AppendAsync(connection, transaction, ChangeEvents.ReportResolved(each, context), cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
        return new ResolveReportResult(ReportResolution.Resolved, resolved.Single(r => r.Id == reportId), resolved.Count);
    }

    private static async Task<List<ReportRecord>> ReadAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, string where, IReadOnlyList<object> parameters,
        CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand($"SELECT {Columns} FROM reports r WHERE {where}", connection, transaction);
        foreach (var value in parameters)
        {
            command.Parameters.Add(new() { Value = value });
        }

        var reports = new List<ReportRecord>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            reports.Add(Read(reader));
        }

        return reports;
    }

    private static ReportRecord Read(NpgsqlDataReader r) =>
        new(r.GetGuid(0), r.GetGuid(1), r.GetGuid(2), r.GetGuid(3), r.GetString(4), Time(r, 5))
        {
            Status = r.GetString(6),
            ResolvedBy = r.IsDBNull(7) ? null : r.GetGuid(7),
            ResolvedAt = r.IsDBNull(8) ? null : Time(r, 8),
            Action = r.IsDBNull(9) ? null : r.GetString(9),
        };
}
