using System.Diagnostics;
using Microsoft.Extensions.Options;
using Parley.Core.Events;
using Parley.Core.Ports;
using Parley.Core.Push;
using Parley.Hosting;
using Parley.Server.Hosting;
using Polly.CircuitBreaker;
using Polly.Timeout;

namespace Parley.Server.Push;

/// <summary>
/// The clock push jobs are due by. The system clock, except in tests that move it by hand to check the 1 s / 5 s / 30 s
/// retry schedule without waiting 36 seconds; the dispatcher still polls and times out calls on real time.
/// </summary>
public sealed class PushClock(TimeProvider time)
{
    public DateTimeOffset Now => time.GetUtcNow();
}

/// <summary>
/// Sends due push jobs, in the consumer loop <c>push-dispatch</c> on every node: claim as many as there are free
/// sending slots (<see cref="PushOptions.MaxConcurrency"/>), send each through its provider's breaker and timeout
/// without waiting for the others (a provider holding one call must not hold back the rest), then finish each by what
/// came of it (<see cref="Failures"/>): sent leaves the queue; gone unregisters the device; retryable comes back after
/// 1 s, 5 s, then 30 s, and after the third retry (or at once when permanent) goes to the push dead letters. Nothing
/// here is on the delivery path.
/// </summary>
public sealed class PushDispatcher(
    IPushQueue queue,
    IEnumerable<IPushProvider> providers,
    PushResilience resilience,
    IPushDeviceStore devices,
    PushMetrics metrics,
    PushClock clock,
    TransientErrors transient,
    ConsumerLoopRegistry loops,
    IOptions<PushOptions> options,
    TimeProvider time,
    ILogger<PushDispatcher> logger)
    : SlottedDispatcher<PushJobLease>(LoopName, options.Value.MaxConcurrency, options.Value.BatchSize, options.Value.PollInterval, loops, time, logger)
{
    public const string LoopName = "push-dispatch";

    private readonly Dictionary<string, IPushProvider> _providers = providers.ToDictionary(p => p.Platform, StringComparer.Ordinal);

    protected override async Task<IReadOnlyList<PushJobLease>> ClaimAsync(int max, CancellationToken cancellationToken)
    {
        var leases = await queue.ClaimAsync(clock.Now, max, options.Value.ClaimTimeout, cancellationToken);
        metrics.QueueDepth(await queue.CountAsync(cancellationToken));
        return leases;
    }

    // The job stays claimed and comes back when its claim runs out: at least once, never lost.
    protected override void FinishFailed(PushJobLease lease, Exception exception) => Log.PushFinishFailed(Logger, exception, lease.Job.Id, options.Value.ClaimTimeout);

    protected override async Task SendAsync(PushJobLease lease, CancellationToken cancellationToken)
    {
        var job = lease.Job;
        var result = await CallAsync(job, cancellationToken);
        var attempts = lease.Attempts + 1;
        switch (result.Failure)
        {
            case null:
                await queue.CompleteAsync(lease.QueueId, cancellationToken);
                metrics.Sent(job.Platform, (clock.Now - job.CreatedAt).TotalMilliseconds);
                break;
            case FailureKind.Gone:
                metrics.Failed(job.Platform, "gone");
                Log.PushDeviceGone(Logger, job.DeviceId, job.Platform, job.UserId, result.Error ?? "");
                await devices.RemoveAsync(job.DeviceId, null, "gone", clock.Now, EventContext.New(), cancellationToken);
                await queue.CompleteAsync(lease.QueueId, cancellationToken);
                break;
            case FailureKind.Retryable when PushJobs.RetryDelay(attempts) is { } delay:
                metrics.Failed(job.Platform, result.ErrorType is "BrokenCircuitException" or "TimeoutRejectedException" ? Reason(result.ErrorType) : "retryable");
                var retryAt = clock.Now + delay;
                Log.PushRetrying(Logger, job.Id, job.DeviceId, job.Platform, attempts, result.ErrorType!, result.Error!, retryAt);
                await queue.RetryAsync(lease.QueueId, attempts, retryAt, result.ErrorType!, result.Error!, cancellationToken);
                break;
            default:
                metrics.Failed(job.Platform, result.Failure == FailureKind.Permanent ? "permanent" : "retryable");
                metrics.DeadLettered(job.Platform, result.ErrorType!);
                Log.PushDeadLettered(Logger, job.Id, job.DeviceId, job.Platform, attempts, result.ErrorType!, result.Error!);
                await queue.DeadLetterAsync(lease, attempts, result.ErrorType!, result.Error!, clock.Now, cancellationToken);
                break;
        }
    }

    private async Task<PushResult> CallAsync(PushJob job, CancellationToken cancellationToken)
    {
        if (!_providers.TryGetValue(job.Platform, out var provider) || !provider.Configured)
        {
            return new PushResult(FailureKind.Permanent, "PlatformUnavailable", $"This server is not set up to send {job.Platform} pushes (Parley:Push)");
        }

        var started = Stopwatch.GetTimestamp();
        try
        {
            return await resilience.ExecuteAsync(provider, job, cancellationToken);
        }
        catch (BrokenCircuitException e)
        {
            return new PushResult(FailureKind.Retryable, nameof(BrokenCircuitException), e.Message);
        }
        catch (TimeoutRejectedException)
        {
            return new PushResult(FailureKind.Retryable, nameof(TimeoutRejectedException), $"The provider did not answer within {options.Value.ProviderTimeout}");
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested)
        {
            return new PushResult(Failures.OfException(e, transient), e.GetType().Name, e.Message);
        }
        finally
        {
            metrics.SendDuration(job.Platform, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        }
    }

    private static string Reason(string errorType) => errorType == nameof(BrokenCircuitException) ? "breaker_open" : "timeout";
}
