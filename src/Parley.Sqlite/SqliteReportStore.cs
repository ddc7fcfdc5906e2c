using System.Text.Json;
using Microsoft.Data.Sqlite;
using Parley.Core.Events;
using Parley.Core.Persistence;
using Parley.Core.Ports;
using Parley.Sqlite.Internal;

namespace Parley.Sqlite;

/// <summary>Reports and their resolution in the embedded store: each write and its domain events in one transaction, behind the one write gate.</summary>
public sealed class SqliteReportStore(SqliteDatabase db) : IReportStore
{
    private const string Columns = "r.id, r.message_id, r.conversation_id, r.reporter_id, r.reason, r.created_at, r.status, r.resolved_by, r.resolved_at, r.action";

    private const int ColumnCount = 10;

    private static readonly string ModeratorGrants = JsonSerializer.Serialize([.. ReportQuery.ModeratorGrants], SqliteJsonContext.Default.StringArray);

    public Task<(ReportRecord Report, bool Created)> CreateAsync(ReportRecord report, EventContext context, CancellationToken cancellationToken) =>
        db.WriteAsync(async (connection, transaction) =>
        {
            report = report with { CreatedAt = StoreTime.Truncate(report.CreatedAt), Status = ReportStatuses.Open };
            await using (var insert = SqliteDatabase.Command(connection, """
                INSERT INTO reports (id, message_id, conversation_id, reporter_id, reason, created_at, status) VALUES ($id, $m, $c, $u, $reason, $at, 'open')
                ON CONFLICT DO NOTHING
                """, transaction))
            {
                insert.Parameters.AddWithValue("$id", report.Id.ToString());
                insert.Parameters.AddWithValue("$m", report.MessageId.ToString());
                insert.Parameters.AddWithValue("$c", report.ConversationId.ToString());
                insert.Parameters.AddWithValue("$u", report.ReporterId.ToString());
                insert.Parameters.AddWithValue("$reason", report.Reason);
                insert.Parameters.AddWithValue("$at", SqliteTime.Ms(report.CreatedAt));
                if (await insert.ExecuteNonQueryAsync(cancellationToken) == 1)
                {
                    await SqliteOutbox.AppendAsync(connection, transaction, ChangeEvents.MessageReported(report, context), cancellationToken);
                    return (report, true);
                }
            }

            // The write gate serializes writers: the open report that refused the insert is still there and still open.
            var existing = await ReadAsync(connection, transaction, "r.message_id = $m AND r.reporter_id = $u AND r.status = 'open'",
                [("$m", report.MessageId.ToString()), ("$u", report.ReporterId.ToString())], cancellationToken);
            return (existing.Single(), false);
        }, cancellationToken);

    public Task<ReportRecord?> GetAsync(Guid reportId, CancellationToken cancellationToken) =>
        db.ReadAsync(async connection => (await ReadAsync(connection, null, "r.id = $id", [("$id", reportId.ToString())], cancellationToken)).SingleOrDefault(), cancellationToken);

    public Task<ReportPage> ListAsync(ReportQuery query, CancellationToken cancellationToken) =>
        db.ReadAsync(async connection =>
        {
            var items = new List<ReportSummary>();
            await using (var command = SqliteDatabase.Command(connection, $"""
                SELECT {Columns}, {SqliteRows.MessageColumns}
                FROM reports r
                JOIN messages m ON m.id = r.message_id
                WHERE r.status = $status
                  AND ($conversation IS NULL OR r.conversation_id = $conversation)
                  AND ($moderator IS NULL OR EXISTS (
                      SELECT 1 FROM participants p JOIN conversations c ON c.id = p.conversation_id
                      WHERE p.conversation_id = r.conversation_id AND p.user_id = $moderator
                        AND c.type || ':' || p.role IN (SELECT value FROM json_each($grants))))
                  AND ($cursorAt IS NULL OR r.created_at < $cursorAt OR (r.created_at = $cursorAt AND r.id < $cursorId))
                ORDER BY r.created_at DESC, r.id DESC
                LIMIT $n
                """))
            {
                command.Parameters.AddWithValue("$status", query.Status);
                command.Parameters.AddWithValue("$conversation", query.ConversationId is { } c ? c.ToString() : DBNull.Value);
                command.Parameters.AddWithValue("$moderator", query.ModeratorId is { } m ? m.ToString() : DBNull.Value);
                command.Parameters.AddWithValue("$grants", ModeratorGrants);
                command.Parameters.AddWithValue("$cursorAt", query.After is null ? DBNull.Value : SqliteTime.Ms(query.After.LastActivityAt));
                command.Parameters.AddWithValue("$cursorId", query.After is null ? DBNull.Value : query.After.Id.ToString());
                command.Parameters.AddWithValue("$n", query.Limit + 1);
                await using var reader = await command.ExecuteReaderAsync(cancellationToken);
                while (await reader.ReadAsync(cancellationToken))
                {
                    items.Add(new ReportSummary(Read(reader), SqliteRows.ReadMessage(reader, ColumnCount)));
                }
            }

            var hasMore = Paging.TrimProbe(items, query.Limit);
            return new ReportPage(items, hasMore ? new ConversationCursor(items[^1].Report.CreatedAt, items[^1].Report.Id) : null);
        }, cancellationToken);

