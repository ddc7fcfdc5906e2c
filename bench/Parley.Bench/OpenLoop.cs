using System.Diagnostics;
using HdrHistogram;

namespace Parley.Bench;

/// <summary>The result of one fixed-rate step: what was asked for, what was done, and the latency distribution.</summary>
public sealed record StepResult(string Target, int RequestedRate, double DurationSeconds, long Sent, long Succeeded, long Failed,
    double AchievedPerSecond, double P50Ms, double P95Ms, double P99Ms, double P999Ms, double MaxMs);

/// <summary>
/// Open-loop load: request i is due at start + i/rate whatever happened to earlier ones, and its latency is
/// measured from when it was due, not from when it was sent. A stalled server therefore shows its queueing in
/// the latency (no coordinated omission) instead of silently lowering the offered load.
/// </summary>
public static class OpenLoop
{
    public static async Task<StepResult> RunAsync(string target, int rate, TimeSpan duration, Func<long, Task<bool>> request,
        Action<string>? progress = null, int maxInFlight = 20_000)
    {
        var histogram = new LongConcurrentHistogram(1, TimeStamp.Seconds(60), 3);
        long sent = 0, succeeded = 0, failed = 0, inFlight = 0;
        var total = (long)(rate * duration.TotalSeconds);
        var clock = Stopwatch.StartNew();
        var pending = new List<Task>();
        var lastReport = 0L;

        for (long i = 0; i < total; i++)
        {
            var due = TimeSpan.FromSeconds((double)i / rate);
            var wait = due - clock.Elapsed;
            if (wait > TimeSpan.FromMilliseconds(1))
            {
                await Task.Delay(wait);
            }

            if (Interlocked.Read(ref inFlight) >= maxInFlight)
            {
                // Beyond this the generator, not the server, would be the bottleneck: count it as a failure.
                Interlocked.Increment(ref failed);
                continue;
            }

            var dueTicks = Stopwatch.GetTimestamp() - (long)((clock.Elapsed - due).TotalSeconds * Stopwatch.Frequency);
            Interlocked.Increment(ref sent);
            Interlocked.Increment(ref inFlight);
            var index = i;
            pending.Add(Task.Run(async () =>
            {
                bool ok;
                try
                {
                    ok = await request(index);
                }
                catch (Exception)
                {
                    ok = false;
                }

                histogram.RecordValue(Math.Max(1, Stopwatch.GetTimestamp() - dueTicks));
                Interlocked.Increment(ref ok ? ref succeeded : ref failed);
                Interlocked.Decrement(ref inFlight);
            }));

            var second = (long)clock.Elapsed.TotalSeconds;
            if (progress is not null && second > lastReport)
            {
                lastReport = second;
                progress($"  {target} @ {rate}/s: {second}s sent {sent} ok {Interlocked.Read(ref succeeded)} failed {Interlocked.Read(ref failed)} in-flight {Interlocked.Read(ref inFlight)}");
            }
        }

        await Task.WhenAll(pending);
        var elapsed = clock.Elapsed.TotalSeconds;
        double Ms(double percentile) => histogram.GetValueAtPercentile(percentile) * 1000.0 / Stopwatch.Frequency;
        return new StepResult(target, rate, Math.Round(elapsed, 2), sent, succeeded, failed, Math.Round(succeeded / elapsed, 1),
            Math.Round(Ms(50), 3), Math.Round(Ms(95), 3), Math.Round(Ms(99), 3), Math.Round(Ms(99.9), 3),
            Math.Round(histogram.GetMaxValue() * 1000.0 / Stopwatch.Frequency, 3));
    }
}
