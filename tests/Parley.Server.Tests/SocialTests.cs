using System.Collections.Concurrent;
using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;
using Parley.Server.Tests.Infrastructure;

namespace Parley.Server.Tests;

[Collection(SharedServerCollection.Name)]
public sealed class EmbeddedSocialTests(SharedServer fixture) : SocialTests(fixture.Server);

[Collection(ProductionServerCollection.Name)]
public sealed class ProductionSocialTests(ProductionServer fixture) : SocialTests(fixture.Server);

/// <summary>
/// User search (M2), friends and blocks (M3) end to end on both engine sets: REST answers, the realtime events a real
/// SignalR client receives, and USER_BLOCKED on every path a blocked pair could still talk by.
/// </summary>
public abstract class SocialTests(TestServer server)
{
    private static readonly HttpMethod Get = HttpMethod.Get;
    private static readonly HttpMethod Post = HttpMethod.Post;
    private static readonly HttpMethod Delete = HttpMethod.Delete;
    private readonly ParleyClient _client = server.Client();

    /// <summary>A token no other test's users share: searches on the shared server see only this test's users.</summary>
    private static string Token() => "t" + Guid.NewGuid().ToString("N")[..10];

    private async Task<Session> PersonAsync(string usernamePrefix, string displayName)
    {
        var session = await _client.SignUpAsync(usernamePrefix);
        await _client.OkAsync<JsonElement>(HttpMethod.Patch, "/api/v1/users/me", session, new { displayName });
        return session;
    }

    private async Task<List<JsonElement>> SearchAsync(Session me, string query, string extra = "")
    {
        var page = await _client.OkAsync<JsonElement>(Get, $"/api/v1/users?query={Uri.EscapeDataString(query)}{extra}", me);
        return [.. page.GetProperty("items").EnumerateArray()];
    }

    private static IEnumerable<Guid> Ids(IEnumerable<JsonElement> users) => users.Select(u => u.GetProperty("userId").GetGuid());

    private async Task ExpectAsync(HttpMethod method, string path, Session session, object? body, HttpStatusCode status, string code)
    {
        using var response = await _client.SendRawAsync(method, path, session, body is null ? null : JsonSerializer.Serialize(body));
        await ProblemAssert.IsAsync(response, status, code);
    }

    private async Task<HttpStatusCode> StatusAsync(HttpMethod method, string path, Session session, object? body = null)
    {
        using var response = await _client.SendRawAsync(method, path, session, body is null ? null : JsonSerializer.Serialize(body));
        return response.StatusCode;
    }

    private Task<JsonElement> RequestAsync(Session from, Session to, HttpStatusCode expected = HttpStatusCode.Created) =>
        _client.OkAsync<JsonElement>(Post, "/api/v1/friends/requests", from, new { userId = to.UserId }, expected);

    private async Task<List<Guid>> FriendsAsync(Session me) =>
        [.. (await _client.OkAsync<JsonElement>(Get, "/api/v1/friends", me)).GetProperty("items").EnumerateArray().Select(f => f.GetProperty("user").GetProperty("userId").GetGuid())];

