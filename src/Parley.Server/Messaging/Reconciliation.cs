using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Threading.Channels;
using Microsoft.Extensions.Options;
using Parley.Core.Persistence;
using Parley.Core.Ports;
using Parley.Hosting;
using Parley.Server.Hosting;

namespace Parley.Server.Messaging;

/// <summary><c>Parley:Reconciliation</c>: when the scheduled run comes and what a run looks at (E4).</summary>
public sealed class ReconciliationOptions
{
    public const string Section = "Parley:Reconciliation";

    public static readonly TimeSpan MaxInterval = TimeSpan.FromDays(7);

    /// <summary>
    /// Time between scheduled runs on each node; zero turns them off (runs on demand still work). Daily by default: the
    /// read-model check holds writers off while it reads the whole outbox, a pause to take at a quiet hour, not hourly.
    /// </summary>
    public TimeSpan Interval { get; set; } = TimeSpan.FromDays(1);

    /// <summary>Whether a scheduled run writes the projected read models where they drifted (the only repair a run makes).</summary>
    public bool Repair { get; set; }

    /// <summary>An entry the log has held unfinished for longer than this counts as drift (log vs store).</summary>
    public TimeSpan PendingThreshold { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>The most dead letters one run compares with the store.</summary>
    public int DeadLetterScan { get; set; } = 1000;

    /// <summary>Examples kept per check.</summary>
    public int Samples { get; set; } = 10;

    public IEnumerable<string> Validate()
    {
        if (Interval < TimeSpan.Zero || Interval > MaxInterval)
        {
            yield return $"{Section}:Interval must be zero (off) or positive, at most {MaxInterval.TotalDays:F0} days (was {Interval}).";
        }

        if (PendingThreshold <= TimeSpan.Zero)
        {
            yield return $"{Section}:PendingThreshold must be positive (was {PendingThreshold}).";
        }

        if (DeadLetterScan is < 1 or > 100_000)
        {
            yield return $"{Section}:DeadLetterScan must be between 1 and 100000 (was {DeadLetterScan}).";
        }

        if (Samples is < 0 or > 1000)
        {
            yield return $"{Section}:Samples must be between 0 and 1000 (was {Samples}).";
        }
    }
}

/// <summary>
/// What reconciliation records (docs/metrics.md), on the Parley.Reconciliation meter: the last run's drift per check and
/// the log's sync lag (sampled by the lag sampler every few seconds and by every run).
/// </summary>
public sealed class ReconciliationMetrics
{
    private readonly ConcurrentDictionary<string, long> _drift = new(StringComparer.Ordinal);
    private readonly Counter<long> _runs;
    private double _syncLagSeconds;

    public ReconciliationMetrics(IMeterFactory meters)
    {
        var meter = meters.Create(Telemetry.ReconciliationMeter);
        meter.CreateObservableGauge("reconciliation_drift", () => _drift.Select(d => new Measurement<long>(d.Value, new KeyValuePair<string, object?>(Telemetry.Tags.Check, d.Key))),
            description: "Values found drifted by the last reconciliation run, by check");
        meter.CreateObservableGauge("sync_lag_seconds", () => Volatile.Read(ref _syncLagSeconds),
            description: "Age of the oldest message the log accepted and has not finished (stored or dead-lettered), seconds; 0 when none");
        _runs = meter.CreateCounter<long>("reconciliation_runs", description: "Reconciliation runs finished, by status (completed, failed)");
    }

    public void RunFinished(ReconciliationRun run)
    {
        foreach (var check in run.Checks)
        {
            _drift[check.Name] = check.Drift;
        }

        _runs.Add(1, new KeyValuePair<string, object?>(Telemetry.Tags.Status, run.Status));
    }

