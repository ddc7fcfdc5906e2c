using System.Text.Json;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using Parley.Core.Ports;
using Parley.Hosting;
using Parley.Server.Pipeline;

namespace Parley.Server.Observability;

/// <summary>Readiness checks (O4, first cut): the store answers, the log answers, no consumer loop is faulted.</summary>
public sealed class StoreHealthCheck(IConversationStore store) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        await store.GetConversationAsync(Guid.Empty, cancellationToken);
        return HealthCheckResult.Healthy("store reachable");
    }
}

/// <summary>
/// The log answers (else unhealthy: the ingress cannot accept), and how far behind the pipeline is:
/// partition lag, sync lag (age of the oldest accepted but unfinished message) and dead letters. Those
/// only degrade readiness: a node that is behind still accepts messages, and taking it out of rotation
/// would not make it catch up.
/// </summary>
public sealed class LogHealthCheck(IMessageLog log, IOptions<HealthOptions> options, TimeProvider time) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var o = options.Value;
        var lag = await log.GetLagAsync(cancellationToken);
        var deadLetters = (await log.ListDeadLettersAsync(o.DeadLetterDegraded, cancellationToken)).Count;
        var pending = lag.Sum(l => l.Pending);
        var worst = lag.MaxBy(l => l.Pending);
        var oldest = lag.Where(l => l.OldestAppendedAt is not null).Select(l => l.OldestAppendedAt!.Value).DefaultIfEmpty(time.GetUtcNow()).Min();
        var syncLag = pending == 0 ? TimeSpan.Zero : time.GetUtcNow() - oldest;
        var data = new Dictionary<string, object>
        {
            ["pending"] = pending,
            ["maxPartitionLag"] = worst?.Pending ?? 0,
            ["maxLagPartition"] = worst?.Partition ?? 0,
            ["syncLagSeconds"] = Math.Round(syncLag.TotalSeconds, 1),
            ["deadLetters"] = deadLetters >= o.DeadLetterDegraded ? $">={o.DeadLetterDegraded}" : deadLetters.ToString(System.Globalization.CultureInfo.InvariantCulture),
        };

        var problems = new List<string>();
        if ((worst?.Pending ?? 0) >= o.PartitionLagDegraded)
        {
            problems.Add($"partition {worst!.Partition} has {worst.Pending} unfinished entries (threshold {o.PartitionLagDegraded})");
        }

        if (syncLag >= o.SyncLagDegraded)
        {
            problems.Add($"the oldest unfinished message was accepted {syncLag.TotalSeconds:F0} s ago (threshold {o.SyncLagDegraded.TotalSeconds:F0} s)");
        }

        if (deadLetters >= o.DeadLetterDegraded)
        {
            problems.Add($"{deadLetters} dead-lettered entr{(deadLetters == 1 ? "y" : "ies")} waiting for an operator");
        }

        return problems.Count == 0
            ? HealthCheckResult.Healthy("log reachable and keeping up", data)
            : HealthCheckResult.Degraded(string.Join("; ", problems), data: data);
    }
}

/// <summary>Readiness thresholds under <c>Parley:Health</c> (docs/metrics.md, docs/runbooks.md).</summary>
public sealed class HealthOptions
{
    public const string Section = "Parley:Health";

    public long PartitionLagDegraded { get; set; } = 1000;

    public TimeSpan SyncLagDegraded { get; set; } = TimeSpan.FromSeconds(30);

    public int DeadLetterDegraded { get; set; } = 1;

    public IEnumerable<string> Validate()
    {
        if (PartitionLagDegraded < 1 || DeadLetterDegraded < 1 || SyncLagDegraded <= TimeSpan.Zero)
        {
            yield return $"{Section}:PartitionLagDegraded, DeadLetterDegraded and SyncLagDegraded must be positive.";
        }
    }
}

public sealed class ConsumerLoopsHealthCheck(ConsumerLoopRegistry loops) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var all = loops.All;
        var faulted = all.Where(l => l.State == LoopState.Faulted).Select(l => $"{l.Name}: {l.LastError}").ToList();
        var data = new Dictionary<string, object> { ["loops"] = all.Count, ["faulted"] = faulted };
        return Task.FromResult(faulted.Count > 0
            ? HealthCheckResult.Unhealthy($"{faulted.Count} consumer loop(s) faulted", data: data)
            : HealthCheckResult.Healthy($"{all.Count} consumer loop(s) running", data));
    }
}

public static class HealthResponse
{
    public static Task WriteAsync(HttpContext context, HealthReport report)
    {
        context.Response.ContentType = "application/json";
        return JsonSerializer.SerializeAsync(context.Response.Body, new
        {
            status = report.Status.ToString().ToLowerInvariant(),
            totalDurationMs = report.TotalDuration.TotalMilliseconds,
            checks = report.Entries.ToDictionary(e => e.Key, e => new
            {
                status = e.Value.Status.ToString().ToLowerInvariant(),
                description = e.Value.Description,
                durationMs = e.Value.Duration.TotalMilliseconds,
                error = e.Value.Exception?.Message,
                data = e.Value.Data,
            }),
        }, JsonSerializerOptions.Web, context.RequestAborted);
    }
}

/// <summary>Degraded while any partition holds a batch because the store or log is unreachable (the backlog waits in the log).</summary>
public sealed class PipelineHealthCheck(PipelineStatus status, IMessageLog log) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var outages = status.Outages;
        if (outages.Count == 0)
        {
            return HealthCheckResult.Healthy("every partition is flowing");
        }

        var data = new Dictionary<string, object>
        {
            ["blockedPartitions"] = outages.Keys.Order().ToList(),
            ["since"] = outages.Values.Min(o => o.Since).ToString("O"),
            ["error"] = outages.Values.First().Error,
        };
        try
        {
            data["backlog"] = (await log.GetLagAsync(cancellationToken)).Sum(l => l.Pending);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            data["backlog"] = "unknown: " + ex.Message;
        }

        return HealthCheckResult.Degraded($"{outages.Count} partition(s) waiting for {string.Join(", ", outages.Values.Select(o => o.Operation).Distinct())}", data: data);
    }
}