    [Fact]
    public async Task Search_finds_prefixes_of_usernames_and_display_names_whatever_the_case_and_accents_pages_and_shows_an_email_only_to_its_exact_search()
    {
        var token = Token();
        var me = await PersonAsync("q" + token, $"Ñandú {token} Me");
        var one = await PersonAsync("q" + token, $"Ñandú {token} Uno");
        var two = await PersonAsync("q" + token, $"nandu {token} Dos");
        var three = await PersonAsync("q" + token, $"NANDÚ {token} Tres");
        var others = new[] { one.UserId, two.UserId, three.UserId }.Order().ToList();

        // Display-name prefixes in any case and with or without accents; never the caller.
        Assert.Equal(others, Ids(await SearchAsync(me, $"nandu {token}")).Order());
        Assert.Equal(others, Ids(await SearchAsync(me, $"ÑANDU {token.ToUpperInvariant()}")).Order());
        Assert.Equal([two.UserId], Ids(await SearchAsync(me, $"nandú {token} d")));
        // Username prefixes, in any case.
        Assert.Equal(others, Ids(await SearchAsync(me, "Q" + token.ToUpperInvariant())).Order());

        // Pages by username: limit 2, then the rest, then no cursor.
        var first = await _client.OkAsync<JsonElement>(Get, $"/api/v1/users?query=q{token}&limit=2", me);
        var cursor = first.GetProperty("nextCursor").GetString();
        var rest = await _client.OkAsync<JsonElement>(Get, $"/api/v1/users?query=q{token}&limit=2&cursor={cursor}", me);
        Assert.Equal(JsonValueKind.Null, rest.GetProperty("nextCursor").ValueKind);
        var paged = Ids(first.GetProperty("items").EnumerateArray()).Concat(Ids(rest.GetProperty("items").EnumerateArray())).ToList();
        Assert.Equal(others, paged.Order());
        Assert.Equal(3, paged.Distinct().Count());

        // An exact address, in any case, finds its owner with the address; nothing else ever shows it.
        var mail = $"Nandu.{token}@Example.com";
        await _client.OkAsync<JsonElement>(HttpMethod.Patch, "/api/v1/users/me", one, new { email = mail });
        var found = Assert.Single(await SearchAsync(me, mail.ToUpperInvariant()));
        Assert.Equal((one.UserId, mail), (found.GetProperty("userId").GetGuid(), found.GetProperty("email").GetString()));
        Assert.All(await SearchAsync(me, $"nandu {token}"), u => Assert.False(u.TryGetProperty("email", out _)));
        Assert.Empty(await SearchAsync(me, $"nandu.{token}@example"));
    }

    [Fact]
    public async Task Search_leaves_out_users_blocked_either_way()
    {
        var token = Token();
        var me = await PersonAsync("b" + token, $"Blöck {token} me");
        var blocker = await PersonAsync("b" + token, $"Blöck {token} blocker");
        var blocked = await PersonAsync("b" + token, $"Blöck {token} blocked");
        var bystander = await PersonAsync("b" + token, $"Blöck {token} bystander");

        await _client.OkAsync<JsonElement>(Post, "/api/v1/blocks", blocker, new { userId = me.UserId }, HttpStatusCode.Created);
        await _client.OkAsync<JsonElement>(Post, "/api/v1/blocks", me, new { userId = blocked.UserId }, HttpStatusCode.Created);

        Assert.Equal([bystander.UserId], Ids(await SearchAsync(me, $"block {token}")));
        Assert.DoesNotContain(me.UserId, Ids(await SearchAsync(blocker, $"block {token}")));
        Assert.DoesNotContain(me.UserId, Ids(await SearchAsync(blocked, $"block {token}")));
        Assert.Equal(4 - 1, (await SearchAsync(bystander, $"block {token}")).Count);

        Assert.Equal(HttpStatusCode.NoContent, await StatusAsync(Delete, $"/api/v1/blocks/{me.UserId}", blocker));
        Assert.Contains(blocker.UserId, Ids(await SearchAsync(me, $"block {token}")));
    }

