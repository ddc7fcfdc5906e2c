using System.Net;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Parley.Core.Messaging;
using Parley.Core.Ports;
using Parley.Server.Tests.Infrastructure;
using Parley.Sqlite;

namespace Parley.Server.Tests;

public sealed class SecurityHeadersTests
{
    private static readonly Guid Explodes = Guid.Parse("5e5e5e5e-0000-4000-8000-000000000500");

    [Fact]
    public async Task Error_responses_and_health_endpoints_carry_the_security_headers_too()
    {
        await using var server = await TestServer.StartAsync(
            new Dictionary<string, string?> { ["Parley:RateLimits:AuthPerMinute"] = "8" },
            services: s => s.AddSingleton<IMessageStore>(sp => new ExplodingStatusStore(sp.GetRequiredService<SqliteMessageStore>())));
        using var client = server.Client();
        var alice = await client.SignUpAsync();
        var bob = await client.SignUpAsync();
        var carol = await client.SignUpAsync();
        var conversation = await client.DirectAsync(alice, bob.UserId);
        var seen = new Dictionary<int, string>();

        async Task CheckAsync(HttpStatusCode expected, HttpResponseMessage response, string what)
        {
            using (response)
            {
                Assert.True(expected == response.StatusCode, $"{what}: expected {(int)expected}, got {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
                AssertHeaders(response, what);
                seen[(int)expected] = what;
            }
        }

        await CheckAsync(HttpStatusCode.OK, await client.SendRawAsync(HttpMethod.Get, "/api/v1/users/me", alice), "GET /users/me");
        await CheckAsync(HttpStatusCode.Created, await client.SendRawAsync(HttpMethod.Post, "/api/v1/conversations", alice, $$"""{"type":"group","title":"t","memberIds":["{{bob.UserId}}"]}"""), "create conversation");
        await CheckAsync(HttpStatusCode.Accepted, await client.SendRawAsync(HttpMethod.Post, $"/api/v1/conversations/{conversation.Id}/messages", alice, """{"content":"hi"}"""), "send");
        await CheckAsync(HttpStatusCode.BadRequest, await client.SendRawAsync(HttpMethod.Post, $"/api/v1/conversations/{conversation.Id}/messages", alice, "{not json"), "bad json");
        await CheckAsync(HttpStatusCode.Unauthorized, await client.SendRawAsync(HttpMethod.Get, "/api/v1/users/me", null), "no token");
        await CheckAsync(HttpStatusCode.Forbidden, await client.SendRawAsync(HttpMethod.Get, $"/api/v1/conversations/{conversation.Id}/messages", carol), "not a member");
        await CheckAsync(HttpStatusCode.NotFound, await client.SendRawAsync(HttpMethod.Get, "/api/v1/nowhere", alice), "unknown route");
        await CheckAsync(HttpStatusCode.MethodNotAllowed, await client.SendRawAsync(HttpMethod.Delete, "/api/v1/users/me", alice), "wrong method");
        await CheckAsync(HttpStatusCode.RequestEntityTooLarge, await client.SendRawAsync(HttpMethod.Post, $"/api/v1/conversations/{conversation.Id}/messages", alice,
            $$"""{"content":"{{new string('x', 200 * 1024)}}"}"""), "oversized body");
        await CheckAsync(HttpStatusCode.UnsupportedMediaType, await client.SendRawAsync(HttpMethod.Post, $"/api/v1/conversations/{conversation.Id}/messages", alice, "hi", "text/plain"), "wrong content type");
        await CheckAsync(HttpStatusCode.InternalServerError, await client.SendRawAsync(HttpMethod.Get, $"/api/v1/messages/{Explodes}/status", alice), "store throws");
        foreach (var path in new[] { "/health/live", "/health/ready", "/metrics", "/openapi/v1.json" })
        {
            await CheckAsync(HttpStatusCode.OK, await client.Http.GetAsync(path), path);
        }

        // The auth limiter allows 8 a minute and the sign-ups used 6: a few more logins must hit it.
        HttpResponseMessage? limited = null;
        for (var i = 0; i < 10 && limited is null; i++)
        {
            var response = await client.Http.PostAsync("/api/v1/auth/login", new StringContent("""{"username":"nobody","password":"wrong password"}""", Encoding.UTF8, "application/json"));
            if (response.StatusCode == HttpStatusCode.TooManyRequests)
            {
                limited = response;
            }
            else
            {
                AssertHeaders(response, "login");
                response.Dispose();
            }
        }

        Assert.NotNull(limited);
        await CheckAsync(HttpStatusCode.TooManyRequests, limited, "auth rate limit");

        Assert.Equal([200, 201, 202, 400, 401, 403, 404, 405, 413, 415, 429, 500], seen.Keys.Order());
    }

    private static void AssertHeaders(HttpResponseMessage response, string what)
    {
        Assert.True(response.Headers.TryGetValues("X-Content-Type-Options", out var nosniff) && nosniff.Single() == "nosniff", $"{what}: X-Content-Type-Options");
        Assert.True(response.Headers.TryGetValues("X-Frame-Options", out var frame) && frame.Single() == "DENY", $"{what}: X-Frame-Options");
        Assert.True(response.Headers.TryGetValues("Referrer-Policy", out var referrer) && referrer.Single() == "no-referrer", $"{what}: Referrer-Policy");
    }

    /// <summary>The real store, except that one message id's status lookup fails unexpectedly.</summary>
    private sealed class ExplodingStatusStore(IMessageStore inner) : DelegatingMessageStore(inner)
    {
        public override Task<MessageStatusRecord?> GetMessageStatusAsync(Guid messageId, CancellationToken cancellationToken) =>
            messageId == Explodes ? throw new InvalidOperationException("unexpected store failure") : base.GetMessageStatusAsync(messageId, cancellationToken);
    }
}
