using System.Net;
using System.Net.Http.Headers;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Options;
using Parley.Server.Tests.Infrastructure;

namespace Parley.Server.Tests;

/// <summary>A server that offers every SignalR transport, so the ownership check is proven on each.</summary>
public sealed class AllTransportsServer : IAsyncLifetime
{
    public TestServer Server { get; private set; } = null!;

    public async Task InitializeAsync() => Server = await TestServer.StartAsync(new Dictionary<string, string?>
    {
        ["Parley:Realtime:Transports"] = "WebSockets, ServerSentEvents, LongPolling",
    });

    public async Task DisposeAsync() => await Server.DisposeAsync();
}

public sealed class HubConnectionHijackTests(AllTransportsServer fixture) : IClassFixture<AllTransportsServer>
{
    private const char Separator = '\u001e';

    [Theory]
    [InlineData("LongPolling")]
    [InlineData("ServerSentEvents")]
    [InlineData("WebSockets")]
    public async Task Another_user_holding_a_connection_token_can_neither_take_read_nor_post_into_that_connection(string transport)
    {
        var server = fixture.Server;
        using var client = server.Client();
        var alice = await client.SignUpAsync("alice");
        var bob = await client.SignUpAsync("bob");
        var carol = await client.SignUpAsync("carol");
        var group = await client.GroupAsync(alice, "no bob here", carol.UserId);

        var negotiated = await NegotiateAsync(client, alice);
        Assert.Contains(transport, negotiated.Transports);
        var token = negotiated.Token;
        var hub = $"/hubs/chat?id={Uri.EscapeDataString(token)}";

        // Bob tries to be the first to open the connection Alice negotiated.
        if (transport == "WebSockets")
        {
            Assert.InRange(await WebSocketStatusAsync(server, bob, token), 400, 499);
        }
        else
        {
            using var take = await GetAsync(client, hub, bob, sse: transport == "ServerSentEvents");
            Assert.InRange((int)take.StatusCode, 400, 499);
        }

        // Alice opens it and completes the SignalR handshake.
        var handshake = """{"protocol":"json","version":1}""" + Separator;
        using var socket = new ClientWebSocket();
        HttpResponseMessage? stream = null;
        try
        {
            switch (transport)
            {
                case "WebSockets":
                    socket.Options.SetRequestHeader("Authorization", "Bearer " + alice.AccessToken);
                    await socket.ConnectAsync(WebSocketUri(server, token), CancellationToken.None);
                    await socket.SendAsync(Encoding.UTF8.GetBytes(handshake), WebSocketMessageType.Text, true, CancellationToken.None);
                    var frame = new byte[4096];
                    var received = await socket.ReceiveAsync(frame, CancellationToken.None);
                    // The handshake answer comes first; events the server sends on connect (unreadTotal) may share the frame.
                    Assert.StartsWith("{}" + Separator, Encoding.UTF8.GetString(frame, 0, received.Count), StringComparison.Ordinal);
                    break;
                case "ServerSentEvents":
                    stream = await GetAsync(client, hub, alice, sse: true);
                    Assert.Equal(HttpStatusCode.OK, stream.StatusCode);
                    await PostAsync(client, hub, alice, handshake, HttpStatusCode.OK);
                    break;
                default:
                    using (var first = await GetAsync(client, hub, alice, sse: false))
                    {
                        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
                    }

                    await PostAsync(client, hub, alice, handshake, HttpStatusCode.OK);
                    break;
            }

            // Bob posts an invocation into Alice's connection and polls it for her events.
            var hijack = Invocation(group.Id, "hijack");
            using (var post = await SendAsync(client, HttpMethod.Post, hub, bob, hijack))
            {
                Assert.InRange((int)post.StatusCode, 400, 499);
            }

            using (var poll = await GetAsync(client, hub, bob, sse: false))
            {
                Assert.InRange((int)poll.StatusCode, 400, 499);
                Assert.DoesNotContain("{}" + Separator, await poll.Content.ReadAsStringAsync(), StringComparison.Ordinal);
            }

            // Alice's own invocation on the same connection goes through: invocations on one connection run in
            // order, so once hers is stored anything Bob had slipped in before it would be stored too.
            var marker = Invocation(group.Id, "alice's own");
            if (transport == "WebSockets")
            {
                await socket.SendAsync(Encoding.UTF8.GetBytes(marker), WebSocketMessageType.Text, true, CancellationToken.None);
            }
            else
            {
                await PostAsync(client, hub, alice, marker, HttpStatusCode.OK);
            }

            var stored = await client.WaitForStoredAsync(alice, group.Id, 1);
            var only = Assert.Single(stored);
            Assert.Equal("alice's own", only.Content);
            Assert.Equal(alice.UserId, only.SenderId);
        }
        finally
        {
            stream?.Dispose();
            if (transport == "LongPolling")
            {
                (await SendAsync(client, HttpMethod.Delete, hub, alice, null)).Dispose();
            }
        }
    }

