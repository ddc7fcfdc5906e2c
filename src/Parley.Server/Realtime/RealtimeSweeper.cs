using System.Collections.Concurrent;
using Parley.Core.Ports;
using Parley.Server.Hosting;
using Parley.Server.Observability;

namespace Parley.Server.Realtime;

/// <summary>Typing indicators that are on, with when they lapse. Never persisted.</summary>
public sealed class TypingTracker
{
    private readonly ConcurrentDictionary<(Guid Conversation, Guid User), (DateTimeOffset ExpiresAt, IReadOnlyList<Guid> Members)> _active = new();

    public void Start(Guid conversation, Guid user, IReadOnlyList<Guid> members, DateTimeOffset expiresAt) => _active[(conversation, user)] = (expiresAt, members);

    public bool Stop(Guid conversation, Guid user) => _active.TryRemove((conversation, user), out _);

    public IReadOnlyList<(Guid Conversation, Guid User, IReadOnlyList<Guid> Members)> Expire(DateTimeOffset now)
    {
        var expired = new List<(Guid, Guid, IReadOnlyList<Guid>)>();
        foreach (var (key, value) in _active)
        {
            if (value.ExpiresAt <= now && _active.TryRemove(new KeyValuePair<(Guid, Guid), (DateTimeOffset, IReadOnlyList<Guid>)>(key, value)))
            {
                expired.Add((key.Conversation, key.User, value.Members));
            }
        }

        return expired;
    }
}

/// <summary>
/// Once a second: ends typing indicators nobody refreshed, closes connections whose access token expired without an
/// in-band refresh, keeps this node's presence entries alive and turns lapsed ones (a dead node's) into offline.
/// </summary>
public sealed class RealtimeSweeper(
    ConnectionRegistry registry,
    TypingTracker typing,
    IPresenceStore presence,
    RealtimeNotifier notifier,
    ParleyMetrics metrics,
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
                    await notifier.TypingAsync(members, new TypingEvent(conversation, user, false, 0), stoppingToken);
                }

                foreach (var device in registry.All.Where(d => d.TokenExpiresAt <= now).ToList())
                {
                    metrics.TokenExpiredDisconnects.Add(1);
                    Log.TokenExpiredClose(logger, device.ConnectionId, device.UserId);
                    device.Close(RealtimeErrors.TokenExpired, "The access token expired; refresh it in-band (RefreshToken) before it does, or reconnect with a new one");
                }

                if (now >= nextPresence)
                {
                    nextPresence = now + (PresenceTtl / 3);
                    await presence.RefreshAsync(registry.All.Select(d => (d.UserId, d.ConnectionId)).ToList(), now + PresenceTtl, stoppingToken);
                    foreach (var user in await presence.ExpireAsync(now, stoppingToken))
                    {
                        await notifier.PresenceAsync(new PresenceEvent(user, false, now), stoppingToken);
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