    [Fact]
    public async Task The_friend_request_lifecycle_answers_each_side_and_tells_the_other_in_real_time()
    {
        var alice = await _client.SignUpAsync("fa");
        var bob = await _client.SignUpAsync("fb");
        var stranger = await _client.SignUpAsync("fs");
        await using var aliceDevice = await _client.ConnectAsync(alice);
        await using var bobDevice = await _client.ConnectAsync(bob);
        var toAlice = Record(aliceDevice.Connection);
        var toBob = Record(bobDevice.Connection);

        // Sent: 201 to the sender, friendRequest (from alice) to bob; sending again returns the same pending request.
        var sent = await RequestAsync(alice, bob);
        Assert.Equal(("pending", bob.UserId), (sent.GetProperty("status").GetString(), sent.GetProperty("user").GetProperty("userId").GetGuid()));
        var id = sent.GetProperty("id").GetGuid();
        var told = await WaitForAsync(toBob, "friendRequest", id);
        Assert.Equal(alice.UserId, told.GetProperty("user").GetProperty("userId").GetGuid());
        Assert.Equal(id, (await RequestAsync(alice, bob, HttpStatusCode.OK)).GetProperty("id").GetGuid());

        var incoming = await _client.OkAsync<JsonElement>(Get, "/api/v1/friends/requests", bob);
        Assert.Equal(alice.UserId, Assert.Single(incoming.GetProperty("items").EnumerateArray()).GetProperty("user").GetProperty("userId").GetGuid());
        var outgoing = await _client.OkAsync<JsonElement>(Get, "/api/v1/friends/requests?direction=outgoing", alice);
        Assert.Equal(id, Assert.Single(outgoing.GetProperty("items").EnumerateArray()).GetProperty("id").GetGuid());

        // Nobody but the recipient accepts or declines, nobody but the sender cancels: the others get 404.
        await ExpectAsync(Post, $"/api/v1/friends/requests/{id}/accept", alice, null, HttpStatusCode.NotFound, "FRIEND_REQUEST_NOT_FOUND");
        await ExpectAsync(Post, $"/api/v1/friends/requests/{id}/decline", stranger, null, HttpStatusCode.NotFound, "FRIEND_REQUEST_NOT_FOUND");
        await ExpectAsync(Delete, $"/api/v1/friends/requests/{id}", bob, null, HttpStatusCode.NotFound, "FRIEND_REQUEST_NOT_FOUND");

        var accepted = await _client.OkAsync<JsonElement>(Post, $"/api/v1/friends/requests/{id}/accept", bob);
        Assert.Equal("accepted", accepted.GetProperty("status").GetString());
        Assert.Equal(bob.UserId, (await WaitForAsync(toAlice, "friendRequestAccepted", id)).GetProperty("user").GetProperty("userId").GetGuid());
        Assert.Equal([bob.UserId], await FriendsAsync(alice));
        Assert.Equal([alice.UserId], await FriendsAsync(bob));
        await ExpectAsync(Post, "/api/v1/friends/requests", bob, new { userId = alice.UserId }, HttpStatusCode.Conflict, "ALREADY_FRIENDS");

        // Removed: 204 (again too), friendRemoved to the other side only.
        Assert.Equal(HttpStatusCode.NoContent, await StatusAsync(Delete, $"/api/v1/friends/{alice.UserId}", bob));
        Assert.Equal(HttpStatusCode.NoContent, await StatusAsync(Delete, $"/api/v1/friends/{alice.UserId}", bob));
        await Eventually.TrueAsync(() => toAlice.Any(e => e.Name == "friendRemoved" && e.Payload.GetProperty("userId").GetGuid() == bob.UserId), "friendRemoved to alice");
        Assert.Empty(await FriendsAsync(alice));

        // Declined: friendRequestDeclined to the sender.
        var declined = (await RequestAsync(alice, bob)).GetProperty("id").GetGuid();
        Assert.Equal("declined", (await _client.OkAsync<JsonElement>(Post, $"/api/v1/friends/requests/{declined}/decline", bob)).GetProperty("status").GetString());
        await WaitForAsync(toAlice, "friendRequestDeclined", declined);

        // Cancelled: 204, friendRequestCancelled to the recipient.
        var cancelled = (await RequestAsync(alice, bob)).GetProperty("id").GetGuid();
        Assert.Equal(HttpStatusCode.NoContent, await StatusAsync(Delete, $"/api/v1/friends/requests/{cancelled}", alice));
        await WaitForAsync(toBob, "friendRequestCancelled", cancelled);
        Assert.Empty((await _client.OkAsync<JsonElement>(Get, "/api/v1/friends/requests", bob)).GetProperty("items").EnumerateArray());

        // Asking someone who already asked you accepts their request (200, accepted), and they are told.
        var theirs = (await RequestAsync(bob, alice)).GetProperty("id").GetGuid();
        var mine = await RequestAsync(alice, bob, HttpStatusCode.OK);
        Assert.Equal((theirs, "accepted"), (mine.GetProperty("id").GetGuid(), mine.GetProperty("status").GetString()));
        await WaitForAsync(toBob, "friendRequestAccepted", theirs);
        Assert.Equal([bob.UserId], await FriendsAsync(alice));
    }

