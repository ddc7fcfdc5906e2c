using Parley.Server.Contracts;
using Parley.Server.Hosting;
using Parley.Server.Social;

namespace Parley.Server.Realtime;

/// <summary>Events addressed to one user (friends, M3): this node's devices first, then every other node's over the bus.</summary>
public sealed class UserEventNotifier(LocalDelivery local, NodeEventRelay relay, ILogger<UserEventNotifier> logger) : ISocialNotifier
{
    public async Task NotifyAsync(Guid userId, RealtimeEvent realtimeEvent, CancellationToken cancellationToken)
    {
        var addressed = new AddressedEvent(realtimeEvent, [userId]);
        try
        {
            local.Deliver(addressed);
            await relay.PublishAsync(addressed, cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            Log.SocialNotifyFailed(logger, ex, realtimeEvent.Name, userId);
        }
    }
}
