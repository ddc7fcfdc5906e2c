using System.Text.Json;

namespace Parley.Bench.Tests;

/// <summary>A seconds-long run of every scenario, so the benchmark tool never rots. Figures are not asserted.</summary>
public sealed class BenchSmokeTests
{
    [Fact]
    public async Task Ingest_smoke_run_writes_results_and_a_plot_for_parley_and_the_baseline()
    {
        var output = Directory.CreateTempSubdirectory("parley-bench-smoke-").FullName;
        var log = new StringWriter();

        var exit = await BenchProgram.RunAsync(["ingest", "--smoke", "--out", output], log);

        Assert.True(exit == 0, log.ToString());
        var results = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "results.json"))).RootElement.GetProperty("results").EnumerateArray().ToList();
        Assert.Equal(["baseline", "parley"], results.Select(r => r.GetProperty("target").GetString()));
        Assert.All(results, r => Assert.True(r.GetProperty("succeeded").GetInt64() > 0, log.ToString()));
        Assert.All(results, r => Assert.Equal(0, r.GetProperty("failed").GetInt64()));
        Assert.StartsWith("<svg", File.ReadAllText(Path.Combine(output, "results.svg")), StringComparison.Ordinal);
        Directory.Delete(output, recursive: true);
    }

    [Fact]
    public async Task History_smoke_run_reads_pages()
    {
        var output = Directory.CreateTempSubdirectory("parley-bench-smoke-").FullName;
        var log = new StringWriter();

        var exit = await BenchProgram.RunAsync(["history", "--smoke", "--out", output], log);

        Assert.True(exit == 0, log.ToString());
        var result = Assert.Single(JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "results.json"))).RootElement.GetProperty("results").EnumerateArray());
        Assert.True(result.GetProperty("succeeded").GetInt64() > 0, log.ToString());
        Assert.Equal(0, result.GetProperty("failed").GetInt64());
        Directory.Delete(output, recursive: true);
    }

    [Theory]
    [InlineData("--rates", "0")]
    [InlineData("--bogus")]
    [InlineData("nosuchscenario")]
    public async Task Bad_arguments_print_the_help_and_exit_2(params string[] args)
    {
        var log = new StringWriter();
        Assert.Equal(2, await BenchProgram.RunAsync(args, log));
        Assert.Contains("Usage:", log.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Help_exits_0()
    {
        var log = new StringWriter();
        Assert.Equal(0, await BenchProgram.RunAsync(["--help"], log));
        Assert.Contains("ingest", log.ToString(), StringComparison.Ordinal);
    }
}