    [Fact]
    public async Task Two_users_asking_each_other_at_once_become_friends_once()
    {
        for (var round = 0; round < 5; round++)
        {
            var a = await _client.SignUpAsync("ca");
            var b = await _client.SignUpAsync("cb");
            var statuses = await Task.WhenAll(
                StatusAsync(Post, "/api/v1/friends/requests", a, new { userId = b.UserId }),
                StatusAsync(Post, "/api/v1/friends/requests", b, new { userId = a.UserId }));

            // One request is created, the other accepts it: never two pending rows, never a second friendship.
            Assert.Equal([HttpStatusCode.OK, HttpStatusCode.Created], statuses.Order());
            Assert.Equal([b.UserId], await FriendsAsync(a));
            Assert.Equal([a.UserId], await FriendsAsync(b));
            Assert.Empty((await _client.OkAsync<JsonElement>(Get, "/api/v1/friends/requests?direction=outgoing", a)).GetProperty("items").EnumerateArray());
            Assert.Empty((await _client.OkAsync<JsonElement>(Get, "/api/v1/friends/requests?direction=outgoing", b)).GetProperty("items").EnumerateArray());
        }
    }

    [Fact]
    public async Task A_block_ends_the_friendship_and_stops_requests_direct_conversations_and_sends_both_ways_until_lifted()
    {
        var alice = await _client.SignUpAsync("ba");
        var bob = await _client.SignUpAsync("bb");
        var carol = await _client.SignUpAsync("bc");
        await RequestAsync(alice, bob);
        await RequestAsync(bob, alice, HttpStatusCode.OK);
        var direct = await _client.DirectAsync(alice, bob.UserId);
        var group = await _client.GroupAsync(alice, "team", bob.UserId);
        await using var bobDevice = await _client.ConnectAsync(bob);
        await using var aliceDevice = await _client.ConnectAsync(alice, messagePack: true);
        var toBob = Record(bobDevice.Connection);

        var block = await _client.OkAsync<JsonElement>(Post, "/api/v1/blocks", alice, new { userId = bob.UserId }, HttpStatusCode.Created);
        Assert.Equal(bob.UserId, block.GetProperty("user").GetProperty("userId").GetGuid());
        var again = await _client.OkAsync<JsonElement>(Post, "/api/v1/blocks", alice, new { userId = bob.UserId });
        Assert.Equal(block.GetProperty("blockedAt").GetDateTimeOffset(), again.GetProperty("blockedAt").GetDateTimeOffset());
        Assert.Equal(bob.UserId, Assert.Single((await _client.OkAsync<JsonElement>(Get, "/api/v1/blocks", alice)).GetProperty("items").EnumerateArray())
            .GetProperty("user").GetProperty("userId").GetGuid());
        Assert.Empty((await _client.OkAsync<JsonElement>(Get, "/api/v1/blocks", bob)).GetProperty("items").EnumerateArray());
        Assert.Empty(await FriendsAsync(alice));
        Assert.Empty(await FriendsAsync(bob));

        foreach (var (from, to) in new[] { (alice, bob), (bob, alice) })
        {
            await ExpectAsync(Post, $"/api/v1/conversations/{direct.Id}/messages", from, new { content = "hi" }, HttpStatusCode.Conflict, "USER_BLOCKED");
            await ExpectAsync(Post, "/api/v1/conversations", from, new { type = "direct", memberIds = new[] { to.UserId } }, HttpStatusCode.Conflict, "USER_BLOCKED");
            await ExpectAsync(Post, "/api/v1/friends/requests", from, new { userId = to.UserId }, HttpStatusCode.Conflict, "USER_BLOCKED");
        }

        foreach (var device in new[] { aliceDevice, bobDevice })
        {
            var error = await Assert.ThrowsAsync<HubException>(() => device.Connection.InvokeAsync<Ack>("SendMessage", new { ConversationId = direct.Id, Content = "hi" }));
            Assert.Contains("HubException: USER_BLOCKED: ", error.Message, StringComparison.Ordinal);
        }

        // Groups are not the block's business.
        Assert.Equal("pending", (await _client.SendAsync(bob, group.Id, "still in the team")).State);

        // The blocked user is told nothing: a later event reaches bob, and no friendRemoved came before it.
        var marker = (await RequestAsync(carol, bob)).GetProperty("id").GetGuid();
        await WaitForAsync(toBob, "friendRequest", marker);
        Assert.DoesNotContain(toBob, e => e.Name == "friendRemoved");

        // Lifted: everything works again at once on this node.
        Assert.Equal(HttpStatusCode.NoContent, await StatusAsync(Delete, $"/api/v1/blocks/{bob.UserId}", alice));
        Assert.Equal(HttpStatusCode.NoContent, await StatusAsync(Delete, $"/api/v1/blocks/{bob.UserId}", alice));
        Assert.Equal("pending", (await _client.SendAsync(alice, direct.Id, "hello again")).State);
        Assert.Equal("pending", (await bobDevice.Connection.InvokeAsync<Ack>("SendMessage", new { ConversationId = direct.Id, Content = "hi" })).State);
        Assert.Equal(direct.Id, (await _client.OkAsync<Conversation>(Post, "/api/v1/conversations", bob, new { type = "direct", memberIds = new[] { alice.UserId } })).Id);
    }

