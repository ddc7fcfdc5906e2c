using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Text.Json;
using System.Text.RegularExpressions;
using Parley.Server.Hosting;
using Parley.Server.Observability;
using Parley.Server.Tests.Infrastructure;
using Parley.Testing;

namespace Parley.Server.Tests;

/// <summary>O5: the shipped alert rules and dashboard only use metrics Parley really exports, and promtool accepts the rules.</summary>
public sealed partial class DeployArtifactsTests
{
    private static readonly string Root = RepositoryFiles.Root;

    [Fact]
    public async Task Every_metric_in_the_alert_rules_and_the_dashboard_is_exported()
    {
        var exported = await ExportedNamesAsync();
        var rules = File.ReadAllText(Path.Combine(Root, "deploy/prometheus/parley-alerts.yml"));
        var dashboard = JsonDocument.Parse(File.ReadAllText(Path.Combine(Root, "deploy/grafana/parley-dashboard.json")));
        var expressions = ExprPattern().Matches(rules).Select(m => m.Groups[1].Value)
            .Concat(dashboard.RootElement.GetProperty("panels").EnumerateArray()
                .SelectMany(p => p.GetProperty("targets").EnumerateArray()).Select(t => t.GetProperty("expr").GetString()!))
            .ToList();

        Assert.True(expressions.Count >= 10);
        var used = expressions.SelectMany(e => MetricPattern().Matches(e).Select(m => m.Value)).ToHashSet(StringComparer.Ordinal);
        Assert.NotEmpty(used);
        Assert.All(used, name => Assert.Contains(name, exported));
    }

    [Fact]
    public async Task Promtool_accepts_the_alert_rules()
    {
        // scripts/test.sh installs promtool (Debian's prometheus package); without it this test fails, it does not pass unchecked.
        var promtool = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator)
            .Select(dir => Path.Combine(dir, "promtool")).FirstOrDefault(File.Exists);
        Assert.True(promtool is not null, "promtool is not installed (run ./scripts/test.sh, or apt-get install prometheus): the alert rules cannot be checked");

        using var process = Process.Start(new ProcessStartInfo(promtool, ["check", "rules", Path.Combine(Root, "deploy/prometheus/parley-alerts.yml")])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        })!;
        var output = await process.StandardOutput.ReadToEndAsync() + await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.True(process.ExitCode == 0, output);
    }

    /// <summary>Every series name Parley's instruments produce in Prometheus format.</summary>
    private static async Task<HashSet<string>> ExportedNamesAsync()
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, _) =>
            {
                if (!Telemetry.Meters.Contains(instrument.Meter.Name))
                {
                    return;
                }

                var kind = instrument.GetType().Name;
                if (kind.StartsWith("Counter", StringComparison.Ordinal))
                {
                    names.Add(instrument.Name + "_total");
                }
                else if (kind.StartsWith("Histogram", StringComparison.Ordinal))
                {
                    names.UnionWith([instrument.Name + "_bucket", instrument.Name + "_sum", instrument.Name + "_count"]);
                }
                else
                {
                    names.Add(instrument.Name);
                }
            },
        };
        listener.Start();
        await using var server = await TestServer.StartAsync();
        _ = server.Services.GetService(typeof(Parley.Server.Realtime.RealtimeMetrics));
        _ = server.Services.GetService(typeof(Parley.Server.Pipeline.DeliveryMetrics));
        _ = server.Services.GetService(typeof(Parley.Server.Messaging.IngressMetrics));
        _ = server.Services.GetService(typeof(Parley.Server.Push.PushMetrics));
        _ = server.Services.GetService(typeof(Parley.Server.Webhooks.WebhookMetrics));
        return names;
    }


    [GeneratedRegex("expr:\\s*(.+)")]
    private static partial Regex ExprPattern();

    // push_ and circuit_breaker_ too: the push alerts and panels use push_queue_depth, push_dead_letter_total and circuit_breaker_state.
    [GeneratedRegex("\\b(?:producer|stream|delivery|idempotency|realtime|push|circuit_breaker|webhook)_[a-z0-9_]+\\b")]
    private static partial Regex MetricPattern();
}
