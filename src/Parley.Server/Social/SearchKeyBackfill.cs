using Parley.Core.Ports;
using Parley.Server.Hosting;

namespace Parley.Server.Social;

/// <summary>
/// At start, folds the display names migration 005 could not fold in SQL (non-ASCII ones of users created before it),
/// so those users are found by search too. Idempotent: a store with nothing left to fill answers with one query.
/// </summary>
public sealed class SearchKeyBackfill(IUserStore users, ILogger<SearchKeyBackfill> logger) : IHostedService
{
    private const int BatchSize = 500;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        try
        {
            var filled = await users.BackfillSearchKeysAsync(BatchSize, cancellationToken);
            if (filled > 0)
            {
                Log.SearchKeysBackfilled(logger, filled);
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // A store not migrated yet (MigrateOnStart off) or unreachable must not stop the node: search misses the
            // unfolded rows until the next start.
            Log.SearchKeysBackfillFailed(logger, ex);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
