using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Identity;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;
using Parley.Core.Errors;
using Parley.Core.Ports;
using Parley.Hosting;
using Parley.Server.Hosting;
using Parley.Server.Http;

namespace Parley.Server.Auth;

public static class AuthServiceCollectionExtensions
{
    /// <summary>Accounts and tokens: signing keys, JWT bearer authentication, password hashing and the auth rate limit.</summary>
    public static WebApplicationBuilder AddParleyAuth(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddSingleton(sp => new SigningKeys(
            Path.Combine(sp.GetRequiredService<IOptions<ParleyOptions>>().Value.ResolvedDataDirectory, "keys"),
            sp.GetRequiredService<ILogger<SigningKeys>>()));
        services.AddSingleton<TokenService>();
        services.AddSingleton<KnownUsers>();
        services.AddSingleton<IPasswordHasher<UserRecord>, PasswordHasher<UserRecord>>();
        services.AddOptions<PasswordHasherOptions>().Configure<IOptions<AuthOptions>>((o, auth) => o.IterationCount = auth.Value.PasswordIterations);
        services.AddAuthentication(JwtBearerDefaults.AuthenticationScheme).AddJwtBearer();
        services.AddSingleton<ValidatedTokens>();
        services.AddOptions<JwtBearerOptions>(JwtBearerDefaults.AuthenticationScheme).Configure<SigningKeys, IOptions<AuthOptions>, ValidatedTokens>(ConfigureJwt);
        services.AddAuthorization();
        services.AddSingleton<IUserIdProvider, SubjectUserIdProvider>();

        services.AddRateLimiter(o =>
        {
            o.AddPolicy(AuthEndpoints.RateLimitPolicy, context => RateLimitPartition.GetFixedWindowLimiter(
                context.Connection.RemoteIpAddress?.ToString() ?? "unknown",
                _ => new FixedWindowRateLimiterOptions
                {
                    PermitLimit = context.RequestServices.GetRequiredService<IOptions<RateLimitOptions>>().Value.AuthPerMinute,
                    Window = TimeSpan.FromMinutes(1),
                    QueueLimit = 0,
                }));
            o.OnRejected = (context, _) =>
            {
                var retryAfter = context.Lease.TryGetMetadata(MetadataName.RetryAfter, out var wait) ? wait : TimeSpan.FromSeconds(60);
                return new ValueTask(Problems.WriteAsync(context.HttpContext, Errors.RateLimited(retryAfter)));
            };
        });
        return builder;
    }

    private static void ConfigureJwt(JwtBearerOptions jwt, SigningKeys keys, IOptions<AuthOptions> auth, ValidatedTokens handler)
    {
        handler.MapInboundClaims = false;
        jwt.TokenHandlers.Clear();
        jwt.TokenHandlers.Add(handler);
        jwt.MapInboundClaims = false;
        // Nothing reads the token back from the authentication properties (it is on by default), and a realtime
        // connection would hold that copy of it for its whole life.
        jwt.SaveToken = false;
        jwt.TokenValidationParameters = new TokenValidationParameters
        {
            ValidIssuer = auth.Value.Issuer,
            ValidAudience = auth.Value.Audience,
            IssuerSigningKeys = keys.ValidationKeys,
            ValidAlgorithms = [SecurityAlgorithms.RsaSha256],
            ClockSkew = TimeSpan.FromSeconds(30),
            NameClaimType = "sub",
        };
        jwt.Events = new JwtBearerEvents
        {
            OnMessageReceived = context =>
            {
                // Browsers cannot set headers on WebSockets; the hub takes the token from the query string.
                var token = context.Request.Query["access_token"];
                if (!string.IsNullOrEmpty(token) && context.HttpContext.Request.Path.StartsWithSegments("/hubs", StringComparison.Ordinal))
                {
                    context.Token = token;
                }

                return Task.CompletedTask;
            },
            OnTokenValidated = async context =>
            {
                await KnownUsers.OnTokenValidated(context);
                // A realtime connection holds its principal for its whole life: only what the hub reads.
                HubPrincipal.OnTokenValidated(context, "/hubs");
            },
            OnChallenge = async context =>
            {
                context.HandleResponse();
                var reason = context.AuthenticateFailure switch
                {
                    SecurityTokenExpiredException => "The access token has expired",
                    { Message: KnownUsers.UnknownAccount } => KnownUsers.UnknownAccount,
                    _ => null,
                };
                await Problems.WriteAsync(context.HttpContext, Errors.Unauthenticated(reason));
            },
        };
    }
}
