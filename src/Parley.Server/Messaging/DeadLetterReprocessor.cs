using Microsoft.Extensions.Options;
using Parley.Core.Ports;
using Parley.Hosting;
using Parley.Server.Hosting;

namespace Parley.Server.Messaging;

/// <summary>Settings under <c>Parley:DeadLetters</c>: scheduled reprocessing of dead letters (E2).</summary>
public sealed class DeadLettersOptions
{
    public const string Section = "Parley:DeadLetters";

    /// <summary>How often dead letters are looked at; zero turns scheduled reprocessing off (replay by hand still works).</summary>
    public TimeSpan ReprocessInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>How long a dead letter rests before it is replayed: the outage that killed it may still be on.</summary>
    public TimeSpan Cooldown { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>Replays of one piece of work before it is left to an operator.</summary>
    public int MaxReprocessAttempts { get; set; } = 5;

    /// <summary>Dead letters of each kind looked at per pass.</summary>
    public int BatchSize { get; set; } = 100;

    public IEnumerable<string> Validate()
    {
        if (ReprocessInterval < TimeSpan.Zero || (ReprocessInterval > TimeSpan.Zero && ReprocessInterval < TimeSpan.FromMilliseconds(100)))
        {
            yield return $"{Section}:ReprocessInterval must be 00:00:00 (off) or at least 00:00:00.100 (was {ReprocessInterval}).";
        }

        if (Cooldown < TimeSpan.Zero)
        {
            yield return $"{Section}:Cooldown must not be negative (was {Cooldown}).";
        }

        if (MaxReprocessAttempts is < 0 or > 100 || BatchSize is < 1 or > 10_000)
        {
            yield return $"{Section}:MaxReprocessAttempts must be between 0 and 100 and {Section}:BatchSize between 1 and 10000 (were {MaxReprocessAttempts} and {BatchSize}).";
        }
    }
}

/// <summary>
/// Replays dead letters on a schedule (E2), in the consumer loop <c>dead-letter-reprocess</c>: those whose error the
/// one classifier calls retryable (<see cref="Failures.OfErrorType"/>), once they have rested the cool-down, at most
/// <see cref="DeadLettersOptions.MaxReprocessAttempts"/> times each. A permanent error (a 4xx, an undecodable payload, a
/// refused message) is never replayed on a schedule: it waits for an operator. Replays are atomic per dead letter, so
/// two nodes passing at once replay each one once.
/// </summary>
public sealed class DeadLetterReprocessor(
    IEnumerable<IDeadLetterKind> kinds,
    ConsumerLoopRegistry loops,
    IOptions<DeadLettersOptions> options,
    TimeProvider time,
    ILogger<DeadLetterReprocessor> logger) : BackgroundService
{
    public const string LoopName = "dead-letter-reprocess";

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        options.Value.ReprocessInterval == TimeSpan.Zero
            ? Task.CompletedTask
            : loops.Create(LoopName, logger, time).RunAsync(async ct =>
            {
                await ReprocessAsync(ct);
                await Task.Delay(options.Value.ReprocessInterval, time, ct);
            }, stoppingToken);

    /// <summary>One pass over every kind; returns how many dead letters it replayed.</summary>
    public async Task<int> ReprocessAsync(CancellationToken cancellationToken)
    {
        var o = options.Value;
        var now = time.GetUtcNow();
        var replayed = 0;
        foreach (var kind in kinds)
        {
            // Oldest are at the end of a newest-first page; a long backlog is worked through over several passes.
            foreach (var dead in await kind.ListAsync(new DeadLetterQuery(o.BatchSize), cancellationToken))
            {
                if (Failures.OfErrorType(dead.ErrorType) != FailureKind.Retryable || dead.Replays >= o.MaxReprocessAttempts || dead.DeadAt + o.Cooldown > now)
                {
                    continue;
                }

                if (await kind.ReplayAsync(dead.Id, now, cancellationToken))
                {
                    replayed++;
                    Log.DeadLetterReplayed(logger, $"{kind.Kind}:{dead.Id}", "schedule");
                }
            }
        }

        return replayed;
    }
}
