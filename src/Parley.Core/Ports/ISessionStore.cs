using Parley.Core.Events;

namespace Parley.Core.Ports;

/// <summary>Sessions: the refresh tokens a user holds, each usable once.</summary>
public interface ISessionStore
{
    /// <summary>Stores a new session's first refresh token (<see cref="DomainEventTypes.SessionStarted"/>).</summary>
    Task AddRefreshTokenAsync(RefreshTokenRecord token, EventContext context, CancellationToken cancellationToken);

    /// <summary>
    /// Atomically retires <paramref name="oldHash"/> and stores <paramref name="replacement"/>. Null when the old
    /// token is unknown, expired, revoked or already used, so a refresh token works exactly once. A used token
    /// presented again revokes everything its user holds (<see cref="DomainEventTypes.SessionReuseDetected"/>, when
    /// anything was still live).
    /// </summary>
    Task<Guid?> RotateRefreshTokenAsync(string oldHash, RefreshTokenRecord replacement, DateTimeOffset now, EventContext context, CancellationToken cancellationToken);

    /// <summary>Revokes the token if it belongs to the user; true when it was live.</summary>
    Task<bool> RevokeRefreshTokenAsync(string tokenHash, Guid userId, DateTimeOffset now, EventContext context, CancellationToken cancellationToken);
}