    private sealed record Received(string Name, JsonElement Payload);

    private static readonly string[] FriendEvents = ["friendRequest", "friendRequestAccepted", "friendRequestDeclined", "friendRequestCancelled", "friendRemoved"];

    private static ConcurrentQueue<Received> Record(HubConnection connection)
    {
        var received = new ConcurrentQueue<Received>();
        foreach (var name in FriendEvents)
        {
            connection.On<JsonElement>(name, payload => received.Enqueue(new Received(name, payload)));
        }

        return received;
    }

    private static async Task<JsonElement> WaitForAsync(ConcurrentQueue<Received> received, string name, Guid requestId)
    {
        bool Match(Received e) => e.Name == name && e.Payload.GetProperty("id").GetGuid() == requestId;
        await Eventually.TrueAsync(() => received.Any(Match), $"{name} for request {requestId}");
        return received.First(Match).Payload;
    }
}

/// <summary>Parley:Social:DirectRequiresFriendship on: a direct conversation only with a friend.</summary>
public sealed class DirectRequiresFriendshipTests
{
    [Fact]
    public async Task A_direct_conversation_with_a_non_friend_is_refused_and_with_a_friend_created()
    {
        await using var server = await TestServer.StartAsync(new Dictionary<string, string?> { ["Parley:Social:DirectRequiresFriendship"] = "true" });
        using var client = server.Client();
        var alice = await client.SignUpAsync();
        var bob = await client.SignUpAsync();

        using (var refused = await client.SendRawAsync(HttpMethod.Post, "/api/v1/conversations", alice, JsonSerializer.Serialize(new { type = "direct", memberIds = new[] { bob.UserId } })))
        {
            await ProblemAssert.IsAsync(refused, HttpStatusCode.Forbidden, "FRIENDSHIP_REQUIRED");
        }

        Assert.Equal("group", (await client.GroupAsync(alice, "fine", bob.UserId)).Type);
        var id = (await client.OkAsync<JsonElement>(HttpMethod.Post, "/api/v1/friends/requests", alice, new { userId = bob.UserId }, HttpStatusCode.Created)).GetProperty("id").GetGuid();
        await client.OkAsync<JsonElement>(HttpMethod.Post, $"/api/v1/friends/requests/{id}/accept", bob);
        Assert.Equal("direct", (await client.DirectAsync(alice, bob.UserId)).Type);
    }

    [Fact]
    public async Task A_bad_block_cache_ttl_stops_the_start_naming_the_setting()
    {
        var error = await Assert.ThrowsAnyAsync<Exception>(() => TestServer.StartAsync(new Dictionary<string, string?> { ["Parley:Social:BlockCacheTtl"] = "01:00:00" }));
        Assert.Contains("Parley:Social:BlockCacheTtl", error.ToString(), StringComparison.Ordinal);
    }
}

