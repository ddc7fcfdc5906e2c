using System.Text.Json;

namespace Parley.Bench.Tests;

/// <summary>A seconds-long run of every scenario, so the benchmark tool never rots. Counts are asserted; performance figures are not.</summary>
public sealed class BenchSmokeTests
{
    [Fact]
    public async Task Ingest_smoke_run_writes_results_and_a_plot_for_parley_and_the_baseline()
    {
        var results = await RunAsync("ingest");

        Assert.Equal(["baseline", "parley"], results.Select(r => r.GetProperty("target").GetString()));
        Assert.All(results, r => Assert.True(r.GetProperty("succeeded").GetInt64() > 0));
        Assert.All(results, r => Assert.Equal(0, r.GetProperty("failed").GetInt64()));
    }

    [Fact]
    public async Task History_smoke_run_reads_pages()
    {
        var result = Assert.Single(await RunAsync("history"));

        Assert.True(result.GetProperty("succeeded").GetInt64() > 0);
        Assert.Equal(0, result.GetProperty("failed").GetInt64());
    }

    [Fact]
    public async Task History_smoke_run_with_rich_pages_reads_both_kinds_in_each_step()
    {
        var results = await RunAsync("history", "--rich");

        Assert.Equal(["parley", "parley-rich"], results.Select(r => r.GetProperty("target").GetString()));
        Assert.All(results, r => Assert.True(r.GetProperty("succeeded").GetInt64() > 0));
        Assert.All(results, r => Assert.Equal(0, r.GetProperty("failed").GetInt64()));
        Assert.True(results[1].GetProperty("figures").GetProperty("p99VsPlain").GetDouble() > 0);
        // The plain pages carry none of the new fields, the rich ones mostly all of them.
        double Figure(int result, string name) => results[result].GetProperty("figures").GetProperty(name).GetDouble();
        Assert.Equal(50, Figure(0, "pageMessages"));
        Assert.Equal((0, 0, 0), (Figure(0, "pageWithReplyTo"), Figure(0, "pageWithReactions"), Figure(0, "pageWithMyReactions")));
        Assert.Equal(50, Figure(1, "pageMessages"));
        Assert.InRange(Figure(1, "pageWithReplyTo"), 30, 45);
        Assert.Equal(40, Figure(1, "pageWithReactions"));
        Assert.InRange(Figure(1, "pageWithMyReactions"), 20, 40);
    }

    [Fact]
    public async Task Reactions_smoke_run_ends_with_exactly_the_counts_the_acknowledged_requests_leave()
    {
        var result = Assert.Single(await RunAsync("reactions"));

        Assert.Equal("parley", result.GetProperty("target").GetString());
        Assert.Equal(0, result.GetProperty("failed").GetInt64());
        var figures = result.GetProperty("figures");
        Assert.Equal(0, figures.GetProperty("mismatches").GetDouble());
        Assert.Equal(result.GetProperty("succeeded").GetInt64(), figures.GetProperty("applied").GetDouble());
        Assert.Equal(1, figures.GetProperty("devicesCaughtUp").GetDouble());
        Assert.Equal(1, figures.GetProperty("storeCaughtUp").GetDouble());
        Assert.Equal(0, figures.GetProperty("watchersLost").GetDouble());
    }

    [Fact]
    public async Task E2e_smoke_run_times_every_device_for_both_protocols_and_the_group_fanout()
    {
        var results = await RunAsync("e2e");

        Assert.Equal(["e2e-json", "e2e-msgpack", "fanout-10"], results.Select(r => r.GetProperty("target").GetString()));
        // Every send reaches both members' two devices: nothing missing, and the counts add up.
        Assert.All(results, r => Assert.Equal(0, r.GetProperty("failed").GetInt64()));
        Assert.All(results, r => Assert.True(r.GetProperty("succeeded").GetInt64() > 0));
        Assert.Equal(results[0].GetProperty("succeeded").GetInt64(), results[1].GetProperty("succeeded").GetInt64());

        // The server ran in its own process and reported its side of every step.
        foreach (var result in results)
        {
            var figures = result.GetProperty("figures");
            double Figure(string name)
            {
                Assert.True(figures.TryGetProperty(name, out var value), $"{result.GetProperty("target")} has no figure {name}");
                return value.GetDouble();
            }

            var fanout = result.GetProperty("target").GetString()!.StartsWith("fanout", StringComparison.Ordinal);
            Assert.Equal(0, Figure("devicesLost"));
            if (fanout)
            {
                // The group's members were added in one request, and the first message then reached every device.
                Assert.True(Figure("addMembersMs") > 0);
                Assert.True(Figure("firstMessageAllDevicesMs") > 0);
            }

            // CPU time counts in 10 ms ticks: the fanout step's five messages may not reach one.
            Assert.True(fanout ? Figure("serverCpuSeconds") >= 0 : Figure("serverCpuSeconds") > 0);
            Assert.True(fanout ? Figure("serverCpuUsPerDelivery") >= 0 : Figure("serverCpuUsPerDelivery") > 0);
            Assert.True(Figure("serverRssMb") > 0);
            Assert.True(Figure("gcPauseMs") >= -1);

            // The stage breakdown covers the same messages the devices timed: every accepted send went through the
            // ingress and the pipeline once.
            var messages = fanout ? Figure("messages") : result.GetProperty("sent").GetInt64() / 2;
            Assert.Equal(messages, Figure("stage.ingress.count"));
            Assert.Equal(messages, Figure("stage.server.count"));
            foreach (var stage in new[] { "ingress", "persist", "fanout", "ack", "server" })
            {
                Assert.True(Figure($"stage.{stage}.count") > 0, stage);
                Assert.True(Figure($"stage.{stage}.p50Ms") > 0, stage);
                Assert.True(Figure($"stage.{stage}.p99Ms") >= Figure($"stage.{stage}.p50Ms"), stage);
            }
        }

        Assert.Equal(0, results[0].GetProperty("figures").GetProperty("sendFailures").GetDouble());
    }

