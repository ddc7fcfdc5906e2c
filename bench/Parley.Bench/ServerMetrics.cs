using System.Globalization;

namespace Parley.Bench;

/// <summary>
/// One scrape of a server's Prometheus text exposition (<c>GET /metrics</c>), parsed into samples. The bench reads
/// its stage histograms (as deltas between two scrapes, with quantiles estimated the way Prometheus'
/// <c>histogram_quantile</c> does) and a counter or two; it needs no Prometheus server.
/// </summary>
public sealed class ServerMetrics
{
    private readonly List<Sample> _samples;

    private ServerMetrics(List<Sample> samples) => _samples = samples;

    public sealed record Sample(string Name, IReadOnlyDictionary<string, string> Labels, double Value);

    public IReadOnlyList<Sample> Samples => _samples;

    public static async Task<ServerMetrics> ScrapeAsync(HttpClient http, string url) =>
        Parse(await http.GetStringAsync(new Uri($"{url}/metrics")));

    /// <summary>Parses the text format (version 0.0.4, and the OpenMetrics lines it shares); comments and unparsable lines are skipped.</summary>
    public static ServerMetrics Parse(string text)
    {
        var samples = new List<Sample>();
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.TrimEnd('\r').Trim();
            if (line.Length == 0 || line[0] == '#')
            {
                continue;
            }

            if (TryParseLine(line) is { } sample)
            {
                samples.Add(sample);
            }
        }

