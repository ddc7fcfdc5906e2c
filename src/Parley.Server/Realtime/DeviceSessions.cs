using Microsoft.AspNetCore.SignalR;
using Parley.Core.Errors;
using Parley.Core.Ports;
using Parley.Server.Auth;
using Parley.Server.Contracts;
using Parley.Server.Hosting;

namespace Parley.Server.Realtime;

/// <summary>The hub's side of a device's life: finding the device for a call, starting its writer, seeing it go.</summary>
public sealed class DeviceSessions(ConnectionRegistry registry, IConversationStore conversations, RealtimeMetrics metrics, ILogger<DeviceSessions> logger)
{
    /// <summary>The calling connection's device; a connection already being torn down has none.</summary>
    public DeviceConnection Current(HubCallerContext context) =>
        registry.Find(CurrentUser.Id(context.User), context.ConnectionId) ?? throw Errors.Unauthenticated("The connection is closing").ToException();

    /// <summary>
    /// Registered, and counted in presence, before the handshake (see MapChatHub); SignalR has the connection now, so
    /// the device may start writing what it queued meanwhile. Then the user's unread total, so a badge is right from
    /// the start.
    /// </summary>
    public async Task ConnectedAsync(HubCallerContext context, IClientProxy caller)
    {
        var device = registry.Find(CurrentUser.Id(context.User), context.ConnectionId)
            ?? throw new InvalidOperationException($"Connection {context.ConnectionId} reached the hub without a device; map the hub with MapChatHub");
        device.Activate(context);
        await SendUnreadTotalAsync(context, caller);
    }

    /// <summary>The device and presence entry go when the connection does (the endpoint removes them); stop writing now already.</summary>
    public void Disconnected(HubCallerContext context, Exception? exception)
    {
        if (exception is InvalidDataException && exception.Message.Contains("maximum message size", StringComparison.OrdinalIgnoreCase))
        {
            metrics.OversizedFrame();
            Log.OversizedFrame(logger, context.ConnectionId);
        }

        registry.Find(CurrentUser.Id(context.User), context.ConnectionId)?.Completed();
    }

    /// <summary>A store that cannot answer costs the badge, never the connection.</summary>
    private async Task SendUnreadTotalAsync(HubCallerContext context, IClientProxy caller)
    {
        try
        {
            var total = await conversations.GetUnreadTotalAsync(CurrentUser.Id(context.User), context.ConnectionAborted);
            var unread = new UnreadTotalEvent(UnreadTotalView.From(total));
            await caller.SendAsync(unread.Name, unread.Payload, context.ConnectionAborted);
        }
        catch (Exception ex) when (!context.ConnectionAborted.IsCancellationRequested)
        {
            Log.UnreadTotalFailed(logger, ex, context.ConnectionId);
        }
    }
}
