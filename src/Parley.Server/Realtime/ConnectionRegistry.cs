using System.Collections.Concurrent;

namespace Parley.Server.Realtime;

/// <summary>This node's connected devices, by user.</summary>
public sealed class ConnectionRegistry
{
    private readonly ConcurrentDictionary<Guid, ConcurrentDictionary<string, DeviceConnection>> _byUser = new();

    // Adds and removes are rare next to lookups; one lock keeps "remove the user's last device" and "add a device"
    // from racing each other into a lost registration.
    private readonly Lock _gate = new();

    public void Add(DeviceConnection connection)
    {
        lock (_gate)
        {
            _byUser.GetOrAdd(connection.UserId, _ => new ConcurrentDictionary<string, DeviceConnection>(StringComparer.Ordinal))[connection.ConnectionId] = connection;
        }
    }

    public DeviceConnection? Remove(Guid userId, string connectionId)
    {
        lock (_gate)
        {
            if (!_byUser.TryGetValue(userId, out var mine) || !mine.TryRemove(connectionId, out var connection))
            {
                return null;
            }

            if (mine.IsEmpty)
            {
                _byUser.TryRemove(userId, out _);
            }

            return connection;
        }
    }

    public DeviceConnection? Find(Guid userId, string connectionId) =>
        _byUser.TryGetValue(userId, out var mine) && mine.TryGetValue(connectionId, out var connection) ? connection : null;

    public IEnumerable<DeviceConnection> Of(Guid userId) =>
        _byUser.TryGetValue(userId, out var mine) ? mine.Values : [];

    public IEnumerable<DeviceConnection> All => _byUser.Values.SelectMany(m => m.Values);
}
