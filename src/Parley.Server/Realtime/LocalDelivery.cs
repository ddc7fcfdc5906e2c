using Parley.Server.Contracts;

namespace Parley.Server.Realtime;

/// <summary>Hands an event to this node's devices of its users, for this node's own events and for other nodes' alike.</summary>
public sealed class LocalDelivery(ConnectionRegistry registry)
{
    public void Deliver(AddressedEvent addressed)
    {
        foreach (var user in addressed.UserIds)
        {
            if (user == addressed.ExceptUser)
            {
                continue;
            }

            foreach (var device in registry.Of(user))
            {
                device.Push(addressed.Event);
            }
        }
    }
}
