using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Parley.Hosting;

public enum LoopState
{
    Starting,
    Running,
    BackingOff,
    Faulted,
    Stopped,
}

/// <summary>
/// The one loop every partition worker runs in: honours cancellation, catches and logs every failure,
/// backs off exponentially (capped), records a heartbeat, and turns Faulted after repeated failures so
/// health checks see it. It never exits on an error: only on shutdown.
/// </summary>
public sealed class ConsumerLoop(string name, ILogger logger, TimeProvider time)
{
    public static readonly TimeSpan InitialBackoff = TimeSpan.FromMilliseconds(100);
    public static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(10);
    public const int FaultThreshold = 5;

    private int _failures;

    public string Name { get; } = name;

    public LoopState State { get; private set; } = LoopState.Starting;

    public DateTimeOffset LastHeartbeat { get; private set; } = time.GetUtcNow();

    public int ConsecutiveFailures => Volatile.Read(ref _failures);

    public string? LastError { get; private set; }

    public async Task RunAsync(Func<CancellationToken, Task> iteration, CancellationToken stopping)
    {
        while (!stopping.IsCancellationRequested)
        {
            try
            {
                await iteration(stopping);
                if (_failures > 0)
                {
                    HostingLog.LoopRecovered(logger, Name, _failures);
                    Volatile.Write(ref _failures, 0);
                }

                State = LoopState.Running;
                LastHeartbeat = time.GetUtcNow();
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex)
            {
                var failures = Interlocked.Increment(ref _failures);
                LastError = $"{ex.GetType().Name}: {ex.Message}";
                var delay = Backoff(failures);
                HostingLog.LoopIterationFailed(logger, ex, Name, failures, delay);
                if (failures == FaultThreshold)
                {
                    HostingLog.LoopFaulted(logger, Name, failures);
                }

                State = failures >= FaultThreshold ? LoopState.Faulted : LoopState.BackingOff;
                LastHeartbeat = time.GetUtcNow();
                try
                {
                    await Task.Delay(delay, time, stopping);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }
        }

        State = LoopState.Stopped;
        HostingLog.LoopStopped(logger, Name);
    }

    public static TimeSpan Backoff(int failures)
    {
        var ms = InitialBackoff.TotalMilliseconds * Math.Pow(2, Math.Min(failures - 1, 16));
        // Jitter keeps many partitions from retrying against a recovering dependency in lockstep; the cap holds after it.
        var jittered = ms * (0.8 + (Random.Shared.NextDouble() * 0.4));
        return TimeSpan.FromMilliseconds(Math.Min(jittered, MaxBackoff.TotalMilliseconds));
    }
}

/// <summary>Every running loop, for health checks and the admin views.</summary>
public sealed class ConsumerLoopRegistry
{
    private readonly ConcurrentDictionary<string, ConsumerLoop> _loops = new(StringComparer.Ordinal);

    public ConsumerLoop Create(string name, ILogger logger, TimeProvider time) => _loops[name] = new ConsumerLoop(name, logger, time);

    public IReadOnlyCollection<ConsumerLoop> All => _loops.Values.ToList();
}
