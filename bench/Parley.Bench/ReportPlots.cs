using System.Globalization;
using System.Text.RegularExpressions;
using ScottPlot;
using ScottPlot.TickGenerators;
using SkiaSharp;

namespace Parley.Bench;

/// <summary>
/// The pictures of a run, drawn with ScottPlot: throughput and p50/p99 latency against offered rate (or bars per
/// target when a scenario's steps are not rates), and where the time goes per stage when a scenario reports stages.
/// </summary>
internal static partial class ReportPlots
{
    /// <summary>
    /// What a scenario's numbers are, for axis labels. StepIsRate is false where RequestedRate is not an offered rate;
    /// SameUnit is false where one send is counted as several deliveries, so the offered rate is no ceiling to draw.
    /// </summary>
    private sealed record Units(string Offered, string Achieved, string Latency, bool StepIsRate, bool SameUnit);

    private static readonly Dictionary<string, Units> ScenarioUnits = new()
    {
        ["ingest"] = new("offered rate (messages/s)", "accepted (messages/s)", "ack latency (ms, log scale)", true, true),
        ["e2e"] = new("offered rate (messages sent/s)", "delivered (deliveries/s)", "send to arrival (ms, log scale)", true, false),
        ["history"] = new("offered rate (page requests/s)", "served (pages/s)", "response time (ms, log scale)", true, true),
        ["slow"] = new("offered rate (messages sent/s)", "delivered to fast devices (deliveries/s)", "send to arrival (ms, log scale)", true, false),
        ["drain"] = new("", "stored (messages or rows/s)", "latency (ms)", false, false),
        ["connections"] = new("", "opened (connections/s)", "connect latency (ms)", false, false),
    };

    private static readonly Units DefaultUnits = new("offered rate (/s)", "achieved (/s)", "latency (ms, log scale)", true, false);

    /// <summary>The same category colours everywhere: target i (in order of first appearance) is colour i.</summary>
    private static readonly ScottPlot.Palettes.Category10 Palette = new();

    /// <summary>Marker per target: Parley's a circle, each baseline its own shape; filled for p99 and throughput, open for p50.</summary>
    private static readonly (MarkerShape Filled, MarkerShape Open)[] BaselineMarkers =
    [
        (MarkerShape.FilledSquare, MarkerShape.OpenSquare), (MarkerShape.FilledTriangleUp, MarkerShape.OpenTriangleUp),
        (MarkerShape.FilledDiamond, MarkerShape.OpenDiamond), (MarkerShape.FilledTriangleDown, MarkerShape.OpenTriangleDown),
    ];

    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    [GeneratedRegex(@"^stage\.(?<name>.+)\.(?<pct>p50Ms|p99Ms)$", RegexOptions.CultureInvariant)]
    private static partial Regex StageKey();

    /// <summary>The overview picture: rate panels when the scenario stepped through at least two offered rates, bars otherwise.</summary>
    public static Figure Overview(string scenario, string engine, IReadOnlyList<StepResult> results)
    {
        var units = ScenarioUnits.GetValueOrDefault(scenario, DefaultUnits);
        var targets = Targets(results);
        var rates = results.Where(r => r.RequestedRate > 0).Select(r => r.RequestedRate).Distinct().Count();
        return units.StepIsRate && rates >= 2
            ? RateFigure(scenario, engine, results, targets, units)
            : BarFigure(scenario, engine, results, targets, units);
    }

