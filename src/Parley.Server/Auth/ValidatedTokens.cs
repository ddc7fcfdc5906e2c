using System.Security.Claims;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Parley.Server.Auth;

/// <summary>
/// JwtBearer's token handler, remembering the tokens it found valid until they expire. A client sends the same access
/// token with every request for its whole lifetime, and checking it again (parse, RSA signature, claims) was about a
/// tenth of the server's CPU on a 50-message history read (docs/benchmarks.md). Only an identical token string that
/// has passed full validation is answered from memory, so garbage cannot fill the cache; signing keys are loaded once
/// at start and access tokens are not revocable, so nothing a second validation could catch changes meanwhile. Each
/// request gets its own copy of the identity: the OnTokenValidated event adds claims to it.
/// </summary>
public sealed class ValidatedTokens(IMemoryCache cache, TimeProvider time) : JsonWebTokenHandler
{
    public override async Task<TokenValidationResult> ValidateTokenAsync(string token, TokenValidationParameters validationParameters)
    {
        var key = (typeof(ValidatedTokens), token);
        var now = time.GetUtcNow().UtcDateTime;
        if (cache.TryGetValue(key, out Validated? remembered) && remembered is not null && remembered.Token.ValidTo > now)
        {
            return new TokenValidationResult { IsValid = true, ClaimsIdentity = remembered.Identity.Clone(), SecurityToken = remembered.Token, TokenType = remembered.TokenType };
        }

        var result = await base.ValidateTokenAsync(token, validationParameters);
        if (result.IsValid && result.SecurityToken is { } validated && validated.ValidTo > now)
        {
            cache.Set(key, new Validated(result.ClaimsIdentity.Clone(), validated, result.TokenType), new DateTimeOffset(validated.ValidTo, TimeSpan.Zero));
        }

        return result;
    }

    private sealed record Validated(ClaimsIdentity Identity, SecurityToken Token, string? TokenType);
}