/// <summary>Two production nodes: friend events reach devices on the other node, and a block or unblock made on one node is in force on the other when it returns.</summary>
public sealed class SocialAcrossNodesTests
{
    [Fact]
    public async Task Friend_events_cross_nodes_and_a_block_made_on_one_node_stops_sends_on_the_other_as_soon_as_it_returns()
    {
        // The default cache time (30 s): the other node must not wait it out.
        var settings = await TestEngines.SettingsAsync(TestEngines.Production);
        var shared = Directory.CreateTempSubdirectory("parley-social-").FullName;
        await using var a = await TestServer.StartAsync(settings, shared);
        await using var b = await TestServer.StartAsync(settings, shared);
        using var viaA = a.Client();
        using var viaB = b.Client();
        var alice = await viaA.SignUpAsync();
        var bob = await viaB.SignUpAsync();
        await using var bobOnB = await viaB.ConnectAsync(bob);
        var requests = new ConcurrentQueue<JsonElement>();
        bobOnB.Connection.On<JsonElement>("friendRequest", requests.Enqueue);

        var sent = await viaA.OkAsync<JsonElement>(HttpMethod.Post, "/api/v1/friends/requests", alice, new { userId = bob.UserId }, HttpStatusCode.Created);
        await Eventually.TrueAsync(() => requests.Any(r => r.GetProperty("id").GetGuid() == sent.GetProperty("id").GetGuid()), "friendRequest on the other node");

        var direct = await viaA.DirectAsync(alice, bob.UserId);
        Assert.Equal("pending", (await viaB.SendAsync(bob, direct.Id, "before the block")).State); // node B reads and caches "not blocked"
        for (var round = 0; round < 3; round++)
        {
            await viaA.OkAsync<JsonElement>(HttpMethod.Post, "/api/v1/blocks", alice, new { userId = bob.UserId }, HttpStatusCode.Created);
            await ProblemAssert.IsAsync(await viaB.SendRawAsync(HttpMethod.Post, $"/api/v1/conversations/{direct.Id}/messages", bob, """{"content":"after the block"}"""),
                HttpStatusCode.Conflict, "USER_BLOCKED");

            using (var unblocked = await viaA.SendRawAsync(HttpMethod.Delete, $"/api/v1/blocks/{bob.UserId}", alice))
            {
                Assert.True(unblocked.IsSuccessStatusCode, unblocked.StatusCode.ToString());
            }

            Assert.Equal("pending", (await viaB.SendAsync(bob, direct.Id, $"after the unblock {round}")).State);
        }
    }
}

/// <summary>The block check on the send path while PostgreSQL is down (E3): the last state read stands, and sends are not held up.</summary>
public sealed class SocialStoreOutageTests
{
    [Fact]
    public async Task While_postgres_is_down_a_direct_conversation_keeps_its_last_known_block_state_without_stalling_sends()
    {
        await using var postgres = await Parley.Testing.ExternalServers.StartDedicatedPostgresAsync();
        var settings = await TestEngines.SettingsAsync(TestEngines.Production);
        settings["Parley:Postgres:ConnectionString"] = postgres.ConnectionString;
        settings["Parley:Social:BlockCacheTtl"] = "00:00:00.100";
        await using var server = await TestServer.StartAsync(settings);
        using var client = server.Client();
        var (alice, bob, carol) = (await client.SignUpAsync(), await client.SignUpAsync(), await client.SignUpAsync());
        var open = await client.DirectAsync(alice, bob.UserId);
        var blocked = await client.DirectAsync(alice, carol.UserId);
        await client.OkAsync<JsonElement>(HttpMethod.Post, "/api/v1/blocks", carol, new { userId = alice.UserId }, HttpStatusCode.Created);
        Assert.Equal("pending", (await client.SendAsync(alice, open.Id, "before")).State);
        using (var refused = await client.SendRawAsync(HttpMethod.Post, $"/api/v1/conversations/{blocked.Id}/messages", alice, """{"content":"before"}"""))
        {
            await ProblemAssert.IsAsync(refused, HttpStatusCode.Conflict, "USER_BLOCKED");
        }

        await postgres.StopAsync();
        var started = DateTime.UtcNow;
        for (var i = 0; i < 10; i++)
        {
            Assert.Equal("pending", (await client.SendAsync(alice, open.Id, $"m{i}", $"m{i}")).State);
            using var refused = await client.SendRawAsync(HttpMethod.Post, $"/api/v1/conversations/{blocked.Id}/messages", alice, $$"""{"content":"m{{i}}","clientMessageId":"b{{i}}"}""");
            await ProblemAssert.IsAsync(refused, HttpStatusCode.Conflict, "USER_BLOCKED");
        }

        // Each store read is capped at 500 ms and skipped for 5 s after a failure: 20 sends, well under 20 × 0.5 s.
        var elapsed = DateTime.UtcNow - started;
        Assert.True(elapsed < TimeSpan.FromSeconds(5), $"20 sends took {elapsed.TotalSeconds:0.0} s while the store was down");
        await postgres.StartAsync();
    }
}
