using Microsoft.AspNetCore.Cors.Infrastructure;
using Microsoft.Extensions.Options;
using Parley.Core.Errors;
using Parley.Hosting;

namespace Parley.Server.Http;

/// <summary>Browser origins other than the server's own that may call the API and the hub (<c>Parley:Cors</c>).</summary>
public sealed class ParleyCorsOptions
{
    public const string Section = "Parley:Cors";

    /// <summary>Origins such as <c>https://app.example.com</c>. Empty: no cross-origin access.</summary>
    public string[] AllowedOrigins { get; set; } = [];

    public IEnumerable<string> Validate()
    {
        foreach (var origin in AllowedOrigins)
        {
            if (!Uri.TryCreate(origin, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https")
                || uri.AbsolutePath != "/" || origin.Contains('*', StringComparison.Ordinal) || origin.Contains('#', StringComparison.Ordinal)
                || !string.IsNullOrEmpty(uri.Query) || !string.IsNullOrEmpty(uri.UserInfo))
            {
                yield return $"{Section}:AllowedOrigins entries must be origins such as https://app.example.com (scheme, host and optional port, no path or wildcard); '{origin}' is not.";
            }
        }
    }

    /// <summary>The origins as browsers send them: lower case, no trailing slash, default ports dropped.</summary>
    public IReadOnlyList<string> Normalized() =>
        [.. AllowedOrigins.Select(o => new Uri(o).GetLeftPart(UriPartial.Authority).ToLowerInvariant())];
}

public static class ParleyCors
{
    private const string Policy = "parley";

    public static IServiceCollection AddParleyCors(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddValidatedSettings<ParleyCorsOptions>(configuration, ParleyCorsOptions.Section, o => o.Validate());
        services.AddCors();
        services.AddOptions<CorsOptions>().Configure<IOptions<ParleyCorsOptions>>((cors, parley) => cors.AddPolicy(Policy, policy => policy
            .WithOrigins([.. parley.Value.Normalized()])
            .AllowAnyHeader()
            .AllowAnyMethod()
            // Parley sets no cookies, so credentials grant nothing; but SignalR's JavaScript client negotiates
            // with credentials included by default, and the browser drops the answer unless this is allowed.
            .AllowCredentials()
            .WithExposedHeaders("Retry-After", "Location")
            .SetPreflightMaxAge(TimeSpan.FromMinutes(10))));
        return services;
    }

    /// <summary>
    /// Before the error handler's problems are written: the CORS middleware adds its headers when the response starts,
    /// so a browser on an allowed origin can also read 401s and 429s. WebSockets are outside CORS: the hub refuses
    /// a handshake whose Origin is neither the server's own nor allowed.
    /// </summary>
    public static IApplicationBuilder UseParleyCors(this IApplicationBuilder app)
    {
        var allowed = app.ApplicationServices.GetRequiredService<IOptions<ParleyCorsOptions>>().Value.Normalized().ToHashSet(StringComparer.OrdinalIgnoreCase);
        if (allowed.Count > 0)
        {
            app.UseCors(Policy);
        }

        return app.Use((context, next) =>
        {
            var request = context.Request;
            var origin = request.Headers.Origin.ToString();
            if (origin.Length == 0 || !request.Path.StartsWithSegments("/hubs", StringComparison.OrdinalIgnoreCase)
                || !request.Headers.Upgrade.ToString().Contains("websocket", StringComparison.OrdinalIgnoreCase)
                || allowed.Contains(origin) || SameOrigin(origin, request))
            {
                return next(context);
            }

            return Problems.WriteAsync(context, Errors.Forbidden($"WebSocket connections from origin {origin} are not allowed"));
        });
    }

    private static bool SameOrigin(string origin, HttpRequest request) =>
        Uri.TryCreate(origin, UriKind.Absolute, out var uri) && string.Equals(uri.Authority, request.Host.Value, StringComparison.OrdinalIgnoreCase);
}
