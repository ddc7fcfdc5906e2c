using Parley.Server.Contracts;

namespace Parley.Server.Social;

/// <summary>Hands a friends event to one user's devices on every node (implemented by the realtime layer above this one).</summary>
public interface ISocialNotifier
{
    /// <summary>Best effort: the change is already stored, so a failed hand-off is logged, never thrown.</summary>
    Task NotifyAsync(Guid userId, RealtimeEvent realtimeEvent, CancellationToken cancellationToken);
}