    /// <summary>
    /// Two panels against offered rate: achieved throughput (with the offered rate itself as a pale reference band), and
    /// p50 (dashed) / p99 (solid) latency on a log scale. A closed-loop baseline (RequestedRate 0: it sends as fast as
    /// it can, so it has no offered rate) is a horizontal line at its figure instead of a point at "0/s".
    /// </summary>
    private static Figure RateFigure(string scenario, string engine, IReadOnlyList<StepResult> results, List<string> targets, Units units)
    {
        var openLoop = results.Where(r => r.RequestedRate > 0).ToList();
        var closedLoop = results.Where(r => r.RequestedRate <= 0).ToList();
        var rates = openLoop.Select(r => (double)r.RequestedRate).Distinct().Order().ToArray();
        var (xMin, xMax) = (rates[0], rates[^1]);
        var xPad = (xMax - xMin) * 0.05;

        var throughput = NewPlot($"{scenario} ({engine}): throughput", units.Offered, units.Achieved);
        var yMax = openLoop.Max(r => r.AchievedPerSecond);
        if (units.SameUnit)
        {
            // A wide pale band under the targets' lines: a target that keeps up runs along it and still shows.
            var reference = throughput.Add.Scatter(new[] { xMin, xMax }, new[] { xMin, xMax }, Colors.Gray.WithAlpha(0.35));
            reference.LineWidth = 5;
            reference.MarkerSize = 0;
            reference.LegendText = "offered (all accepted)";
            yMax = Math.Max(yMax, xMax);
        }

        foreach (var target in targets)
        {
            var steps = openLoop.Where(r => r.Target == target).OrderBy(r => r.RequestedRate).ToList();
            if (steps.Count > 0)
            {
                var line = throughput.Add.Scatter(steps.Select(r => (double)r.RequestedRate).ToArray(), steps.Select(r => r.AchievedPerSecond).ToArray(), ColorOf(targets, target));
                Style(line, targets, target, p50: false);
                line.LegendText = target;
            }
        }

        foreach (var step in closedLoop)
        {
            // A ceiling far above the open-loop figures would flatten them into the floor: it stays in the legend with its value.
            var onScale = step.AchievedPerSecond <= 3 * yMax;
            var ceiling = throughput.Add.HorizontalLine(step.AchievedPerSecond, 2, ColorOf(targets, step.Target), LinePattern.DenselyDashed);
            ceiling.LegendText = $"{step.Target}, closed loop: {step.AchievedPerSecond.ToString("#,0", Invariant)}/s{(onScale ? "" : " (above this axis)")}";
            if (onScale)
            {
                yMax = Math.Max(yMax, step.AchievedPerSecond);
            }
        }

        throughput.Axes.SetLimits(xMin - xPad, xMax + xPad, 0, yMax * 1.08);
        throughput.Axes.Bottom.TickGenerator = RateTicks(rates);
        throughput.Axes.Left.TickGenerator = new NumericAutomatic { LabelFormatter = v => v.ToString("#,0", Invariant) };

        var latency = NewPlot($"{scenario} ({engine}): latency, p50 dashed, p99 solid", units.Offered, units.Latency);
        var shown = new List<double>();
        foreach (var target in targets)
        {
            var steps = openLoop.Where(r => r.Target == target).OrderBy(r => r.RequestedRate).ToList();
            foreach (var (name, pick) in new (string, Func<StepResult, double>)[] { ("p99", r => r.P99Ms), ("p50", r => r.P50Ms) })
            {
                var points = steps.Where(r => pick(r) > 0).ToList();
                if (points.Count == 0)
                {
                    continue;
                }

                var line = latency.Add.Scatter(points.Select(r => (double)r.RequestedRate).ToArray(), points.Select(r => Math.Log10(pick(r))).ToArray(), ColorOf(targets, target));
                Style(line, targets, target, p50: name == "p50");
                line.LegendText = $"{target} {name}";
                shown.AddRange(points.Select(pick));
            }
        }

        foreach (var step in closedLoop)
        {
            foreach (var (name, value, pattern) in new[] { ("p99", step.P99Ms, LinePattern.Solid), ("p50", step.P50Ms, LinePattern.Dashed) })
            {
                if (value > 0)
                {
                    var line = latency.Add.HorizontalLine(Math.Log10(value), 1.5f, ColorOf(targets, step.Target), pattern);
                    line.LegendText = $"{step.Target} {name}, closed loop: {Ms(value)} ms";
                    shown.Add(value);
                }
            }
        }

        latency.Axes.Bottom.TickGenerator = RateTicks(rates);
        if (shown.Count > 0)
        {
            var (bottom, top, ticks) = LogMsAxis(shown.Min(), shown.Max());
            latency.Axes.SetLimits(xMin - xPad, xMax + xPad, bottom, top);
            latency.Axes.Left.TickGenerator = ticks;
        }

        return new Figure(1400, 620, [throughput, latency], Columns: 2);
    }

