using System.Security.Claims;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.IdentityModel.JsonWebTokens;
using Parley.Core.Ports;

namespace Parley.Server.Auth;

/// <summary>
/// A well-signed token is not enough: its account must exist (a token minted for a deleted or never-created
/// user would otherwise reach endpoints that assume the caller is a user, and fail there with a 500).
/// Only positive answers are cached, so the check costs one store read per user per <see cref="Remember"/>
/// and nothing on the hot send path after that.
/// </summary>
public sealed class KnownUsers(IUserStore users, IMemoryCache cache)
{
    private static readonly TimeSpan Remember = TimeSpan.FromMinutes(10);

    public async ValueTask<bool> ExistsAsync(Guid userId, CancellationToken cancellationToken)
    {
        var key = (typeof(KnownUsers), userId);
        if (cache.TryGetValue(key, out _))
        {
            return true;
        }

        if (await users.GetUserAsync(userId, cancellationToken) is null)
        {
            return false;
        }

        cache.Set(key, true, Remember);
        return true;
    }

    /// <summary>
    /// JwtBearer OnTokenValidated: refuses tokens of unknown accounts, and gives the identity the user id as its
    /// Name and NameIdentifier, the claims ASP.NET Core (SignalR included) identifies a user by.
    /// </summary>
    public static async Task OnTokenValidated(TokenValidatedContext context)
    {
        var identity = context.Principal?.Identity as ClaimsIdentity;
        if (identity is null || !Guid.TryParse(identity.FindFirst(JwtRegisteredClaimNames.Sub)?.Value, out var userId))
        {
            context.Fail("The access token has no user id");
            return;
        }

        var known = context.HttpContext.RequestServices.GetRequiredService<KnownUsers>();
        if (!await known.ExistsAsync(userId, context.HttpContext.RequestAborted))
        {
            context.Fail(UnknownAccount);
            return;
        }

        if (!identity.HasClaim(c => c.Type == ClaimTypes.NameIdentifier))
        {
            identity.AddClaim(new Claim(ClaimTypes.NameIdentifier, userId.ToString()));
        }
    }

    public const string UnknownAccount = "The access token's account does not exist";
}