        return new ServerMetrics(samples);
    }

    /// <summary>
    /// The sum of every sample whose name starts with <paramref name="prefix"/> (all label sets, any unit suffix the
    /// exporter added), or null when there is none.
    /// </summary>
    public double? SumByPrefix(string prefix)
    {
        var matching = _samples.Where(s => s.Name.StartsWith(prefix, StringComparison.Ordinal) && !s.Name.EndsWith("_created", StringComparison.Ordinal)).ToList();
        return matching.Count == 0 ? null : matching.Sum(s => s.Value);
    }

    /// <summary>The runtime's GC pause time (the System.Runtime meter's dotnet.gc.pause.time), in ms; null when not exported.</summary>
    public double? GcPauseMs()
    {
        var samples = _samples.Where(s => s.Name.StartsWith("dotnet_gc_pause_time", StringComparison.Ordinal) && !s.Name.EndsWith("_created", StringComparison.Ordinal)).ToList();
        return samples.Count == 0 ? null : samples.Sum(s => s.Value * (s.Name.Contains("_seconds", StringComparison.Ordinal) ? 1000 : 1));
    }

    /// <summary>
    /// The histogram of instrument <paramref name="name"/> (its <c>_bucket</c> series, also when the exporter appended a
    /// unit suffix), bucket counts summed over the label sets that carry every label of <paramref name="filter"/>;
    /// null when the server exports no such histogram.
    /// </summary>
    public HistogramSnapshot? Histogram(string name, params (string Label, string Value)[] filter)
    {
        var buckets = new SortedDictionary<double, double>();
        var found = false;
        foreach (var sample in _samples)
        {
            if (!sample.Name.EndsWith("_bucket", StringComparison.Ordinal))
            {
                continue;
            }

            var family = sample.Name[..^"_bucket".Length];
            if (family != name && !family.StartsWith(name + "_", StringComparison.Ordinal))
            {
                continue;
            }

            found = true;
            if (!sample.Labels.TryGetValue("le", out var le) || !filter.All(f => sample.Labels.TryGetValue(f.Label, out var v) && v == f.Value))
            {
                continue;
            }

            var bound = ParseValue(le);
            buckets[bound] = buckets.GetValueOrDefault(bound) + sample.Value;
        }

        return found ? new HistogramSnapshot([.. buckets.Select(b => (b.Key, b.Value))]) : null;
    }

    private static Sample? TryParseLine(string line)
    {
        var nameEnd = line.IndexOfAny(['{', ' ', '\t']);
        if (nameEnd <= 0)
        {
            return null;
        }

        var name = line[..nameEnd];
        var labels = new Dictionary<string, string>(StringComparer.Ordinal);
        var i = nameEnd;
        if (line[i] == '{')
        {
            i++;
            while (i < line.Length && line[i] != '}')
            {
                var eq = line.IndexOf('=', i);
                if (eq < 0 || eq + 1 >= line.Length || line[eq + 1] != '"')
                {
                    return null;
                }

                var key = line[i..eq].Trim().TrimStart(',').Trim();
                var value = new System.Text.StringBuilder();
                var j = eq + 2;
                for (; j < line.Length && line[j] != '"'; j++)
                {
                    if (line[j] == '\\' && j + 1 < line.Length)
                    {
                        j++;
                        value.Append(line[j] == 'n' ? '\n' : line[j]);
                    }
                    else
                    {
                        value.Append(line[j]);
                    }
                }

                if (j >= line.Length)
                {
                    return null;
                }

                labels[key] = value.ToString();
                i = j + 1;
                while (i < line.Length && (line[i] == ',' || line[i] == ' '))
                {
                    i++;
                }
            }

            if (i >= line.Length)
            {
                return null;
            }

            i++;
        }

        // The value, then an optional timestamp.
        var rest = line[i..].Trim().Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
        if (rest.Length == 0)
        {
            return null;
        }

        try
        {
            return new Sample(name, labels, ParseValue(rest[0]));
        }
        catch (FormatException)
        {
            return null;
        }
    }

    private static double ParseValue(string text) => text switch
    {
        "+Inf" or "Inf" => double.PositiveInfinity,
        "-Inf" => double.NegativeInfinity,
        "NaN" => double.NaN,
        _ => double.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture),
    };

    /// <summary>Cumulative bucket counts by upper bound (ascending, +Inf last when the exporter sent it).</summary>
    public sealed record HistogramSnapshot(IReadOnlyList<(double UpperBound, double Count)> Buckets)
    {
        /// <summary>Observations in total: the +Inf bucket (the largest bucket when there is none).</summary>
        public double Count => Buckets.Count == 0 ? 0 : Buckets[^1].Count;

        /// <summary>What was observed since <paramref name="earlier"/> (null: since the start); buckets it lacks count as 0.</summary>
        public HistogramSnapshot Since(HistogramSnapshot? earlier)
        {
            if (earlier is null)
            {
                return this;
            }

            var before = earlier.Buckets.ToDictionary(b => b.UpperBound, b => b.Count);
            return new HistogramSnapshot([.. Buckets.Select(b => (b.UpperBound, Math.Max(0, b.Count - before.GetValueOrDefault(b.UpperBound))))]);
        }

        /// <summary>
        /// The <paramref name="q"/> quantile as Prometheus' <c>histogram_quantile</c> estimates it: linear interpolation
        /// inside the bucket the rank falls in (from 0 for the first bucket); a rank in the +Inf bucket gives the
        /// largest finite bound. NaN when nothing was observed.
        /// </summary>
        public double Quantile(double q)
        {
            var total = Count;
            if (Buckets.Count == 0 || total <= 0)
            {
                return double.NaN;
            }

            var rank = q * total;
            for (var b = 0; b < Buckets.Count; b++)
            {
                var (upper, cumulative) = Buckets[b];
                if (cumulative < rank)
                {
                    continue;
                }

                if (double.IsPositiveInfinity(upper))
                {
                    return b == 0 ? double.NaN : Buckets[b - 1].UpperBound;
                }

                var (lower, below) = b == 0 ? (Math.Min(0, upper), 0.0) : Buckets[b - 1];
                var inBucket = cumulative - below;
                return inBucket <= 0 ? upper : lower + ((upper - lower) * (rank - below) / inBucket);
            }

            return Buckets[^1].UpperBound;
        }
    }
}