    /// <summary>From the log's lag: the oldest unfinished entry of any partition.</summary>
    public TimeSpan SyncLag(IReadOnlyList<PartitionLag> lag, DateTimeOffset now)
    {
        var oldest = lag.Where(l => l.Pending > 0 && l.OldestAppendedAt is not null).Select(l => l.OldestAppendedAt!.Value).DefaultIfEmpty(now).Min();
        var age = now > oldest ? now - oldest : TimeSpan.Zero;
        Volatile.Write(ref _syncLagSeconds, age.TotalSeconds);
        return age;
    }
}

/// <summary>
/// Reconciliation (E4): compares the log, the store and the read models and reports drift; repairs only the read
/// models (writing what the outbox projects, which is safe: it is what the writers would have written). Runs are kept
/// in the store, so any node answers for one; they are executed one at a time per node by
/// <see cref="ReconciliationScheduler"/>, on demand or every <see cref="ReconciliationOptions.Interval"/>.
/// </summary>
public sealed class Reconciler(
    IReadModelStore readModels,
    IReconciliationStore store,
    IMessageLog log,
    IMessageStore messages,
    ReconciliationMetrics metrics,
    IOptions<ReconciliationOptions> options,
    TimeProvider time,
    ILogger<Reconciler> logger)
{
    private readonly Channel<ReconciliationRun> _requests = Channel.CreateUnbounded<ReconciliationRun>();

    public ChannelReader<ReconciliationRun> Requests => _requests.Reader;

    /// <summary>Records a new run as running and queues it; the scheduler's loop executes it.</summary>
    public async Task<ReconciliationRun> RequestAsync(bool repair, CancellationToken cancellationToken)
    {
        var run = await CreateAsync(repair, cancellationToken);
        await _requests.Writer.WriteAsync(run, cancellationToken);
        return run;
    }

    public async Task<ReconciliationRun> CreateAsync(bool repair, CancellationToken cancellationToken)
    {
        var now = StoreTime.Truncate(time.GetUtcNow());
        var run = new ReconciliationRun(Guid.CreateVersion7(now), ReconciliationStatuses.Running, repair, now, null, null, []);
        await store.SaveRunAsync(run, cancellationToken);
        return run;
    }

    /// <summary>Runs every check of <paramref name="run"/> and stores the outcome; a failure is stored as such, not thrown.</summary>
    public async Task<ReconciliationRun> ExecuteAsync(ReconciliationRun run, CancellationToken cancellationToken)
    {
        try
        {
            var o = options.Value;
            List<ReconciliationCheck> checks = [await ReadModelsAsync(run.Repair, o.Samples, cancellationToken)];
            checks.AddRange(await store.CheckRowsAsync(o.Samples, cancellationToken));
            checks.Add(await LogVsStoreAsync(o, cancellationToken));
            run = run with { Status = ReconciliationStatuses.Completed, FinishedAt = StoreTime.Truncate(time.GetUtcNow()), Checks = checks };
            foreach (var check in checks.Where(c => c.Drift > 0))
            {
                Log.ReconciliationDrift(logger, run.Id, check.Name, check.Drift, check.Samples.FirstOrDefault() ?? "");
            }

            Log.ReconciliationCompleted(logger, run.Id, run.Repair, checks.Sum(c => c.Drift), checks.Sum(c => c.Repaired));
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            Log.ReconciliationFailed(logger, e, run.Id);
            run = run with { Status = ReconciliationStatuses.Failed, FinishedAt = StoreTime.Truncate(time.GetUtcNow()), Error = e.Message };
        }

        await store.SaveRunAsync(run, cancellationToken);
        metrics.RunFinished(run);
        return run;
    }

    private async Task<ReconciliationCheck> ReadModelsAsync(bool repair, int samples, CancellationToken cancellationToken)
    {
        try
        {
            var report = await readModels.RebuildAsync(repair, cancellationToken);
            return new ReconciliationCheck(ReconciliationChecks.ReadModels, report.Checks.Sum(c => c.Examined), report.DriftCount, repair ? report.DriftCount : 0,
                [.. report.Checks.SelectMany(c => c.Drifts).Take(samples).Select(d => d.ToString())]);
        }
        catch (ReadModelHistoryException e)
        {
            // Not drift: the outbox cannot say what the values should be. The run goes on with the other checks.
            Log.ReadModelsUncheckable(logger, e.Message);
            return new ReconciliationCheck(ReconciliationChecks.ReadModels, 0, 0, 0, [e.Message]);
        }
    }

    /// <summary>Entries the log has held unfinished beyond the threshold, and dead letters whose message the store never got.</summary>
    private async Task<ReconciliationCheck> LogVsStoreAsync(ReconciliationOptions o, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var lag = await log.GetLagAsync(cancellationToken);
        metrics.SyncLag(lag, now);
        var drift = new List<string>();
        foreach (var partition in lag.Where(l => l.Pending > 0 && l.OldestAppendedAt is { } at && now - at > o.PendingThreshold))
        {
            drift.Add($"partition {partition.Partition}: {partition.Pending} pending, the oldest accepted at {partition.OldestAppendedAt:O}");
        }

        var dead = await log.ListDeadLettersAsync(o.DeadLetterScan, cancellationToken);
        foreach (var letter in dead)
        {
            if (await messages.GetMessageAsync(letter.MessageId, cancellationToken) is null)
            {
                drift.Add($"message {letter.MessageId}: dead-lettered ({letter.ErrorType}: {letter.ErrorMessage}) and not stored");
            }
        }

        return new ReconciliationCheck(ReconciliationChecks.LogVsStore, lag.Count + dead.Count, drift.Count, 0, [.. drift.Take(o.Samples)]);
    }
}

/// <summary>
/// Executes reconciliation runs one at a time in the <c>reconciliation</c> consumer loop: each one requested
/// (<c>POST /api/v1/admin/reconcile</c>) at once, and one every <see cref="ReconciliationOptions.Interval"/> (none when zero).
/// </summary>
public sealed class ReconciliationScheduler(Reconciler reconciler, IOptions<ReconciliationOptions> options, ConsumerLoopRegistry loops, TimeProvider time,
    ILogger<ReconciliationScheduler> logger) : BackgroundService
{
    protected override Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var interval = options.Value.Interval;
        var next = interval > TimeSpan.Zero ? time.GetUtcNow() + interval : DateTimeOffset.MaxValue;
        return loops.Create("reconciliation", logger, time).RunAsync(async ct =>
        {
            if (reconciler.Requests.TryRead(out var requested))
            {
                await reconciler.ExecuteAsync(requested, ct);
                return;
            }

            if (time.GetUtcNow() >= next)
            {
                next = time.GetUtcNow() + interval;
                await reconciler.ExecuteAsync(await reconciler.CreateAsync(options.Value.Repair, ct), ct);
                return;
            }

            using var wait = CancellationTokenSource.CreateLinkedTokenSource(ct);
            var due = next == DateTimeOffset.MaxValue ? Timeout.InfiniteTimeSpan : next - time.GetUtcNow();
            await Task.WhenAny(reconciler.Requests.WaitToReadAsync(wait.Token).AsTask(), Task.Delay(due > TimeSpan.Zero || due == Timeout.InfiniteTimeSpan ? due : TimeSpan.Zero, time, wait.Token));
            await wait.CancelAsync();
        }, stoppingToken);
    }
}
