using Parley.Core.Ports;

namespace Parley.Server.Embedded;

/// <summary>Presence for the embedded engine: one node, so the process's own memory is the truth.</summary>
public sealed class InMemoryPresenceStore : IPresenceStore
{
    private readonly Lock _gate = new();
    private readonly Dictionary<Guid, Dictionary<string, DateTimeOffset>> _connections = [];
    private readonly Dictionary<Guid, DateTimeOffset> _lastSeen = [];

    public ValueTask<bool> ConnectedAsync(Guid userId, string connectionId, DateTimeOffset expiresAt, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (!_connections.TryGetValue(userId, out var mine))
            {
                _connections[userId] = mine = [];
            }

            mine[connectionId] = expiresAt;
            return ValueTask.FromResult(mine.Count == 1);
        }
    }

    public ValueTask<bool> DisconnectedAsync(Guid userId, string connectionId, DateTimeOffset now, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (!_connections.TryGetValue(userId, out var mine) || !mine.Remove(connectionId) || mine.Count > 0)
            {
                return ValueTask.FromResult(false);
            }

            _connections.Remove(userId);
            _lastSeen[userId] = now;
            return ValueTask.FromResult(true);
        }
    }

    public ValueTask RefreshAsync(IReadOnlyCollection<(Guid UserId, string ConnectionId)> connections, DateTimeOffset expiresAt, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            foreach (var (user, connection) in connections)
            {
                if (_connections.TryGetValue(user, out var mine) && mine.ContainsKey(connection))
                {
                    mine[connection] = expiresAt;
                }
            }
        }

        return ValueTask.CompletedTask;
    }

    public ValueTask<IReadOnlyList<Guid>> ExpireAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        var offline = new List<Guid>();
        lock (_gate)
        {
            foreach (var (user, mine) in _connections.ToList())
            {
                foreach (var (connection, expiresAt) in mine.ToList())
                {
                    if (expiresAt <= now)
                    {
                        mine.Remove(connection);
                    }
                }

                if (mine.Count == 0)
                {
                    _connections.Remove(user);
                    _lastSeen[user] = now;
                    offline.Add(user);
                }
            }
        }

        return ValueTask.FromResult<IReadOnlyList<Guid>>(offline);
    }

    public ValueTask<IReadOnlyList<UserPresence>> GetAsync(IReadOnlyCollection<Guid> userIds, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return ValueTask.FromResult<IReadOnlyList<UserPresence>>(userIds.Select(id => _connections.TryGetValue(id, out var mine)
                ? new UserPresence(id, true, mine.Count, null)
                : new UserPresence(id, false, 0, _lastSeen.TryGetValue(id, out var seen) ? seen : null)).ToList());
        }
    }
}
