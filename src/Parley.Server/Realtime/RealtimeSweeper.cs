using Parley.Core.Ports;
using Parley.Server.Contracts;
using Parley.Server.Hosting;

namespace Parley.Server.Realtime;

/// <summary>
/// Once a second: ends typing indicators nobody refreshed, closes connections whose access token expired without an
/// in-band refresh, keeps this node's presence entries alive and turns lapsed ones (a dead node's) into offline.
/// </summary>
public sealed class RealtimeSweeper(
    ConnectionRegistry registry,
    TypingTracker typing,
    IPresenceStore presence,
    RealtimeNotifier notifier,
    RealtimeMetrics metrics,
    TimeProvider time,
    ILogger<RealtimeSweeper> logger) : BackgroundService
{
    /// <summary>How long a presence entry lives without its node's heartbeat.</summary>
    public static readonly TimeSpan PresenceTtl = TimeSpan.FromSeconds(30);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var nextPresence = DateTimeOffset.MinValue;
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1), time);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                var now = time.GetUtcNow();
                foreach (var (conversation, user, members) in typing.Expire(now))
                {
                    await notifier.TypingAsync(members, new TypingView(conversation, user, false, 0), stoppingToken);
                }

                foreach (var device in registry.All.Where(d => d.TokenExpiresAt <= now).ToList())
                {
                    metrics.TokenExpiredDisconnected();
                    Log.TokenExpiredClose(logger, device.ConnectionId, device.UserId);
                    device.Close(RealtimeErrors.TokenExpired, "The access token expired; refresh it in-band (RefreshToken) before it does, or reconnect with a new one");
                }

                if (now >= nextPresence)
                {
                    nextPresence = now + (PresenceTtl / 3);
                    await presence.RefreshAsync(registry.All.Select(d => (d.UserId, d.ConnectionId)).ToList(), now + PresenceTtl, stoppingToken);
                    foreach (var user in await presence.ExpireAsync(now, stoppingToken))
                    {
                        await notifier.PresenceAsync(new PresenceView(user, false, now), stoppingToken);
                    }
                }
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                Log.RealtimeSweepFailed(logger, ex);
            }
        }
    }
}
