using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Parley.Hosting;
using Parley.Server.Observability;

namespace Parley.Server.Tests;

public sealed class ConsumerLoopTests
{
    [Fact]
    public async Task A_failing_loop_backs_off_turns_faulted_recovers_and_stops_only_on_shutdown()
    {
        var time = new FakeTimeProvider();
        var registry = new ConsumerLoopRegistry();
        var loop = registry.Create("test", NullLogger.Instance, time);
        var health = new ConsumerLoopsHealthCheck(registry);
        var calls = 0;
        using var stop = new CancellationTokenSource();

        var run = loop.RunAsync(async ct =>
        {
            var n = Interlocked.Increment(ref calls);
            if (n <= ConsumerLoop.FaultThreshold)
            {
                throw new InvalidOperationException($"boom {n}");
            }

            if (n > ConsumerLoop.FaultThreshold + 1)
            {
                await Task.Delay(Timeout.InfiniteTimeSpan, time, ct);
            }
        }, stop.Token);

        await UntilAsync(() => loop.State == LoopState.BackingOff && calls == 1, time);
        Assert.Equal(HealthStatus.Healthy, (await health.CheckHealthAsync(new HealthCheckContext())).Status);

        await UntilAsync(() => loop.State == LoopState.Faulted, time);
        Assert.Equal(ConsumerLoop.FaultThreshold, loop.ConsecutiveFailures);
        Assert.Contains("boom 5", loop.LastError, StringComparison.Ordinal);
        Assert.Equal(HealthStatus.Unhealthy, (await health.CheckHealthAsync(new HealthCheckContext())).Status);

        await UntilAsync(() => loop.State == LoopState.Running, time);
        Assert.Equal(0, loop.ConsecutiveFailures);
        Assert.Equal(HealthStatus.Healthy, (await health.CheckHealthAsync(new HealthCheckContext())).Status);

        await stop.CancelAsync();
        await run.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(LoopState.Stopped, loop.State);
    }

    [Theory]
    [InlineData(1, 80, 120)]
    [InlineData(2, 160, 240)]
    [InlineData(30, 8_000, 10_000)]
    public void Backoff_doubles_from_100ms_and_is_capped_at_10s_with_jitter(int failures, double minMs, double maxMs)
    {
        for (var i = 0; i < 50; i++)
        {
            var delay = ConsumerLoop.Backoff(failures).TotalMilliseconds;
            Assert.InRange(delay, minMs, maxMs);
        }
    }

    /// <summary>Advances fake time until the condition holds, so backoff delays elapse without real waiting.</summary>
    private static async Task UntilAsync(Func<bool> condition, FakeTimeProvider time)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "condition not reached");
            time.Advance(TimeSpan.FromMilliseconds(50));
            await Task.Delay(1); // lets the loop run on the advanced fake clock; the condition and deadline decide, not this
        }
    }
}