    public Task<ResolveReportResult> ResolveAsync(Guid reportId, Guid resolverId, string action, DateTimeOffset now, EventContext context, CancellationToken cancellationToken) =>
        db.WriteAsync(async (connection, transaction) =>
        {
            var report = (await ReadAsync(connection, transaction, "r.id = $id", [("$id", reportId.ToString())], cancellationToken)).SingleOrDefault();
            if (report is null)
            {
                return new ResolveReportResult(ReportResolution.NotFound, null, 0);
            }

            if (report.Status != ReportStatuses.Open)
            {
                return new ResolveReportResult(ReportResolution.AlreadyResolved, report, 0);
            }

            var resolved = new List<ReportRecord>();
            await using (var update = SqliteDatabase.Command(connection, $"""
                UPDATE reports SET status = 'resolved', resolved_by = $by, resolved_at = $at, action = $action
                WHERE message_id = $m AND status = 'open'
                RETURNING {Columns.Replace("r.", "", StringComparison.Ordinal)}
                """, transaction))
            {
                update.Parameters.AddWithValue("$by", resolverId.ToString());
                update.Parameters.AddWithValue("$at", SqliteTime.Ms(StoreTime.Truncate(now)));
                update.Parameters.AddWithValue("$action", action);
                update.Parameters.AddWithValue("$m", report.MessageId.ToString());
                await using var reader = await update.ExecuteReaderAsync(cancellationToken);
                while (await reader.ReadAsync(cancellationToken))
                {
                    resolved.Add(Read(reader));
                }
            }

            await using (var outbox = new SqliteOutbox(connection, transaction))
            {
                foreach (var each in resolved.OrderBy(r => r.CreatedAt).ThenBy(r => r.Id))
                {
                    await outbox.AppendAsync(ChangeEvents.ReportResolved(each, context), cancellationToken);
                }
            }

            return new ResolveReportResult(ReportResolution.Resolved, resolved.Single(r => r.Id == reportId), resolved.Count);
        }, cancellationToken);

    private static async Task<List<ReportRecord>> ReadAsync(SqliteConnection connection, SqliteTransaction? transaction, string where,
        IReadOnlyList<(string Name, string Value)> parameters, CancellationToken cancellationToken)
    {
        await using var command = SqliteDatabase.Command(connection, $"SELECT {Columns} FROM reports r WHERE {where}", transaction);
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value);
        }

        var reports = new List<ReportRecord>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            reports.Add(Read(reader));
        }

        return reports;
    }

    private static ReportRecord Read(SqliteDataReader r) =>
        new(Guid.Parse(r.GetString(0)), Guid.Parse(r.GetString(1)), Guid.Parse(r.GetString(2)), Guid.Parse(r.GetString(3)), r.GetString(4), SqliteTime.FromMs(r.GetInt64(5)))
        {
            Status = r.GetString(6),
            ResolvedBy = r.IsDBNull(7) ? null : Guid.Parse(r.GetString(7)),
            ResolvedAt = r.IsDBNull(8) ? null : SqliteTime.FromMs(r.GetInt64(8)),
            Action = r.IsDBNull(9) ? null : r.GetString(9),
        };
}