    [Fact]
    public async Task Drain_smoke_run_stores_the_whole_backlog_and_measures_the_bulk_insert_baseline()
    {
        var results = await RunAsync("drain");

        Assert.Equal(["sqlite-insert-baseline", "parley"], results.Select(r => r.GetProperty("target").GetString()));
        Assert.All(results, r => Assert.Equal(500, r.GetProperty("succeeded").GetInt64()));
        Assert.All(results, r => Assert.Equal(0, r.GetProperty("failed").GetInt64()));
    }

    [Fact]
    public async Task Production_engine_smoke_run_adds_the_raw_xadd_and_copy_baselines()
    {
        var ingest = await RunAsync("ingest", "--engine", "production");
        Assert.Equal(["baseline", "parley", "xadd-baseline"], ingest.Select(r => r.GetProperty("target").GetString()));
        Assert.All(ingest, r => Assert.True(r.GetProperty("succeeded").GetInt64() > 0));

        var drain = await RunAsync("drain", "--engine", "production");
        Assert.Equal(["copy-baseline", "parley"], drain.Select(r => r.GetProperty("target").GetString()));
        Assert.All(drain, r => Assert.Equal(500, r.GetProperty("succeeded").GetInt64()));
    }

    [Fact]
    public async Task Connections_smoke_run_holds_every_connection_and_reports_server_memory_per_connection()
    {
        var result = Assert.Single(await RunAsync("connections"));

        Assert.Equal(50, result.GetProperty("succeeded").GetInt64());
        Assert.Equal(0, result.GetProperty("failed").GetInt64());
        var figures = result.GetProperty("figures");
        Assert.True(figures.GetProperty("serverRssAfterMb").GetDouble() > 0);
        Assert.True(figures.TryGetProperty("serverBytesPerConnection", out _));
    }

    [Fact]
    public async Task Slow_smoke_run_delivers_to_every_fast_device_with_and_without_slow_ones_and_reports_server_memory()
    {
        var results = await RunAsync("slow");

        Assert.Equal(["fast-devices-baseline-no-slow", "fast-devices-with-2-slow"], results.Select(r => r.GetProperty("target").GetString()));
        Assert.All(results, r => Assert.Equal(0, r.GetProperty("failed").GetInt64()));
        Assert.All(results, r => Assert.True(r.GetProperty("succeeded").GetInt64() > 0));
        Assert.All(results, r => Assert.True(r.GetProperty("figures").GetProperty("serverRssPeakMb").GetDouble() > 0));
        Assert.Equal(2, results[1].GetProperty("figures").GetProperty("slowDevices").GetDouble());
    }

    [Fact]
    public async Task Push_smoke_run_pushes_to_every_offline_member_and_delivers_live_with_the_gateway_answering_and_hanging()
    {
        var results = await RunAsync("push");

        Assert.Equal(["push-20-offline", "live-baseline-no-push", "live-with-pushes-provider-answering", "live-with-pushes-provider-hanging"], results.Select(r => r.GetProperty("target").GetString()));
        Assert.Equal(20, results[0].GetProperty("succeeded").GetInt64());
        Assert.All(results, r => Assert.Equal(0, r.GetProperty("failed").GetInt64()));
        Assert.True(results[3].GetProperty("figures").GetProperty("pushRequestsHanging").GetDouble() > 0, "the gateway held pushes during the last step");
    }

    private static async Task<List<JsonElement>> RunAsync(string scenario, params string[] extra)
    {
        var output = Directory.CreateTempSubdirectory("parley-bench-smoke-").FullName;
        var log = new StringWriter();
        try
        {
            var exit = await BenchProgram.RunAsync([scenario, "--smoke", "--out", output, .. extra], log);

            Assert.True(exit == 0, log.ToString());
            Assert.Contains("<svg", File.ReadAllText(Path.Combine(output, "results.svg")), StringComparison.Ordinal);
            Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, File.ReadAllBytes(Path.Combine(output, "results.png")).Take(4));
            return JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "results.json"))).RootElement.GetProperty("results").EnumerateArray().ToList();
        }
        finally
        {
            Directory.Delete(output, recursive: true);
        }
    }

    [Theory]
    [InlineData("--engine", "oracle")]
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
