using System.Text.Json;

namespace Parley.Bench;

/// <summary>What <see cref="Report.Write"/> wrote; the stage files only when a step reported stage timings.</summary>
public sealed record ReportFiles(string Json, string Png, string Svg, string? StagesPng, string? StagesSvg);

/// <summary>
/// Writes results.json and the pictures a person looks at: results.png/.svg (throughput and latency) and, when the
/// scenario reported <c>stage.&lt;name&gt;.p50Ms</c>/<c>p99Ms</c> figures, results-stages.png/.svg.
/// </summary>
public static class Report
{
    public static ReportFiles Write(string directory, string scenario, string engine, IReadOnlyList<StepResult> results)
    {
        Directory.CreateDirectory(directory);
        var json = Path.Combine(directory, "results.json");
        File.WriteAllText(json, JsonSerializer.Serialize(new
        {
            scenario,
            engine,
            machine = new { Environment.ProcessorCount, os = System.Runtime.InteropServices.RuntimeInformation.OSDescription, dotnet = Environment.Version.ToString() },
            at = DateTimeOffset.UtcNow,
            results,
            ratios = results.Where(r => !IsBaseline(r)).SelectMany(p => results.Where(b => IsBaseline(b) && b.RequestedRate == p.RequestedRate).Select(b => new
            {
                p.Target,
                p.RequestedRate,
                baseline = b.Target,
                throughputVsBaseline = Ratio(p.AchievedPerSecond, b.AchievedPerSecond),
            })),
        }, new JsonSerializerOptions(JsonSerializerDefaults.Web) { WriteIndented = true }));

        var png = Path.Combine(directory, "results.png");
        var svg = Path.Combine(directory, "results.svg");
        ReportPlots.Overview(scenario, engine, results).Save(png, svg);

        if (ReportPlots.Stages(scenario, engine, results) is not { } stages)
        {
            return new ReportFiles(json, png, svg, null, null);
        }

        var stagesPng = Path.Combine(directory, "results-stages.png");
        var stagesSvg = Path.Combine(directory, "results-stages.svg");
        stages.Save(stagesPng, stagesSvg);
        return new ReportFiles(json, png, svg, stagesPng, stagesSvg);
    }

    public static bool IsBaseline(StepResult result) => IsBaseline(result.Target);

    public static bool IsBaseline(string target) => target.Contains("baseline", StringComparison.Ordinal);

    private static double? Ratio(double value, double? baseline) => baseline is > 0 ? Math.Round(value / baseline.Value, 3) : null;
}
