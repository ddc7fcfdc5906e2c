using Parley.Core.Events;

namespace Parley.Server.Contracts;

/// <summary>One domain event as the admin events API shows it: the outbox row, its data as the JSON it was written as.</summary>
public sealed record EventView(Guid Id, string AggregateType, string AggregateId, string Type, int Version, Guid CorrelationId, Guid? CausationId, Guid? UserId,
    DateTimeOffset OccurredAt, JsonText Data, JsonText? Metadata, string Cursor)
{
    public static EventView From(DomainEvent e) => new(e.Id, e.AggregateType, e.AggregateId, e.Type, e.Version, e.CorrelationId, e.CausationId, e.UserId,
        e.OccurredAt, new JsonText(e.Data), JsonText.From(e.Metadata), EventCursors.Format(e.Cursor));
}

/// <summary><c>NextCursor</c>: pass it as <c>after</c> for the next page; null when this page was not full.</summary>
public sealed record EventPageView(IReadOnlyList<EventView> Items, string? NextCursor);

/// <summary>An outbox position on the wire: <c>{transaction}_{position}</c> (the transaction is 0 on SQLite).</summary>
public static class EventCursors
{
    public static string Format(EventCursor cursor) => FormattableString.Invariant($"{cursor.Transaction}_{cursor.Position}");

    public static EventCursor? TryParse(string text)
    {
        var parts = text.Split('_');
        return parts.Length == 2
            && long.TryParse(parts[0], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var transaction)
            && long.TryParse(parts[1], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var position)
            ? new EventCursor(transaction, position)
            : null;
    }
}

/// <summary>
/// One dead letter (E2), whatever its kind. <c>Id</c> is <c>{kind}:{id}</c>; <c>Failure</c> is what the one classifier
/// makes of its error (<c>retryable</c> ones are reprocessed on a schedule, <c>permanent</c> and <c>gone</c> ones never);
/// <c>Payload</c> is the work as it died (a message envelope, a push job, a webhook delivery).
/// </summary>
public sealed record DeadLetterView(string Id, string Kind, string ErrorType, string Error, string Failure, int Attempts, int Replays, DateTimeOffset DeadAt,
    string? Subject, JsonText Payload);

public sealed record DeadLetterPageView(IReadOnlyList<DeadLetterView> Items, string? NextCursor);

/// <summary>What a replay did: the dead letter is gone and its work is queued again where it came from.</summary>
public sealed record DeadLetterReplayView(string Id, bool Replayed);
/// <summary>One read model value that differs from the projection of the outbox.</summary>
public sealed record ReadModelDriftView(string Key, string Current, string Projected);

/// <summary>One read model compared: values examined, values the outbox does not cover (left alone), values that differ (up to the samples).</summary>
public sealed record ReadModelCheckView(string Model, int Examined, int Uncovered, int Drift, IReadOnlyList<ReadModelDriftView> Samples);

/// <summary>A rebuild of the read models from the outbox: events folded, whether it wrote, and each read model's comparison.</summary>
public sealed record ReadModelRebuildView(long EventsRead, bool Applied, int Drift, IReadOnlyList<ReadModelCheckView> Checks)
{
    public const int MaxSamples = 20;

    public static ReadModelRebuildView From(Parley.Core.Ports.ReadModelReport report) => new(report.EventsRead, report.Applied, report.DriftCount,
        [.. report.Checks.Select(c => new ReadModelCheckView(c.Model, c.Examined, c.Uncovered, c.Drifts.Count,
            [.. c.Drifts.Take(MaxSamples).Select(d => new ReadModelDriftView(d.Key, d.Current, d.Projected))]))]);
}

/// <summary>The body of POST /api/v1/admin/reconcile (optional): <c>repair</c> writes the projected read models where they drifted.</summary>
public sealed record ReconcileRequest(bool Repair);

/// <summary>One check of a reconciliation run.</summary>
public sealed record ReconcileCheckView(string Name, long Examined, long Drift, long Repaired, IReadOnlyList<string> Samples);

/// <summary>A reconciliation run: <c>running</c> until its checks are done, then <c>completed</c> (or <c>failed</c>, with <c>error</c>).</summary>
public sealed record ReconcileRunView(Guid RunId, string Status, bool Repair, DateTimeOffset StartedAt, DateTimeOffset? FinishedAt, string? Error, IReadOnlyList<ReconcileCheckView> Checks)
{
    public static ReconcileRunView From(Parley.Core.Ports.ReconciliationRun run) => new(run.Id, run.Status, run.Repair, run.StartedAt, run.FinishedAt, run.Error,
        [.. run.Checks.Select(c => new ReconcileCheckView(c.Name, c.Examined, c.Drift, c.Repaired, c.Samples))]);
}
