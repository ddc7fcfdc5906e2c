using System.Collections.Concurrent;
using System.Net;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR.Client;
using Parley.Server.Tests.Infrastructure;

namespace Parley.Server.Tests;

[Collection(SharedServerCollection.Name)]
public sealed class EmbeddedHistoryUnreadAndResendTests(SharedServer fixture) : HistoryUnreadAndResendTests(fixture.Server);

[Collection(ProductionServerCollection.Name)]
public sealed class ProductionHistoryUnreadAndResendTests(ProductionServer fixture) : HistoryUnreadAndResendTests(fixture.Server);

public sealed record UnreadTotal(long Total, int Conversations);

/// <summary>History around a message (M10), the unread total (M11) and a resend's ack (P3), end to end on both engine sets.</summary>
public abstract class HistoryUnreadAndResendTests(TestServer server)
{
    private readonly ParleyClient _client = server.Client();

    [Fact]
    public async Task Idempotent_hit_returns_the_current_state_not_pending()
    {
        var alice = await _client.SignUpAsync("alice");
        var bob = await _client.SignUpAsync("bob");
        var conversation = await _client.DirectAsync(alice, bob.UserId);
        var first = await _client.SendAsync(alice, conversation.Id, "hello", "retry-me");
        Assert.Equal("pending", first.State);
        Assert.Single(await _client.WaitForStoredAsync(bob, conversation.Id, 1));
        await _client.ReadAsync(bob, conversation.Id, 1);

        var resent = await _client.SendAsync(alice, conversation.Id, "hello", "retry-me");

        Assert.True(resent.IdempotentHit);
        Assert.Equal(first.MessageId, resent.MessageId);
        Assert.Equal("read", resent.State);
        Assert.Equal("read", (await _client.StatusAsync(alice, resent.MessageId)).State);
    }

    [Fact]
    public async Task History_around_a_message_centres_the_page_and_its_cursors_walk_both_ways()
    {
        var alice = await _client.SignUpAsync("alice");
        var bob = await _client.SignUpAsync("bob");
        var conversation = await _client.DirectAsync(alice, bob.UserId);
        for (var i = 1; i <= 12; i++)
        {
            await _client.SendAsync(alice, conversation.Id, $"m{i}");
        }

        var all = await _client.WaitForStoredAsync(alice, conversation.Id, 12);
        var sixth = all.Single(m => m.Sequence == 6);

        var byId = await _client.HistoryAsync(bob, conversation.Id, $"?aroundMessageId={sixth.Id}&limit=5");
        Assert.Equal([4L, 5, 6, 7, 8], byId.Items.Select(m => m.Sequence));
        Assert.Equal((true, 4L, 8L), (byId.HasMore, byId.NextBefore, byId.NextAfter));
        var bySequence = await _client.HistoryAsync(bob, conversation.Id, "?around=6&limit=5");
        Assert.Equal(byId.Items.Select(m => m.Id), bySequence.Items.Select(m => m.Id));

        var older = await _client.HistoryAsync(bob, conversation.Id, $"?before={byId.NextBefore}&limit=5");
        Assert.Equal([1L, 2, 3], older.Items.Select(m => m.Sequence));
        var newer = await _client.HistoryAsync(bob, conversation.Id, $"?after={byId.NextAfter}&limit=5");
        Assert.Equal([9L, 10, 11, 12], newer.Items.Select(m => m.Sequence));

        var atTheEnd = await _client.HistoryAsync(bob, conversation.Id, "?around=12&limit=5");
        Assert.Equal([10L, 11, 12], atTheEnd.Items.Select(m => m.Sequence));
        Assert.Equal((true, 10L, (long?)null), (atTheEnd.HasMore, atTheEnd.NextBefore, atTheEnd.NextAfter));
    }

