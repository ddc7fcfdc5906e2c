using Parley.Core.Ports;
using Parley.Hosting;

namespace Parley.Server.Pipeline;

/// <summary>Samples per-partition lag every few seconds for the <c>stream_partition_lag</c> gauge (gauge callbacks cannot do I/O).</summary>
public sealed class LagSampler(IMessageLog log, DeliveryMetrics metrics, ConsumerLoopRegistry loops, TimeProvider time, ILogger<LagSampler> logger) : BackgroundService
{
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(5);

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        loops.Create("lag-sampler", logger, time).RunAsync(async ct =>
        {
            foreach (var lag in await log.GetLagAsync(ct))
            {
                metrics.SetLag(lag.Partition, lag.Pending);
            }

            await Task.Delay(Interval, time, ct);
        }, stoppingToken);
}
