using System.Diagnostics;
using HdrHistogram;

namespace Parley.Bench;

/// <summary>
/// The result of one step: what was asked for, what was done, and the latency distribution. Targets whose name
/// contains "baseline" are the machine's ceilings; every other target is reported as a ratio against the baseline
/// of the same step. <paramref name="Figures"/> holds scenario-specific numbers (e.g. bytes per connection).
/// </summary>
public sealed record StepResult(string Target, int RequestedRate, double DurationSeconds, long Sent, long Succeeded, long Failed,
    double AchievedPerSecond, double P50Ms, double P95Ms, double P99Ms, double P999Ms, double MaxMs,
    IReadOnlyDictionary<string, double>? Figures = null)
{
    /// <summary>Builds a result from a histogram of Stopwatch ticks.</summary>
    public static StepResult From(string target, int requestedRate, double elapsedSeconds, long sent, long succeeded, long failed,
        double achievedPerSecond, HdrHistogram.HistogramBase histogram, IReadOnlyDictionary<string, double>? figures = null)
    {
        double Ms(double percentile) => histogram.TotalCount == 0 ? 0 : Math.Round(histogram.GetValueAtPercentile(percentile) * 1000.0 / Stopwatch.Frequency, 3);
        return new StepResult(target, requestedRate, Math.Round(elapsedSeconds, 2), sent, succeeded, failed, Math.Round(achievedPerSecond, 1),
            Ms(50), Ms(95), Ms(99), Ms(99.9), histogram.TotalCount == 0 ? 0 : Math.Round(histogram.GetMaxValue() * 1000.0 / Stopwatch.Frequency, 3), figures);
    }

    /// <summary>A histogram for Stopwatch-tick latencies up to a minute.</summary>
    public static HdrHistogram.LongConcurrentHistogram NewHistogram() => new(1, HdrHistogram.TimeStamp.Seconds(60), 3);
}

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
        var histogram = StepResult.NewHistogram();
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
        return StepResult.From(target, rate, elapsed, sent, succeeded, failed, succeeded / elapsed, histogram);
    }
}
