using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Parley.Hosting;

/// <summary>
/// The dispatch loop push and webhooks share: claim only as much work as there are free sending slots, start each send
/// in a slot of its own (a receiver holding a call holds one slot, not the batch it was claimed with), and look again
/// at once while claims come back full. A send that throws is logged and left claimed: it comes back when its claim runs
/// out (at least once). On shutdown the sends in flight are awaited, each bounded by its own timeout.
/// </summary>
public abstract class SlottedDispatcher<TWork>(string loopName, int slots, int batchSize, TimeSpan pollInterval, ConsumerLoopRegistry loops, TimeProvider time, ILogger logger)
    : BackgroundService
{
    private readonly SendingSlots _slots = new(slots);

    protected TimeProvider Time { get; } = time;

    protected ILogger Logger { get; } = logger;

    /// <summary>Claims up to <paramref name="max"/> pieces of due work; the count says whether more may be waiting.</summary>
    protected abstract Task<IReadOnlyList<TWork>> ClaimAsync(int max, CancellationToken cancellationToken);

    protected abstract Task SendAsync(TWork work, CancellationToken cancellationToken);

    /// <summary>Logs a send that threw before its outcome was recorded (the work stays claimed).</summary>
    protected abstract void FinishFailed(TWork work, Exception exception);

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        loops.Create(loopName, Logger, Time).RunAsync(async ct =>
        {
            var free = _slots.Free;
            if (free <= 0)
            {
                await _slots.WaitAsync(pollInterval, ct);
                return;
            }

            var wanted = Math.Min(free, batchSize);
            var claimed = await ClaimAsync(wanted, ct);
            foreach (var work in claimed)
            {
                _slots.Start(async () =>
                {
                    try
                    {
                        await SendAsync(work, ct);
                    }
                    catch (Exception e) when (!ct.IsCancellationRequested)
                    {
                        FinishFailed(work, e);
                    }
                });
            }

            if (claimed.Count < wanted)
            {
                await Task.Delay(pollInterval, Time, ct);
            }
        }, stoppingToken);

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        await _slots.DrainAsync(cancellationToken);
    }

    public override void Dispose()
    {
        _slots.Dispose();
        base.Dispose();
        GC.SuppressFinalize(this);
    }
}
