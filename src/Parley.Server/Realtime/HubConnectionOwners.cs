using System.Text.Json;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Options;
using Parley.Core.Errors;
using Parley.Server.Auth;
using Parley.Server.Http;

namespace Parley.Server.Realtime;

/// <summary>
/// Binds each hub connection token to the user who negotiated it and refuses every request that presents the token
/// as anyone else. SignalR itself only logs when a later request on a connection carries another user: the
/// Long Polling and Server-Sent Events transports send the token in the URL (so it reaches access logs), and
/// without this any other user could poll that connection's events or post hub invocations into it as its owner.
/// </summary>
public sealed class HubConnectionOwners(RequestDelegate next, IMemoryCache cache)
{
    // Refreshed by every request on the connection. Live Long Polling and SSE clients make one at least every
    // 90 s (poll timeout) or 15 s (keep-alive); an established WebSocket needs none and cannot be re-entered.
    private static readonly TimeSpan Idle = TimeSpan.FromMinutes(5);

    public async Task InvokeAsync(HttpContext context)
    {
        if (!context.Request.Path.StartsWithSegments(ChatHub.Path, out var rest) || context.User.Identity?.IsAuthenticated != true)
        {
            await next(context);
            return;
        }

        var me = CurrentUser.Id(context.User);
        if (rest.Equals("/negotiate", StringComparison.OrdinalIgnoreCase))
        {
            await NegotiateAsync(context, me);
            return;
        }

        var token = context.Request.Query["id"].ToString();
        if (token.Length > 0 && (!cache.TryGetValue(Key(token), out Guid owner) || owner != me))
        {
            await Problems.WriteAsync(context, Errors.Forbidden("The hub connection is unknown or was opened by another user"));
            return;
        }

        await next(context);
    }

    private async Task NegotiateAsync(HttpContext context, Guid me)
    {
        // The token is only in the negotiate response: read it on its way out (a few hundred bytes).
        var original = context.Response.Body;
        using var buffer = new MemoryStream();
        context.Response.Body = buffer;
        try
        {
            await next(context);
        }
        finally
        {
            context.Response.Body = original;
        }

        if (context.Response.StatusCode == StatusCodes.Status200OK && buffer.Length > 0)
        {
            using var document = JsonDocument.Parse(buffer.ToArray());
            // Protocol version 0 uses the connection id as the token.
            var root = document.RootElement;
            var token = root.TryGetProperty("connectionToken", out var t) ? t.GetString()
                : root.TryGetProperty("connectionId", out var id) ? id.GetString() : null;
            if (!string.IsNullOrEmpty(token))
            {
                cache.Set(Key(token), me, new MemoryCacheEntryOptions { SlidingExpiration = Idle });
            }
        }

        buffer.Position = 0;
        await buffer.CopyToAsync(original, context.RequestAborted);
    }

    private static (Type, string) Key(string token) => (typeof(HubConnectionOwners), token);
}

public static class HubConnectionOwnersExtensions
{
    /// <summary>After authentication and authorization: needs the caller's identity.</summary>
    public static IApplicationBuilder UseHubConnectionOwners(this IApplicationBuilder app) => app.UseMiddleware<HubConnectionOwners>();
}
