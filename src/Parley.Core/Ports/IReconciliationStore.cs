namespace Parley.Core.Ports;

/// <summary>
/// Reconciliation (E4) in the store: its runs, kept where every node can answer for them, and the checks of the rows
/// against themselves (sequences without gaps, counters against a recount), which only report.
/// </summary>
public interface IReconciliationStore
{
    /// <summary>Creates or replaces the run.</summary>
    Task SaveRunAsync(ReconciliationRun run, CancellationToken cancellationToken);

    Task<ReconciliationRun?> GetRunAsync(Guid runId, CancellationToken cancellationToken);

    /// <summary><see cref="ReconciliationChecks.Sequences"/> and <see cref="ReconciliationChecks.Counters"/>, each with up to <paramref name="samples"/> examples.</summary>
    Task<IReadOnlyList<ReconciliationCheck>> CheckRowsAsync(int samples, CancellationToken cancellationToken);
}

/// <param name="Status"><see cref="ReconciliationStatuses"/>.</param>
public sealed record ReconciliationRun(Guid Id, string Status, bool Repair, DateTimeOffset StartedAt, DateTimeOffset? FinishedAt, string? Error, IReadOnlyList<ReconciliationCheck> Checks);

/// <summary>One check of a run: what it examined, how much drifted, how much it repaired, and some examples.</summary>
public sealed record ReconciliationCheck(string Name, long Examined, long Drift, long Repaired, IReadOnlyList<string> Samples);

public static class ReconciliationStatuses
{
    public const string Running = "running";
    public const string Completed = "completed";
    public const string Failed = "failed";
}

/// <summary>The checks a run makes, by the name runs and metrics use.</summary>
public static class ReconciliationChecks
{
    /// <summary>Read models against the projection of the outbox; repaired by writing the projected values.</summary>
    public const string ReadModels = "read_models";

    /// <summary>Each conversation's messages numbered 1..n without a gap. Report only.</summary>
    public const string Sequences = "sequences";

    /// <summary>What the log accepted against what the store holds: entries pending too long, dead letters never stored. Report only.</summary>
    public const string LogVsStore = "log_vs_store";

    /// <summary>Counters against a recount of the rows (last sequence, thread reply counts, unread counts). Report only.</summary>
    public const string Counters = "counters";

    public static readonly IReadOnlyList<string> All = [ReadModels, Sequences, LogVsStore, Counters];
}
