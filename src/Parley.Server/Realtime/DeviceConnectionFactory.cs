using System.Security.Claims;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Parley.Core.Ports;
using Parley.Server.Auth;

namespace Parley.Server.Realtime;

/// <summary>Creates the <see cref="DeviceConnection"/> for an authenticated connection arriving at the hub.</summary>
public sealed class DeviceConnectionFactory(
    IHubContext<ChatHub> hub,
    IMessageStore messages,
    IOptions<RealtimeOptions> options,
    RealtimeMetrics metrics,
    ILogger<ChatHub> logger)
{
    /// <param name="holdUntilResume">The client announced a Resume (<c>?resume=true</c>): live events wait for it.</param>
    public DeviceConnection Create(ConnectionContext connection, ClaimsPrincipal user, bool holdUntilResume) =>
        new(connection, CurrentUser.Id(user), TokenExpiry(user), holdUntilResume, hub.Clients.Client(connection.ConnectionId), messages, options.Value, metrics, logger);

    private static DateTimeOffset TokenExpiry(ClaimsPrincipal user) =>
        long.TryParse(user.FindFirst(JwtRegisteredClaimNames.Exp)?.Value, System.Globalization.CultureInfo.InvariantCulture, out var exp)
            ? DateTimeOffset.FromUnixTimeSeconds(exp)
            : DateTimeOffset.MaxValue;
}