    [Fact]
    public async Task History_around_refuses_bounds_and_unknown_or_foreign_messages()
    {
        var alice = await _client.SignUpAsync("alice");
        var bob = await _client.SignUpAsync("bob");
        var carol = await _client.SignUpAsync("carol");
        var conversation = await _client.DirectAsync(alice, bob.UserId);
        var elsewhere = await _client.DirectAsync(alice, carol.UserId);
        await _client.SendAsync(alice, conversation.Id, "here");
        await _client.SendAsync(alice, elsewhere.Id, "there");
        var foreign = Assert.Single(await _client.WaitForStoredAsync(alice, elsewhere.Id, 1));
        var path = $"/api/v1/conversations/{conversation.Id}/messages";

        await ExpectAsync($"{path}?around=1&before=5", HttpStatusCode.BadRequest, "INVALID_FIELD_VALUE");
        await ExpectAsync($"{path}?aroundMessageId={foreign.Id}&after=0", HttpStatusCode.BadRequest, "INVALID_FIELD_VALUE");
        await ExpectAsync($"{path}?around=1&aroundMessageId={foreign.Id}", HttpStatusCode.BadRequest, "INVALID_FIELD_VALUE");
        await ExpectAsync($"{path}?aroundMessageId=not-a-uuid", HttpStatusCode.BadRequest, "INVALID_FIELD_VALUE");
        await ExpectAsync($"{path}?around=0", HttpStatusCode.BadRequest, "INVALID_FIELD_VALUE");
        await ExpectAsync($"{path}?around=x", HttpStatusCode.BadRequest, "INVALID_FIELD_TYPE");
        await ExpectAsync($"{path}?aroundMessageId={Guid.NewGuid()}", HttpStatusCode.NotFound, "MESSAGE_NOT_FOUND");
        // Alice may see that message in its own conversation, but it is not part of this one.
        await ExpectAsync($"{path}?aroundMessageId={foreign.Id}", HttpStatusCode.NotFound, "MESSAGE_NOT_FOUND");

        async Task ExpectAsync(string url, HttpStatusCode status, string code)
        {
            using var response = await _client.SendRawAsync(HttpMethod.Get, url, alice);
            await ProblemAssert.IsAsync(response, status, code);
        }
    }

    [Fact]
    public async Task Unread_total_sums_every_conversation_over_rest_and_arrives_on_connect()
    {
        var alice = await _client.SignUpAsync("alice");
        var bob = await _client.SignUpAsync("bob");
        var carol = await _client.SignUpAsync("carol");
        var direct = await _client.DirectAsync(alice, bob.UserId);
        var group = await _client.GroupAsync(carol, "team", bob.UserId, alice.UserId);
        await _client.SendAsync(alice, direct.Id, "one");
        await _client.SendAsync(alice, direct.Id, "two");
        await _client.SendAsync(carol, group.Id, "three");
        await _client.WaitForStoredAsync(bob, direct.Id, 2);
        await _client.WaitForStoredAsync(bob, group.Id, 1);

        Assert.Equal(new UnreadTotal(3, 2), await _client.OkAsync<UnreadTotal>(HttpMethod.Get, "/api/v1/users/me/unread", bob));
        Assert.Equal(new UnreadTotal(1, 1), await _client.OkAsync<UnreadTotal>(HttpMethod.Get, "/api/v1/users/me/unread", alice));
        await _client.ReadAsync(bob, direct.Id, 1);
        Assert.Equal(new UnreadTotal(2, 2), await _client.OkAsync<UnreadTotal>(HttpMethod.Get, "/api/v1/users/me/unread", bob));

        var totals = new ConcurrentQueue<UnreadTotal>();
        await using var connection = new HubConnectionBuilder()
            .WithUrl(new Uri(server.BaseAddress, "/hubs/chat"), o =>
            {
                o.AccessTokenProvider = () => Task.FromResult<string?>(bob.AccessToken);
                o.SkipNegotiation = true;
                o.Transports = HttpTransportType.WebSockets;
            })
            .Build();
        connection.On<UnreadTotal>("unreadTotal", totals.Enqueue);
        await connection.StartAsync();

        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (totals.IsEmpty && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }

        Assert.Equal([new UnreadTotal(2, 2)], totals);
    }
}