    /// <summary>
    /// One bar per step (target, and its rate where steps are rates): achieved per second, and p50 (pale) beside p99
    /// (full colour). For scenarios whose single step is a size, not a rate (drain, connections), or a single-rate run.
    /// </summary>
    private static Figure BarFigure(string scenario, string engine, IReadOnlyList<StepResult> results, List<string> targets, Units units)
    {
        var labels = results.Select(r => StepLabel(r, units)).ToArray();
        var categories = Categories(labels);

        var throughput = NewPlot($"{scenario} ({engine}): throughput", "", units.Achieved);
        foreach (var target in targets)
        {
            var bars = results.Index().Where(p => p.Item.Target == target).Select(p => new Bar
            {
                Position = p.Index,
                Value = p.Item.AchievedPerSecond,
                FillColor = ColorOf(targets, target),
                Label = p.Item.AchievedPerSecond.ToString("#,0", Invariant),
            }).ToList();
            var plot = throughput.Add.Bars(bars);
            plot.LegendText = target;
        }

        throughput.Axes.Bottom.TickGenerator = categories;
        throughput.Axes.Left.TickGenerator = new NumericAutomatic { LabelFormatter = v => v.ToString("#,0", Invariant) };
        throughput.Axes.SetLimits(-0.6, results.Count - 0.4, 0, Math.Max(1, results.Select(r => r.AchievedPerSecond).DefaultIfEmpty().Max()) * 1.15);

        // Drain has no per-message latency (its histogram is empty): a latency panel of zeros would only mislead.
        if (results.All(r => r.P99Ms <= 0))
        {
            return new Figure(900, 560, [throughput], Columns: 1);
        }

        var latency = NewPlot($"{scenario} ({engine}): latency", "", units.Latency.Replace(", log scale", "", StringComparison.Ordinal));
        foreach (var (name, pick, alpha, offset) in new (string, Func<StepResult, double>, double, double)[] { ("p50", r => r.P50Ms, 0.45, -0.2), ("p99", r => r.P99Ms, 1.0, 0.2) })
        {
            var bars = results.Index().Select(p => new Bar
            {
                Position = p.Index + offset,
                Value = pick(p.Item),
                Size = 0.38,
                FillColor = ColorOf(targets, p.Item.Target).WithAlpha(alpha),
                Label = Ms(pick(p.Item)),
            }).ToList();
            latency.Add.Bars(bars);
            latency.Legend.ManualItems.Add(new LegendItem { LabelText = alpha < 1 ? $"{name} (pale bar)" : $"{name} (full colour)", FillColor = Colors.Gray.WithAlpha(alpha) });
        }

        latency.Axes.Bottom.TickGenerator = categories;
        latency.Axes.SetLimits(-0.6, results.Count - 0.4, 0, Math.Max(0.001, results.Max(r => r.P99Ms)) * 1.15);
        return new Figure(1400, 560, [throughput, latency], Columns: 2);
    }

    /// <summary>
    /// Where the time goes: grouped bars per step (target @ rate), one bar per stage in the order the scenario reported
    /// them (path order), p50 above and p99 below. Null when no step reported a stage.
    /// </summary>
    public static Figure? Stages(string scenario, string engine, IReadOnlyList<StepResult> results)
    {
        var stages = new List<string>();
        foreach (var key in results.SelectMany(r => r.Figures?.Keys ?? Enumerable.Empty<string>()))
        {
            if (StageKey().Match(key) is { Success: true } match && !stages.Contains(match.Groups["name"].Value))
            {
                stages.Add(match.Groups["name"].Value);
            }
        }

        if (stages.Count == 0)
        {
            return null;
        }

        var units = ScenarioUnits.GetValueOrDefault(scenario, DefaultUnits);
        var steps = results.Where(r => r.Figures?.Keys.Any(k => StageKey().IsMatch(k)) == true).ToList();
        var categories = Categories(steps.Select(r => StepLabel(r, units)).ToArray());
        var width = 0.8 / stages.Count;
        var panels = new List<Plot>();
        foreach (var (pct, title) in new[] { ("p50Ms", "p50"), ("p99Ms", "p99") })
        {
            var plot = NewPlot($"{scenario} ({engine}): {title} per stage", "", $"{title} per stage (ms)", Edge.Right);
            var max = 0.0;
            foreach (var (s, stage) in stages.Index())
            {
                var bars = new List<Bar>();
                foreach (var (i, step) in steps.Index())
                {
                    if (step.Figures!.TryGetValue($"stage.{stage}.{pct}", out var value))
                    {
                        bars.Add(new Bar
                        {
                            Position = i + ((s - ((stages.Count - 1) / 2.0)) * width),
                            Value = value,
                            Size = width * 0.92,
                            FillColor = Palette.GetColor(s),
                            Label = steps.Count * stages.Count <= 40 ? Ms(value) : "",
                        });
                        max = Math.Max(max, value);
                    }
                }

                var series = plot.Add.Bars(bars);
                series.LegendText = stage;
                series.Color = Palette.GetColor(s);
            }

            plot.Axes.Bottom.TickGenerator = categories;
            plot.Axes.SetLimits(-0.6, steps.Count - 0.4, 0, Math.Max(0.001, max) * 1.15);
            panels.Add(plot);
        }

        return new Figure(Math.Max(1200, 160 * steps.Count), 1000, panels, Columns: 1);
    }

