using System.Diagnostics.Metrics;
using System.Text.RegularExpressions;
using Parley.Testing;

namespace Parley.Server.Tests.Infrastructure;

/// <summary>Reads the metric tables of docs/metrics.md, so tests check the published document, not a copy of it.</summary>
public static partial class MetricsDoc
{
    /// <summary>Each documented metric (its Prometheus name) and the series that shows it in /metrics.</summary>
    public static Dictionary<string, string> Series()
    {
        var text = File.ReadAllText(RepositoryFiles.Path("docs", "metrics.md"));
        var start = text.IndexOf("# Metrics", StringComparison.Ordinal);
        var end = text.IndexOf("\n# ", start + 1, StringComparison.Ordinal);
        var section = text[start..(end < 0 ? text.Length : end)];
        var series = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (Match row in Row().Matches(section))
        {
            var (name, type) = (row.Groups["name"].Value, row.Groups["type"].Value.Trim());
            Assert.True(!type.StartsWith("counter", StringComparison.Ordinal) || name.EndsWith("_total", StringComparison.Ordinal), $"docs/metrics.md: counter {name} must be listed under its exported name, ending in _total");
            Assert.True(series.TryAdd(name, type.StartsWith("histogram", StringComparison.Ordinal) ? name + "_bucket" : name), $"docs/metrics.md lists {name} twice");
        }

        return series;
    }

    /// <summary>The name the Prometheus exporter gives an instrument (counters gain _total).</summary>
    public static string ExportedName(Instrument instrument) =>
        instrument.GetType().Name.StartsWith("Counter", StringComparison.Ordinal) || instrument.GetType().Name.StartsWith("ObservableCounter", StringComparison.Ordinal)
            ? instrument.Name + "_total"
            : instrument.Name;

    [GeneratedRegex(@"^\|\s*`(?<name>[a-z][a-z0-9_]*)`\s*\|\s*(?<type>[^|]+)\|", RegexOptions.Multiline)]
    private static partial Regex Row();
}
