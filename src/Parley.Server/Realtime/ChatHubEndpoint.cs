using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.Options;
using Parley.Core.Ports;
using Parley.Server.Contracts;
using Parley.Server.Hosting;

namespace Parley.Server.Realtime;

/// <summary>
/// Maps <see cref="ChatHub"/> like MapHub does, with one step in front of SignalR's: the device is registered for
/// fanout, and counted in presence, before the handshake.
/// <para>
/// SignalR answers the handshake before it calls the hub's OnConnectedAsync. A device registered there misses any
/// message stored in between, although the client already counts as connected. Registering before the handshake
/// costs nothing extra (no store read, no snapshot of the user's conversations): the device queues what arrives and
/// starts writing once the hub has the connection; its usual order, gap and duplicate rules apply to that queue.
/// Presence moves with it, so a device whose connect returned is already counted.
/// </para>
/// </summary>
public static class ChatHubEndpoint
{
    /// <summary>Maps the hub with only the transports <c>Parley:Realtime:Transports</c> allows.</summary>
    public static IEndpointConventionBuilder MapChatHub(this IEndpointRouteBuilder endpoints)
    {
        var transports = endpoints.ServiceProvider.GetRequiredService<IOptions<RealtimeOptions>>().Value.TransportTypes;
        var builder = endpoints.MapConnections(ChatHub.Path, new HttpConnectionDispatcherOptions { Transports = transports }, connections =>
        {
            // Built on the first connection, not at mapping time: resolving the stores here would fail a bad
            // configuration with their error before the settings validation names the setting.
            var devices = new Lazy<DeviceRegistration>(() => ActivatorUtilities.CreateInstance<DeviceRegistration>(connections.ApplicationServices));
            connections.Use(next => connection => devices.Value.RunAsync(connection, next));
            connections.UseHub<ChatHub>();
        });

        // What MapHub adds: the hub's attributes ([Authorize]) as endpoint metadata, and the hub type.
        var attributes = typeof(ChatHub).GetCustomAttributes(inherit: true);
        builder.Add(endpoint =>
        {
            foreach (var attribute in attributes)
            {
                endpoint.Metadata.Add(attribute);
            }

            endpoint.Metadata.Add(new HubMetadata(typeof(ChatHub)));
        });
        return builder;
    }
}

/// <summary>Registers a device around the whole life of its connection, from before the handshake to after the hub is done.</summary>
internal sealed class DeviceRegistration(
    ConnectionRegistry registry,
    DeviceConnectionFactory devices,
    IPresenceStore presence,
    RealtimeNotifier notifier,
    TimeProvider time,
    RealtimeMetrics metrics,
    ILogger<ChatHub> logger)
{
    public async Task RunAsync(ConnectionContext connection, ConnectionDelegate next)
    {
        var user = connection.Features.Get<IConnectionUserFeature>()?.User;
        if (user?.Identity?.IsAuthenticated != true)
        {
            await next(connection); // the endpoint's [Authorize] refuses these before they get here
            return;
        }

        var http = connection.GetHttpContext();
        var resume = string.Equals(http?.Request.Query["resume"], "true", StringComparison.OrdinalIgnoreCase);
        if (http is not null)
        {
            // The parsed query holds the access token (browsers can only send it there), and the request lives as long
            // as the connection: about 1.5 KB per idle connection for nothing once it is authenticated. Anything that
            // reads the query later gets it parsed again from the request. The request caches the feature it last
            // used until it sees the collection change: reading another feature through it drops that cache.
            http.Features.Set<IQueryFeature>(new QueryFeature(http.Features));
            _ = http.Request.Path;
        }

        var device = devices.Create(connection, user, resume);
        var me = device.UserId;
        registry.Add(device);
        metrics.ConnectionOpened();
        try
        {
            if (await presence.ConnectedAsync(me, connection.ConnectionId, time.GetUtcNow() + RealtimeSweeper.PresenceTtl, connection.ConnectionClosed))
            {
                _ = notifier.PresenceAsync(new PresenceView(me, true, null), CancellationToken.None);
            }

            await next(connection);
        }
        finally
        {
            registry.Remove(me, connection.ConnectionId)?.Completed();
            var now = time.GetUtcNow();
            try
            {
                // Awaited: once a connection is fully gone (realtime_connections counts it out), its offline event is
                // already queued for the other members' devices.
                if (await presence.DisconnectedAsync(me, connection.ConnectionId, now, CancellationToken.None))
                {
                    await notifier.PresenceAsync(new PresenceView(me, false, now), CancellationToken.None);
                }
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // The presence entry lapses on its own after PresenceTtl.
                Log.PresenceNotifyFailed(logger, ex, me);
            }

            metrics.ConnectionClosed();
        }
    }
}
