using System.Security.Claims;
using Microsoft.IdentityModel.JsonWebTokens;
using Parley.Server.Auth;

namespace Parley.Server.Tests;

/// <summary>What a hub connection keeps of its token's principal for its whole life (HubPrincipal).</summary>
public sealed class RealtimePrincipalTests
{
    [Fact]
    public void A_hub_connection_keeps_only_who_the_user_is_and_when_the_token_expires()
    {
        var user = Guid.NewGuid().ToString();
        var full = new ClaimsIdentity(
        [
            new Claim(JwtRegisteredClaimNames.Sub, user),
            new Claim(JwtRegisteredClaimNames.UniqueName, "alice"),
            new Claim(JwtRegisteredClaimNames.Jti, "abc"),
            new Claim(JwtRegisteredClaimNames.Exp, "1900000000", ClaimValueTypes.Integer64, "parley"),
            new Claim(JwtRegisteredClaimNames.Iss, "parley"),
            new Claim(ClaimTypes.NameIdentifier, user),
        ], "AuthenticationTypes.Federation", "sub", ClaimTypes.Role);

        var slim = HubPrincipal.Slim(full);

        Assert.True(slim.Identity?.IsAuthenticated);
        Assert.Equal(user, slim.Identity?.Name);
        Assert.Equal([JwtRegisteredClaimNames.Sub, ClaimTypes.NameIdentifier, JwtRegisteredClaimNames.Exp], slim.Claims.Select(c => c.Type));
        Assert.Equal(Guid.Parse(user), CurrentUser.Id(slim));
        var exp = slim.FindFirst(JwtRegisteredClaimNames.Exp)!;
        Assert.Equal(("1900000000", ClaimValueTypes.Integer64, "parley"), (exp.Value, exp.ValueType, exp.Issuer));
    }
}
