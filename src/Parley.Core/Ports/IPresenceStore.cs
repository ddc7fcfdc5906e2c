namespace Parley.Core.Ports;

/// <summary>
/// Who is online (M12), across every node. Each connection is registered with an expiry that its node keeps
/// pushing forward; a node that dies stops doing so and its connections lapse instead of lingering. Per-user
/// connection counts are kept as they change, so asking about a conversation's members is one lookup per member,
/// never a scan of connections.
/// </summary>
public interface IPresenceStore
{
    /// <summary>Registers a connection; true when the user was offline until now.</summary>
    ValueTask<bool> ConnectedAsync(Guid userId, string connectionId, DateTimeOffset expiresAt, CancellationToken cancellationToken);

    /// <summary>Removes a connection; true when it was the user's last one (the user is now offline, last seen now).</summary>
    ValueTask<bool> DisconnectedAsync(Guid userId, string connectionId, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>Pushes the expiry of live connections forward (this node's heartbeat).</summary>
    ValueTask RefreshAsync(IReadOnlyCollection<(Guid UserId, string ConnectionId)> connections, DateTimeOffset expiresAt, CancellationToken cancellationToken);

    /// <summary>Drops connections whose expiry passed (their node stopped); returns the users that went offline.</summary>
    ValueTask<IReadOnlyList<Guid>> ExpireAsync(DateTimeOffset now, CancellationToken cancellationToken);

    ValueTask<IReadOnlyList<UserPresence>> GetAsync(IReadOnlyCollection<Guid> userIds, CancellationToken cancellationToken);
}

public sealed record UserPresence(Guid UserId, bool Online, int Connections, DateTimeOffset? LastSeenAt);
