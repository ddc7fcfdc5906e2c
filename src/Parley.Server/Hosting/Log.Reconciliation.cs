namespace Parley.Server.Hosting;

internal static partial class Log
{
    [LoggerMessage(1900, LogLevel.Information, "Read models rebuilt from {Events} events: {Drift} value(s) differed and were written")]
    public static partial void ReadModelsRebuilt(ILogger logger, long events, int drift);

    [LoggerMessage(1901, LogLevel.Information, "Reconciliation run {RunId} completed (repair: {Repair}): {Drift} drifted value(s), {Repaired} repaired")]
    public static partial void ReconciliationCompleted(ILogger logger, Guid runId, bool repair, long drift, long repaired);

    [LoggerMessage(1902, LogLevel.Warning, "Reconciliation run {RunId} found drift in {Check}: {Drift} value(s), e.g. {Sample}")]
    public static partial void ReconciliationDrift(ILogger logger, Guid runId, string check, long drift, string sample);

    [LoggerMessage(1903, LogLevel.Error, "Reconciliation run {RunId} failed")]
    public static partial void ReconciliationFailed(ILogger logger, Exception exception, Guid runId);

    [LoggerMessage(1904, LogLevel.Warning, "The read models cannot be checked against the outbox: {Reason}")]
    public static partial void ReadModelsUncheckable(ILogger logger, string reason);
}