    [Fact]
    public async Task By_default_negotiate_offers_only_websockets()
    {
        await using var server = await TestServer.StartAsync();
        using var client = server.Client();
        var alice = await client.SignUpAsync();

        Assert.Equal(["WebSockets"], (await NegotiateAsync(client, alice)).Transports);
    }

    [Fact]
    public async Task An_unknown_transport_name_stops_the_start_and_names_the_setting()
    {
        var error = await Assert.ThrowsAsync<OptionsValidationException>(() =>
            TestServer.StartAsync(new Dictionary<string, string?> { ["Parley:Realtime:Transports"] = "WebSockets,Carrier pigeon" }));
        Assert.Contains("Parley:Realtime:Transports", error.Message, StringComparison.Ordinal);
    }

    private static string Invocation(Guid conversationId, string content) =>
        JsonSerializer.Serialize(new { type = 1, invocationId = Guid.NewGuid().ToString("N"), target = "SendMessage", arguments = new object[] { new { conversationId, content } } }) + Separator;

    private static async Task<(string Token, List<string> Transports)> NegotiateAsync(ParleyClient client, Session who)
    {
        using var response = await SendAsync(client, HttpMethod.Post, "/hubs/chat/negotiate?negotiateVersion=1", who, null);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var transports = body.RootElement.GetProperty("availableTransports").EnumerateArray().Select(t => t.GetProperty("transport").GetString()!).ToList();
        return (body.RootElement.GetProperty("connectionToken").GetString()!, transports);
    }

    private static Task<HttpResponseMessage> GetAsync(ParleyClient client, string path, Session who, bool sse)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", who.AccessToken);
        if (sse)
        {
            request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        }

        return client.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
    }

    private static Task<HttpResponseMessage> SendAsync(ParleyClient client, HttpMethod method, string path, Session who, string? body)
    {
        var request = new HttpRequestMessage(method, path);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", who.AccessToken);
        if (body is not null)
        {
            request.Content = new StringContent(body, Encoding.UTF8, "text/plain");
        }

        return client.Http.SendAsync(request);
    }

    private static async Task PostAsync(ParleyClient client, string path, Session who, string body, HttpStatusCode expected)
    {
        using var response = await SendAsync(client, HttpMethod.Post, path, who, body);
        Assert.Equal(expected, response.StatusCode);
    }

    private static Uri WebSocketUri(TestServer server, string token) =>
        new(new Uri(server.BaseAddress.ToString().Replace("http://", "ws://", StringComparison.Ordinal)), $"/hubs/chat?id={Uri.EscapeDataString(token)}");

    private static async Task<int> WebSocketStatusAsync(TestServer server, Session who, string token)
    {
        using var socket = new ClientWebSocket();
        socket.Options.CollectHttpResponseDetails = true;
        socket.Options.SetRequestHeader("Authorization", "Bearer " + who.AccessToken);
        try
        {
            await socket.ConnectAsync(WebSocketUri(server, token), CancellationToken.None);
            return (int)HttpStatusCode.SwitchingProtocols;
        }
        catch (WebSocketException)
        {
            return (int)socket.HttpStatusCode;
        }
    }
}
