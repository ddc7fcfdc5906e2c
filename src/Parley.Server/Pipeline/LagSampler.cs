using Parley.Core.Ports;
using Parley.Hosting;
using Parley.Server.Messaging;

namespace Parley.Server.Pipeline;

/// <summary>Samples per-partition lag every few seconds for the <c>stream_partition_lag</c> and <c>sync_lag_seconds</c> gauges (gauge callbacks cannot do I/O).</summary>
public sealed class LagSampler(IMessageLog log, DeliveryMetrics metrics, ReconciliationMetrics reconciliation, ConsumerLoopRegistry loops, TimeProvider time,
    ILogger<LagSampler> logger) : BackgroundService
{
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(5);

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        loops.Create("lag-sampler", logger, time).RunAsync(async ct =>
        {
            var lags = await log.GetLagAsync(ct);
            foreach (var lag in lags)
            {
                metrics.SetLag(lag.Partition, lag.Pending);
            }

            reconciliation.SyncLag(lags, time.GetUtcNow());

            await Task.Delay(Interval, time, ct);
        }, stoppingToken);
}
