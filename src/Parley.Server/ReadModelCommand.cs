using Parley.Core.Ports;

namespace Parley.Server;

/// <summary>The <c>rebuild-read-models</c> command: one rebuild (or check) and a plain-text account of it.</summary>
public static class ReadModelCommand
{
    public const int HistoryIncomplete = 3;

    public static async Task<int> RunAsync(IReadModelStore store, bool apply, TextWriter output)
    {
        ReadModelReport report;
        try
        {
            report = await store.RebuildAsync(apply, CancellationToken.None);
        }
        catch (ReadModelHistoryException e)
        {
            await output.WriteLineAsync(e.Message);
            return HistoryIncomplete;
        }

        await output.WriteLineAsync($"Folded {report.EventsRead} events.");
        foreach (var check in report.Checks)
        {
            await output.WriteLineAsync($"{check.Model}: {check.Examined} examined, {check.Drifts.Count} differed, {check.Uncovered} not covered by the events (left as they are)");
            foreach (var drift in check.Drifts)
            {
                await output.WriteLineAsync($"  {drift}");
            }
        }

        await output.WriteLineAsync(report.DriftCount == 0 ? "The read models match the events." : apply
            ? $"Wrote {report.DriftCount} value(s) from the events."
            : $"{report.DriftCount} value(s) differ; run without --check to write them.");
        return 0;
    }
}
