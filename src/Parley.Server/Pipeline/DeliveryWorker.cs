using Microsoft.Extensions.Options;
using Parley.Core.Ports;
using Parley.Hosting;

namespace Parley.Server.Pipeline;

/// <summary>
/// One consumer loop per log partition, each reading batches and handing them to the pipeline, but only while this
/// node holds the partition's lease (<see cref="PartitionOwnership"/>): one writer per partition across all nodes.
/// </summary>
public sealed class DeliveryWorker(
    IMessageLog log,
    DeliveryPipeline pipeline,
    PartitionOwnership ownership,
    ConsumerLoopRegistry loops,
    IOptions<LogOptions> options,
    IOptions<ParleyOptions> node,
    TimeProvider time,
    ILogger<DeliveryWorker> logger) : BackgroundService
{
    private static readonly TimeSpan ReadWait = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan NotHeldWait = TimeSpan.FromMilliseconds(250);

    protected override Task ExecuteAsync(CancellationToken stoppingToken) => !node.Value.DeliveryWorkers ? Task.CompletedTask :
        Task.WhenAll(Enumerable.Range(0, log.PartitionCount).Select(partition =>
        {
            var loop = loops.Create($"delivery-{partition}", logger, time);
            return Task.Run(() => loop.RunAsync(ct => IterateAsync(partition, ct), stoppingToken), CancellationToken.None);
        }));

    private async Task IterateAsync(int partition, CancellationToken stoppingToken)
    {
        var lease = ownership.Current(partition);
        if (lease is null)
        {
            await Task.Delay(NotHeldWait, time, stoppingToken);
            return;
        }

        if (lease.Releasing)
        {
            await ownership.ReleaseAsync(partition, lease, stoppingToken);
            return;
        }

        if (!lease.TakenOver)
        {
            await log.TakeOverAsync(partition, options.Value.ConsumerName, stoppingToken);
            lease.TakenOver = true;
        }

        var entries = await log.ReadAsync(partition, options.Value.ConsumerName, options.Value.BatchSize, ReadWait, stoppingToken);
        if (entries.Count > 0)
        {
            // A batch that was read is finished (stored and acked) before shutdown completes, unless it is
            // waiting out an outage: then it stays pending and the next start replays it.
            try
            {
                await pipeline.ProcessAsync(partition, entries, new PartitionFence(partition, lease.Epoch), stoppingToken);
            }
            catch (PartitionFencedException)
            {
                // A newer holder exists. Nothing of this batch was written or acked: it stays pending for that holder.
                await ownership.FencedAsync(partition, lease.Epoch, CancellationToken.None);
            }
        }
    }
}