    private static Plot NewPlot(string title, string xLabel, string yLabel, Edge legend = Edge.Bottom)
    {
        var plot = new Plot();
        if (FontFamily.Value is { } family)
        {
            plot.Font.Set(family);
        }

        plot.Title(title, 15);
        plot.XLabel(xLabel, 13);
        plot.YLabel(yLabel, 13);
        plot.ShowLegend(legend);
        return plot;
    }

    /// <summary>
    /// A named font file where one is known, so a Linux machine draws text the same way whatever else is installed
    /// (scripts/test.sh installs fonts-dejavu-core); elsewhere ScottPlot's own default.
    /// </summary>
    private static readonly Lazy<string?> FontFamily = new(() =>
    {
        (string Family, string Regular, string Bold)[] candidates =
        [
            ("DejaVu Sans", "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"),
            ("Liberation Sans", "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf", "/usr/share/fonts/truetype/liberation/LiberationSans-Bold.ttf"),
        ];
        var (family, regular, bold) = candidates.FirstOrDefault(c => File.Exists(c.Regular));
        if (family is null)
        {
            return null;
        }

        Fonts.AddFontFile(family, regular, bold: false, italic: false);
        Fonts.AddFontFile(family, File.Exists(bold) ? bold : regular, bold: true, italic: false);
        return family;
    });

    /// <summary>p50 dashed, thinner and with open markers, so it stays apart from p99 even where dashes are lost.</summary>
    private static void Style(ScottPlot.Plottables.Scatter line, List<string> targets, string target, bool p50)
    {
        var (filled, open) = Report.IsBaseline(target)
            ? BaselineMarkers[targets.Where(Report.IsBaseline).ToList().IndexOf(target) % BaselineMarkers.Length]
            : (MarkerShape.FilledCircle, MarkerShape.OpenCircle);
        line.LinePattern = p50 ? LinePattern.Dashed : LinePattern.Solid;
        line.LineWidth = p50 ? 1.5f : 2.5f;
        line.MarkerSize = 9;
        line.MarkerShape = p50 ? open : filled;
    }

    private static List<string> Targets(IReadOnlyList<StepResult> results) => results.Select(r => r.Target).Distinct().ToList();

    private static Color ColorOf(List<string> targets, string target) => Palette.GetColor(Math.Max(0, targets.IndexOf(target)));

    private static string StepLabel(StepResult step, Units units) => !units.StepIsRate
        ? step.Target
        : step.RequestedRate > 0
            ? $"{step.Target}\n@ {step.RequestedRate.ToString("#,0", Invariant)}/s"
            : $"{step.Target}\nclosed loop";

    private static NumericManual Categories(string[] labels)
    {
        var ticks = new NumericManual();
        foreach (var (i, label) in labels.Index())
        {
            ticks.AddMajor(i, label);
        }

        return ticks;
    }

    private static NumericManual RateTicks(double[] rates)
    {
        var ticks = new NumericManual();
        foreach (var rate in rates)
        {
            ticks.AddMajor(rate, rate.ToString("#,0", Invariant));
        }

        return ticks;
    }

