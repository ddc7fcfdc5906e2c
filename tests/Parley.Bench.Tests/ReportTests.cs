namespace Parley.Bench.Tests;

/// <summary>The pictures a run writes, drawn from hand-made steps: no benchmark runs here.</summary>
public sealed class ReportTests
{
    private static readonly byte[] PngSignature = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];

    [Fact]
    public void Write_draws_rates_baselines_and_the_stage_breakdown_as_png_and_svg()
    {
        string[] stages = ["ingress", "queue", "persist", "fanout", "ack", "outbound", "server"];
        StepResult Step(string target, int rate, double achieved, double p50, double p99, bool withStages = false) =>
            new(target, rate, 3, rate * 3, (long)(achieved * 3), 0, achieved, p50, p50 * 1.5, p99, p99 * 1.2, p99 * 1.5,
                withStages
                    ? stages.Index().SelectMany(s => new[]
                    {
                        KeyValuePair.Create($"stage.{s.Item}.p50Ms", 0.2 * (s.Index + 1)),
                        KeyValuePair.Create($"stage.{s.Item}.p99Ms", 1.1 * (s.Index + 1)),
                    }).ToDictionary()
                    : null);
        List<StepResult> results =
        [
            Step("baseline", 500, 500, 0.4, 1.2), Step("parley", 500, 499, 1.5, 12, withStages: true),
            Step("baseline", 1000, 1000, 0.5, 2.1), Step("parley", 1000, 998, 2.5, 40, withStages: true),
            Step("baseline", 2000, 1999, 0.6, 3.3), Step("parley", 2000, 1700, 80, 450, withStages: true),
            Step("xadd-baseline", 0, 2600, 0.3, 0.9),
        ];
        var directory = Directory.CreateTempSubdirectory("parley-report-").FullName;
        try
        {
            var files = Report.Write(directory, "ingest", "embedded", results);

            Assert.True(File.Exists(files.Json));
            foreach (var (png, svg) in new[] { (files.Png, files.Svg), (files.StagesPng!, files.StagesSvg!) })
            {
                var bytes = File.ReadAllBytes(png);
                Assert.Equal(PngSignature, bytes.Take(8));
                Assert.True(bytes.Length > 20_000, $"{png} is only {bytes.Length} bytes");
                Assert.Contains("<svg", File.ReadAllText(svg), StringComparison.Ordinal);
            }

            var overview = File.ReadAllText(files.Svg);
            Assert.Contains("offered rate (messages/s)", overview, StringComparison.Ordinal);
            Assert.Contains("accepted (messages/s)", overview, StringComparison.Ordinal);
            Assert.Contains("ack latency (ms, log scale)", overview, StringComparison.Ordinal);
            Assert.All(["baseline", "parley", "xadd-baseline"], target => Assert.Contains(target, overview, StringComparison.Ordinal));

            var breakdown = File.ReadAllText(files.StagesSvg!);
            Assert.Contains("p99 per stage (ms)", breakdown, StringComparison.Ordinal);
            Assert.All(stages, stage => Assert.Contains(stage, breakdown, StringComparison.Ordinal));
            // Stages keep the order they were reported in (path order): the legend lists ingress before server.
            Assert.True(breakdown.IndexOf("ingress", StringComparison.Ordinal) < breakdown.IndexOf("server", StringComparison.Ordinal));
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public void A_scenario_of_single_steps_gets_bars_and_no_stage_chart()
    {
        List<StepResult> results =
        [
            new("sqlite-insert-baseline", 0, 0.4, 500, 500, 0, 1250, 0, 0, 0, 0, 0),
            new("parley", 0, 1.1, 500, 500, 0, 450, 0, 0, 0, 0, 0),
        ];
        var directory = Directory.CreateTempSubdirectory("parley-report-").FullName;
        try
        {
            var files = Report.Write(directory, "drain", "embedded", results);

            Assert.Equal(PngSignature, File.ReadAllBytes(files.Png).Take(8));
            var svg = File.ReadAllText(files.Svg);
            Assert.Contains("stored (messages or rows/s)", svg, StringComparison.Ordinal);
            Assert.Contains("sqlite-insert-baseline", svg, StringComparison.Ordinal);
            Assert.Null(files.StagesPng);
            Assert.False(File.Exists(Path.Combine(directory, "results-stages.png")));
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}
