using System.Net;
using System.Net.WebSockets;
using Microsoft.Extensions.DependencyInjection;
using Parley.Server.Auth;
using Parley.Server.Tests.Infrastructure;

namespace Parley.Server.Tests;

[Collection(SharedServerCollection.Name)]
public sealed class EmbeddedUnknownAccountTests(SharedServer fixture) : UnknownAccountTests(fixture.Server);

[Collection(ProductionServerCollection.Name)]
public sealed class ProductionUnknownAccountTests(ProductionServer fixture) : UnknownAccountTests(fixture.Server);

/// <summary>A token signed with the server's own key for an account that does not exist is not a login.</summary>
public abstract class UnknownAccountTests(TestServer server)
{
    [Fact]
    public async Task A_well_signed_token_for_an_account_that_does_not_exist_gets_401_everywhere_not_500()
    {
        using var client = server.Client();
        var alice = await client.SignUpAsync();
        var conversation = await client.DirectAsync(alice, (await client.SignUpAsync()).UserId);
        var token = server.Services.GetRequiredService<TokenService>().CreateAccessToken(Guid.NewGuid(), "ghost");
        var ghost = new Session(Guid.NewGuid(), "ghost", token, "");

        var requests = new (HttpMethod Method, string Path, string? Body)[]
        {
            (HttpMethod.Post, "/api/v1/conversations", $$"""{"type":"direct","memberIds":["{{alice.UserId}}"]}"""),
            (HttpMethod.Get, "/api/v1/conversations", null),
            (HttpMethod.Get, "/api/v1/users/me", null),
            (HttpMethod.Get, $"/api/v1/users/{alice.UserId}", null),
            (HttpMethod.Post, $"/api/v1/conversations/{conversation.Id}/messages", """{"content":"boo"}"""),
            (HttpMethod.Post, "/api/v1/sync", """{"since":"2020-01-01T00:00:00Z"}"""),
            (HttpMethod.Post, "/api/v1/auth/logout", """{"refreshToken":"x"}"""),
            (HttpMethod.Post, "/hubs/chat/negotiate?negotiateVersion=1", null),
        };
        foreach (var (method, path, body) in requests)
        {
            using var response = await client.SendRawAsync(method, path, ghost, body);
            var problem = await ProblemAssert.IsAsync(response, HttpStatusCode.Unauthorized, "UNAUTHENTICATED");
            Assert.Equal(KnownUsers.UnknownAccount, problem.Detail);
        }

        using var socket = new ClientWebSocket();
        socket.Options.CollectHttpResponseDetails = true;
        socket.Options.SetRequestHeader("Authorization", "Bearer " + token);
        var ws = new Uri(new Uri(server.BaseAddress.ToString().Replace("http://", "ws://", StringComparison.Ordinal)), "/hubs/chat");
        await Assert.ThrowsAsync<WebSocketException>(() => socket.ConnectAsync(ws, CancellationToken.None));
        Assert.Equal(HttpStatusCode.Unauthorized, socket.HttpStatusCode);

        // The same key, a real account: accepted.
        var real = server.Services.GetRequiredService<TokenService>().CreateAccessToken(alice.UserId, alice.Username);
        using var me = await client.SendRawAsync(HttpMethod.Get, "/api/v1/users/me", alice with { AccessToken = real });
        Assert.Equal(HttpStatusCode.OK, me.StatusCode);
    }
}
