using System.Text.Json;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Parley.Core.Ports;
using Parley.Server.Pipeline;

namespace Parley.Server.Hosting;

/// <summary>Readiness checks (O4, first cut): the store answers, the log answers, no consumer loop is faulted.</summary>
public sealed class StoreHealthCheck(IConversationStore store) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        await store.GetConversationAsync(Guid.Empty, cancellationToken);
        return HealthCheckResult.Healthy("store reachable");
    }
}

public sealed class LogHealthCheck(IMessageLog log) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var lag = await log.GetLagAsync(cancellationToken);
        var pending = lag.Sum(l => l.Pending);
        var oldest = lag.Where(l => l.OldestAppendedAt is not null).Select(l => l.OldestAppendedAt!.Value).DefaultIfEmpty().Min();
        return HealthCheckResult.Healthy("log reachable", new Dictionary<string, object>
        {
            ["pending"] = pending,
            ["oldestPendingAt"] = pending == 0 ? "" : oldest.ToString("O"),
        });
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
