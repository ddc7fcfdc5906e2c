using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Parley.Bench;

/// <summary>Writes results.json and a plot (results.svg) a person can look at.</summary>
public static class Report
{
    public static (string Json, string Svg) Write(string directory, string scenario, string engine, IReadOnlyList<StepResult> results)
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

        var svg = Path.Combine(directory, "results.svg");
        File.WriteAllText(svg, Plot(scenario, results));
        return (json, svg);
    }

    public static bool IsBaseline(StepResult result) => result.Target.Contains("baseline", StringComparison.Ordinal);

    private static double? Ratio(double value, double? baseline) => baseline is > 0 ? Math.Round(value / baseline.Value, 3) : null;

    /// <summary>Two panels: achieved throughput and p50/p99 latency (log scale) against offered rate, per target.</summary>
    private static string Plot(string scenario, IReadOnlyList<StepResult> results)
    {
        const int width = 900, height = 470, left = 70, top = 40, panel = 360, gap = 80, plotHeight = 300;
        var rates = results.Select(r => r.RequestedRate).Distinct().Order().ToList();
        var maxThroughput = Math.Max(1, results.Max(r => r.AchievedPerSecond));
        var maxLatency = Math.Max(1, results.Max(r => r.P99Ms));
        var svg = new StringBuilder();
        svg.Append(CultureInfo.InvariantCulture, $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" font-family=\"sans-serif\" font-size=\"12\">");
        svg.Append(CultureInfo.InvariantCulture, $"<rect width=\"{width}\" height=\"{height}\" fill=\"white\"/><text x=\"{left}\" y=\"20\" font-size=\"15\">parley-bench {scenario}</text>");
        double X(int panelIndex, int rate) => left + (panelIndex * (panel + gap)) + (rates.Count == 1 ? panel / 2.0 : rates.IndexOf(rate) * panel / (rates.Count - 1.0));
        double YThroughput(double v) => top + plotHeight - (v / maxThroughput * plotHeight);
        double YLatency(double v) => top + plotHeight - (Math.Log10(Math.Max(0.01, v) / 0.01) / Math.Log10(maxLatency / 0.01) * plotHeight);
        for (var p = 0; p < 2; p++)
        {
            var x0 = left + (p * (panel + gap));
            svg.Append(CultureInfo.InvariantCulture, $"<rect x=\"{x0}\" y=\"{top}\" width=\"{panel}\" height=\"{plotHeight}\" fill=\"none\" stroke=\"#999\"/>");
            svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{x0}\" y=\"{top - 6}\">{(p == 0 ? $"achieved msgs/s (max {maxThroughput:F0})" : $"latency ms, log scale (max p99 {maxLatency:F1})")}</text>");
            foreach (var rate in rates)
            {
                svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{X(p, rate) - 15}\" y=\"{top + plotHeight + 16}\">{rate}/s</text>");
            }
        }

        // One throughput line per target; p99 per target, plus p50 for the non-baseline ones.
        string[] palette = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"];
        var targets = results.Select(r => r.Target).Distinct().ToList();
        var series = new List<(string Target, string Label, Func<StepResult, double> Value, int Panel, string Color)>();
        foreach (var (index, target) in targets.Index())
        {
            var baseline = target.Contains("baseline", StringComparison.Ordinal);
            var color = baseline ? "#999" : palette[index % palette.Length];
            series.Add((target, $"{target} /s", r => r.AchievedPerSecond, 0, color));
            series.Add((target, $"{target} p99", r => r.P99Ms, 1, color));
            if (!baseline)
            {
                series.Add((target, $"{target} p50", r => r.P50Ms, 1, color + "99"));
            }
        }

        var legendY = top + plotHeight + 40;
        foreach (var (index, s) in series.Index())
        {
            var points = results.Where(r => r.Target == s.Target).OrderBy(r => r.RequestedRate)
                .Select(r => $"{X(s.Panel, r.RequestedRate):F1},{(s.Panel == 0 ? YThroughput(s.Value(r)) : YLatency(s.Value(r))):F1}").ToList();
            svg.Append(CultureInfo.InvariantCulture, $"<polyline points=\"{string.Join(' ', points)}\" fill=\"none\" stroke=\"{s.Color}\" stroke-width=\"2\"/>");
            foreach (var point in points)
            {
                var xy = point.Split(',');
                svg.Append(CultureInfo.InvariantCulture, $"<circle cx=\"{xy[0]}\" cy=\"{xy[1]}\" r=\"3\" fill=\"{s.Color}\"/>");
            }

            var (lx, ly) = (left + (index % 5 * 165), legendY + (index / 5 * 16));
            svg.Append(CultureInfo.InvariantCulture, $"<rect x=\"{lx}\" y=\"{ly}\" width=\"12\" height=\"12\" fill=\"{s.Color}\"/><text x=\"{lx + 16}\" y=\"{ly + 11}\">{s.Label}</text>");
        }

        svg.Append("</svg>");
        return svg.ToString();
    }
}
