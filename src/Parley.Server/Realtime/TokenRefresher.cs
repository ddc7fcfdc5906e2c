using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using Parley.Core.Errors;
using Parley.Server.Auth;
using Parley.Server.Contracts;

namespace Parley.Server.Realtime;

/// <summary>
/// In-band token refresh: a new access token, valid by the same rules as the one the connection was opened with and
/// for the same user, moves the connection's expiry forward (past it <see cref="RealtimeSweeper"/> closes the connection).
/// </summary>
public sealed class TokenRefresher(DeviceSessions sessions, IOptionsMonitor<JwtBearerOptions> jwt)
{
    public async Task<RefreshResult> RefreshAsync(HubCallerContext context, string? accessToken)
    {
        if (string.IsNullOrWhiteSpace(accessToken))
        {
            throw Errors.MissingField("accessToken").ToException();
        }

        var parameters = jwt.Get(JwtBearerDefaults.AuthenticationScheme).TokenValidationParameters;
        var result = await new JsonWebTokenHandler().ValidateTokenAsync(accessToken, parameters);
        if (!result.IsValid)
        {
            throw Errors.Unauthenticated(result.Exception is SecurityTokenExpiredException ? "The access token has expired" : "The access token is not valid").ToException();
        }

        if (!string.Equals(result.ClaimsIdentity.FindFirst(JwtRegisteredClaimNames.Sub)?.Value, CurrentUser.Id(context.User).ToString(), StringComparison.OrdinalIgnoreCase))
        {
            throw Errors.Forbidden("The new access token belongs to another user").ToException();
        }

        var device = sessions.Current(context);
        device.TokenExpiresAt = result.SecurityToken.ValidTo == DateTime.MinValue ? DateTimeOffset.MaxValue : new DateTimeOffset(result.SecurityToken.ValidTo, TimeSpan.Zero);
        return new RefreshResult(device.TokenExpiresAt);
    }
}