    /// <summary>
    /// Limits (in log10 ms) and ticks for a log latency axis: labelled at 1, 2 and 5 × 10^k (at 10^k alone beyond four
    /// decades), unlabelled minor ticks between, and at least 0.6 decades tall so there are always labels to read.
    /// </summary>
    private static (double Bottom, double Top, NumericManual Ticks) LogMsAxis(double min, double max)
    {
        var (bottom, top) = (Math.Log10(min) - 0.12, Math.Log10(max) + 0.12);
        if (top - bottom < 0.6)
        {
            var middle = (top + bottom) / 2;
            (bottom, top) = (middle - 0.3, middle + 0.3);
        }

        var ticks = new NumericManual();
        var sparse = top - bottom > 4;
        for (var decade = (int)Math.Floor(bottom); decade <= (int)Math.Ceiling(top); decade++)
        {
            for (var m = 1; m <= 9; m++)
            {
                var value = m * Math.Pow(10, decade);
                var position = Math.Log10(value);
                if (position < bottom || position > top)
                {
                    continue;
                }

                if (m == 1 || (!sparse && m is 2 or 5))
                {
                    ticks.AddMajor(position, Ms(value));
                }
                else
                {
                    ticks.AddMinor(position);
                }
            }
        }

        return (bottom, top, ticks);
    }

    private static string Ms(double value) => value switch
    {
        >= 100 => value.ToString("#,0", Invariant),
        >= 10 => value.ToString("0.#", Invariant),
        >= 1 => value.ToString("0.##", Invariant),
        _ => value.ToString("0.###", Invariant),
    };

    /// <summary>Panels laid out in a grid on one canvas, saved as PNG and as SVG from the same drawing.</summary>
    internal sealed record Figure(int Width, int Height, IReadOnlyList<Plot> Panels, int Columns)
    {
        public void Save(string png, string svg)
        {
            using (var surface = SKSurface.Create(new SKImageInfo(Width, Height)))
            {
                Render(surface.Canvas);
                using var image = surface.Snapshot();
                using var data = image.Encode(SKEncodedImageFormat.Png, 100);
                File.WriteAllBytes(png, data.ToArray());
            }

            // Skia's SVG canvas cannot draw a dash pattern (it draws the line solid and complains on stderr). So each
            // patterned line is drawn solid in a colour of its own, one step off its real one, and that stroke gets
            // the dash array in the file.
            var dashes = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            foreach (var style in Panels.SelectMany(p => p.GetPlottables()).Select(LineStyleOf).OfType<LineStyle>().Where(l => l.Pattern.Name != LinePattern.Solid.Name))
            {
                var tag = style.Color;
                while (dashes.ContainsKey(Hex(tag)) || tag.ToHex() == style.Color.ToHex())
                {
                    tag = new Color(tag.R, tag.G, (byte)((tag.B + 1) % 256), tag.A);
                }

                dashes[Hex(tag)] = style.Pattern.Name == LinePattern.Dotted.Name ? "2 4" : "8 5";
                (style.Color, style.Pattern) = (tag, LinePattern.Solid);
            }

            using (var stream = new MemoryStream())
            {
                // The SVG canvas writes its closing tag when disposed, before the stream is read.
                using (var canvas = SKSvgCanvas.Create(SKRect.Create(Width, Height), stream))
                {
                    Render(canvas);
                }

                var text = System.Text.Encoding.UTF8.GetString(stream.ToArray());
                foreach (var (color, dash) in dashes)
                {
                    text = text.Replace($"stroke=\"{color}\"", $"stroke=\"{color}\" stroke-dasharray=\"{dash}\"", StringComparison.OrdinalIgnoreCase);
                }

                File.WriteAllText(svg, text);
            }
        }

        private static LineStyle? LineStyleOf(IPlottable plottable) => plottable switch
        {
            ScottPlot.Plottables.Scatter scatter => scatter.LineStyle,
            ScottPlot.Plottables.AxisLine line => line.LineStyle,
            _ => null,
        };

        private static string Hex(Color color) => $"#{color.R:x2}{color.G:x2}{color.B:x2}";

        private void Render(SKCanvas canvas)
        {
            canvas.Clear(SKColors.White);
            var rows = (Panels.Count + Columns - 1) / Columns;
            var (cellWidth, cellHeight) = (Width / (float)Columns, Height / (float)rows);
            foreach (var (i, panel) in Panels.Index())
            {
                var (row, column) = (i / Columns, i % Columns);
                panel.RenderManager.ClearCanvasBeforeEachRender = false;
                panel.Render(canvas, new PixelRect(column * cellWidth, (column + 1) * cellWidth, (row + 1) * cellHeight, row * cellHeight));
            }
        }
    }
}
