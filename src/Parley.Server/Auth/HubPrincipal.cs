using System.Security.Claims;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.IdentityModel.JsonWebTokens;

namespace Parley.Server.Auth;

/// <summary>
/// The principal a realtime connection keeps for as long as it is open. The one JwtBearer builds holds every claim of
/// the token, the parsed token (its claims again, header, payload and the encoded token) through the identity's
/// SecurityToken: about 3 KB per idle connection in a heap profile (docs/benchmarks.md). The hub needs only who the
/// user is (sub, and NameIdentifier, which ASP.NET Core identifies users by) and when the token expires (exp).
/// </summary>
public static class HubPrincipal
{
    private static readonly string[] Kept = [JwtRegisteredClaimNames.Sub, ClaimTypes.NameIdentifier, JwtRegisteredClaimNames.Exp];

    /// <summary>JwtBearer OnTokenValidated, after the account check: a validated token on the hub's path keeps only what the hub reads.</summary>
    public static void OnTokenValidated(TokenValidatedContext context, PathString hubs)
    {
        if (context.Result is null && context.Principal?.Identity is ClaimsIdentity identity && context.HttpContext.Request.Path.StartsWithSegments(hubs, StringComparison.OrdinalIgnoreCase))
        {
            context.Principal = Slim(identity);
        }
    }

    public static ClaimsPrincipal Slim(ClaimsIdentity source)
    {
        var identity = new ClaimsIdentity(source.AuthenticationType, source.NameClaimType, source.RoleClaimType);
        foreach (var type in Kept)
        {
            if (source.FindFirst(type) is { } claim)
            {
                identity.AddClaim(new Claim(claim.Type, claim.Value, claim.ValueType, claim.Issuer, claim.OriginalIssuer, identity));
            }
        }

        return new ClaimsPrincipal(identity);
    }
}
