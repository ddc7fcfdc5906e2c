namespace Parley.Server.Realtime;

/// <summary>Hands other nodes' events to this node's devices; after a bus break, devices re-check what they may have missed.</summary>
public sealed class NodeEventSubscriber(NodeEventRelay relay, LocalDelivery local, ConnectionRegistry registry) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        relay.Subscribe(local.Deliver);
        relay.Restored += () =>
        {
            foreach (var device in registry.All)
            {
                device.CatchUp();
            }
        };
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
