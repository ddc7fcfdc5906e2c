using Parley.Core.Events;
using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using Parley.Core.Ports;
using Parley.Server.Hosting;

namespace Parley.Server.Auth;

public sealed record TokenPair(string AccessToken, string RefreshToken, int ExpiresIn, Guid UserId, string TokenType = "Bearer");

/// <summary>Issues RS256 access tokens and opaque, single-use refresh tokens (stored only as a SHA-256 hash).</summary>
public sealed class TokenService(SigningKeys keys, IUserStore users, ISessionStore sessions, IOptions<AuthOptions> options, TimeProvider time)
{
    private readonly JsonWebTokenHandler _handler = new();

    public async Task<TokenPair> IssueAsync(UserRecord user, CancellationToken cancellationToken)
    {
        var refresh = NewRefreshToken(user.Id, out var record);
        await sessions.AddRefreshTokenAsync(record, EventContext.New(user.Id), cancellationToken);
        return new TokenPair(CreateAccessToken(user.Id, user.Username), refresh, (int)options.Value.AccessTokenLifetime.TotalSeconds, user.Id);
    }

    /// <summary>Trades a refresh token for a new pair; null when it is not live (the old one is spent either way).</summary>
    public async Task<TokenPair?> RefreshAsync(string refreshToken, CancellationToken cancellationToken)
    {
        var refresh = NewRefreshToken(Guid.Empty, out var record);
        var userId = await sessions.RotateRefreshTokenAsync(Hash(refreshToken), record, time.GetUtcNow(), EventContext.New(), cancellationToken);
        if (userId is null)
        {
            return null;
        }

        var user = await users.GetUserAsync(userId.Value, cancellationToken);
        return user is null ? null : new TokenPair(CreateAccessToken(user.Id, user.Username), refresh, (int)options.Value.AccessTokenLifetime.TotalSeconds, user.Id);
    }

    public Task<bool> RevokeAsync(string refreshToken, Guid userId, CancellationToken cancellationToken) =>
        sessions.RevokeRefreshTokenAsync(Hash(refreshToken), userId, time.GetUtcNow(), EventContext.New(userId), cancellationToken);

    public string CreateAccessToken(Guid userId, string username)
    {
        var now = time.GetUtcNow().UtcDateTime;
        return _handler.CreateToken(new SecurityTokenDescriptor
        {
            Issuer = options.Value.Issuer,
            Audience = options.Value.Audience,
            IssuedAt = now,
            NotBefore = now,
            Expires = now + options.Value.AccessTokenLifetime,
            Subject = new ClaimsIdentity([
                new Claim(JwtRegisteredClaimNames.Sub, userId.ToString()),
                new Claim(JwtRegisteredClaimNames.UniqueName, username),
                new Claim(JwtRegisteredClaimNames.Jti, Guid.NewGuid().ToString("N")),
            ]),
            SigningCredentials = new SigningCredentials(keys.Current, SecurityAlgorithms.RsaSha256),
        });
    }

    private string NewRefreshToken(Guid userId, out RefreshTokenRecord record)
    {
        var token = Base64Url(RandomNumberGenerator.GetBytes(32));
        var now = time.GetUtcNow();
        record = new RefreshTokenRecord(Hash(token), userId, now, now + options.Value.RefreshTokenLifetime);
        return token;
    }

    private static string Hash(string token) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(token)));

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
