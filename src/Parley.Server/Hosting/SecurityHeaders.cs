namespace Parley.Server.Hosting;

/// <summary>The headers docs/api.md promises on every response, errors and health included.</summary>
public static class SecurityHeaders
{
    /// <summary>
    /// Must run first. The headers are set when the response starts, not when the request arrives: error paths
    /// (<see cref="Http.Problems"/>, the rate limiter, status-code pages) clear the response before writing, and
    /// whatever they cleared would be lost.
    /// </summary>
    public static IApplicationBuilder UseSecurityHeaders(this IApplicationBuilder app) => app.Use(static (context, next) =>
    {
        context.Response.OnStarting(static state =>
        {
            var headers = ((HttpResponse)state).Headers;
            headers.XContentTypeOptions = "nosniff";
            headers.XFrameOptions = "DENY";
            headers["Referrer-Policy"] = "no-referrer";
            return Task.CompletedTask;
        }, context.Response);
        return next(context);
    });
}
