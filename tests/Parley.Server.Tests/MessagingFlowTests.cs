using Microsoft.AspNetCore.SignalR.Client;
using Parley.Server.Tests.Infrastructure;

namespace Parley.Server.Tests;

[Collection(SharedServerCollection.Name)]
public sealed class EmbeddedMessagingFlowTests(SharedServer fixture) : MessagingFlowTests(fixture.Server);

[Collection(ProductionServerCollection.Name)]
public sealed class ProductionMessagingFlowTests(ProductionServer fixture) : MessagingFlowTests(fixture.Server);

/// <summary>The end-to-end promise over real HTTP and real SignalR clients, written once and run on every engine set.</summary>
public abstract class MessagingFlowTests(TestServer server)
{
    private readonly ParleyClient _client = server.Client();

    [Fact]
    public async Task Two_users_on_three_devices_each_get_every_message_once_in_sequence_order()
    {
        var alice = await _client.SignUpAsync("alice");
        var bob = await _client.SignUpAsync("bob");
        var conversation = await _client.DirectAsync(alice, bob.UserId);
        await using var alicePhone = await _client.ConnectAsync(alice);
        await using var aliceLaptop = await _client.ConnectAsync(alice, messagePack: true);
        await using var bobPhone = await _client.ConnectAsync(bob);

        // Alice sends over REST while Bob sends over the hub, the two streams interleaved; each sender waits for
        // its acknowledgement before its next send, so each sender's order is defined and must be kept.
        async Task AliceSendsAsync()
        {
            for (var i = 0; i < 20; i++)
            {
                await _client.SendAsync(alice, conversation.Id, $"a{i}", $"a{i}");
            }
        }

        async Task BobSendsAsync()
        {
            for (var i = 0; i < 20; i++)
            {
                await bobPhone.Connection.InvokeAsync<Ack>("SendMessage", new { conversationId = conversation.Id, content = $"b{i}", clientMessageId = $"b{i}" });
            }
        }

        await Task.WhenAll(AliceSendsAsync(), BobSendsAsync());

        foreach (var device in new[] { alicePhone, aliceLaptop, bobPhone })
        {
            var got = await device.WaitForMessagesAsync(m => m.Count >= 40);
            Assert.Equal(Enumerable.Range(1, 40).Select(i => (long)i), got.Select(m => m.Sequence));
            Assert.Equal(40, got.Select(m => m.Id).Distinct().Count());
            Assert.All(got, m => Assert.Equal(conversation.Id, m.ConversationId));
        }

        // Each sender's own messages kept their relative order, whichever transport carried them.
        var stored = await _client.AllMessagesAsync(alice, conversation.Id);
        Assert.Equal(Enumerable.Range(0, 20).Select(i => $"a{i}"), stored.Where(m => m.SenderId == alice.UserId).OrderBy(m => m.Sequence).Select(m => m.Content));
        Assert.Equal(Enumerable.Range(0, 20).Select(i => $"b{i}"), stored.Where(m => m.SenderId == bob.UserId).OrderBy(m => m.Sequence).Select(m => m.Content));
        Assert.Equal(alicePhone.Messages.Select(m => m.Id), stored.Select(m => m.Id));
        Assert.Equal(aliceLaptop.Messages.Select(m => m.Content), stored.Select(m => m.Content));
    }

    [Fact]
    public async Task Receipts_unread_counts_and_status_move_from_sent_to_delivered_to_read()
    {
        var alice = await _client.SignUpAsync("alice");
        var bob = await _client.SignUpAsync("bob");
        var conversation = await _client.DirectAsync(alice, bob.UserId);
        await using var aliceDevice = await _client.ConnectAsync(alice);
        await using var bobDevice = await _client.ConnectAsync(bob);

        var acks = new List<Ack>();
        for (var i = 0; i < 5; i++)
        {
            acks.Add(await _client.SendAsync(alice, conversation.Id, $"hello {i}"));
        }

        Assert.All(acks, a => Assert.Equal("pending", a.State));
        var received = await bobDevice.WaitForMessagesAsync(m => m.Count >= 5);
        Assert.Equal(5, received.Count);
        Assert.Equal("sent", (await _client.StatusAsync(alice, acks[4].MessageId)).State);

        var bobList = await _client.ConversationsAsync(bob);
        var summary = Assert.Single(bobList.Items, c => c.Id == conversation.Id);
        Assert.Equal(5, summary.UnreadCount);
        Assert.Equal("hello 4", summary.LastMessage?.Content);
        Assert.Equal(0, Assert.Single((await _client.ConversationsAsync(alice)).Items, c => c.Id == conversation.Id).UnreadCount);

        // Bob's device acknowledges receipt of everything: Alice hears about it.
        var delivered = await bobDevice.Connection.InvokeAsync<Receipt>("AckDelivered", conversation.Id, 5L);
        Assert.Equal(5, delivered.LastDeliveredSequence);
        var receipts = await aliceDevice.WaitForReceiptsAsync(r => r.Any(x => x.State == "delivered"));
        Assert.Contains(receipts, r => r.State == "delivered" && r.UserId == bob.UserId && r.UpToSequence == 5);
        Assert.Equal("delivered", (await _client.StatusAsync(alice, acks[4].MessageId)).State);

        // Bob reads up to 3: 2 stay unread; the status of message 3 is read, of 4 is still delivered.
        var read = await _client.ReadAsync(bob, conversation.Id, 3);
        Assert.Equal(2, read.UnreadCount);
        Assert.Equal("read", (await _client.StatusAsync(alice, acks[2].MessageId)).State);
        Assert.Equal("delivered", (await _client.StatusAsync(alice, acks[3].MessageId)).State);
        await aliceDevice.WaitForReceiptsAsync(r => r.Any(x => x.State == "read" && x.UpToSequence == 3));

        // Reading again, or backwards, changes nothing and sends no new event.
        var receiptCount = aliceDevice.Receipts.Count;
        Assert.Equal(3, (await _client.ReadAsync(bob, conversation.Id, 1)).LastReadSequence);
        Assert.Equal(3, (await _client.ReadAsync(bob, conversation.Id, 3)).LastReadSequence);
        // A real read afterwards is the marker: its receipt arrives after anything the no-op reads could have sent.
        await _client.ReadAsync(bob, conversation.Id, 4);
        await aliceDevice.WaitForReceiptsAsync(r => r.Any(x => x.State == "read" && x.UpToSequence == 4));
        Assert.Equal(receiptCount + 1, aliceDevice.Receipts.Count);
        Assert.Equal(("read", 4L), (aliceDevice.Receipts[^1].State, aliceDevice.Receipts[^1].UpToSequence));

        await _client.ReadAsync(bob, conversation.Id, 5);
        Assert.Equal(0, Assert.Single((await _client.ConversationsAsync(bob)).Items, c => c.Id == conversation.Id).UnreadCount);
        var status = await _client.StatusAsync(bob, acks[4].MessageId);
        Assert.Equal(("read", 1, 1, 1), (status.State, status.RecipientCount, status.DeliveredCount, status.ReadCount));
    }

    [Fact]
    public async Task A_duplicate_send_is_an_idempotent_hit_with_one_stored_row_and_one_delivery()
    {
        var alice = await _client.SignUpAsync("alice");
        var bob = await _client.SignUpAsync("bob");
        var conversation = await _client.DirectAsync(alice, bob.UserId);
        await using var bobDevice = await _client.ConnectAsync(bob);

        var first = await _client.SendAsync(alice, conversation.Id, "only once", "client-1");
        var second = await _client.SendAsync(alice, conversation.Id, "only once", "client-1");
        await _client.WaitForStoredAsync(alice, conversation.Id, 1);
        var third = await _client.SendAsync(alice, conversation.Id, "only once", "client-1");

        Assert.False(first.IdempotentHit);
        Assert.True(second.IdempotentHit);
        Assert.True(third.IdempotentHit);
        Assert.Equal((first.MessageId, first.CorrelationId, first.AcceptedAt, first.IdempotencyKey), (second.MessageId, second.CorrelationId, second.AcceptedAt, second.IdempotencyKey));
        Assert.Equal(first.MessageId, third.MessageId);

        // A marker message proves the pipeline moved past the duplicates before we count.
        await _client.SendAsync(alice, conversation.Id, "marker");
        var stored = await _client.WaitForStoredAsync(alice, conversation.Id, 2);
        Assert.Equal(["only once", "marker"], stored.Select(m => m.Content));
        var live = await bobDevice.WaitForMessagesAsync(m => m.Count >= 2);
        Assert.Equal(["only once", "marker"], live.Select(m => m.Content));
    }

    [Fact]
    public async Task The_same_content_without_a_client_id_is_folded_within_one_second_only()
    {
        var alice = await _client.SignUpAsync("alice");
        var bob = await _client.SignUpAsync("bob");
        var conversation = await _client.DirectAsync(alice, bob.UserId);

        var first = await _client.SendAsync(alice, conversation.Id, "double tap");
        var second = await _client.SendAsync(alice, conversation.Id, "double tap");
        Assert.StartsWith("h:", first.IdempotencyKey, StringComparison.Ordinal);

        // The window is the wall-clock second: same second ⇔ folded (a hit carries the first send's time).
        Assert.Equal(first.AcceptedAt.ToUnixTimeSeconds() == second.AcceptedAt.ToUnixTimeSeconds(), second.IdempotentHit);
        if (second.IdempotentHit)
        {
            Assert.Equal(first.MessageId, second.MessageId);
        }

        // Waits for the clock to enter the next second (the machine's clock is the server's): a condition, not a guess.
        await Eventually.TrueAsync(() => DateTimeOffset.UtcNow.ToUnixTimeSeconds() > first.AcceptedAt.ToUnixTimeSeconds(), "the next wall-clock second", TimeSpan.FromSeconds(5));
        var later = await _client.SendAsync(alice, conversation.Id, "double tap");
        Assert.False(later.IdempotentHit);
        Assert.NotEqual(first.MessageId, later.MessageId);
    }

    [Fact]
    public async Task A_group_message_reaches_every_members_devices_and_the_senders_other_device()
    {
        var owner = await _client.SignUpAsync("owner");
        var members = new[] { await _client.SignUpAsync("m"), await _client.SignUpAsync("m"), await _client.SignUpAsync("m") };
        var group = await _client.GroupAsync(owner, "Team", [.. members.Select(m => m.UserId)]);
        Assert.Equal("group", group.Type);
        Assert.Equal(4, group.MemberIds.Count);

        await using var ownerOther = await _client.ConnectAsync(owner);
        var devices = new List<Device>();
        foreach (var member in members)
        {
            devices.Add(await _client.ConnectAsync(member));
        }

        var outsider = await _client.SignUpAsync("outsider");
        await using var outsiderDevice = await _client.ConnectAsync(outsider);

        await _client.SendAsync(owner, group.Id, "hello team");
        foreach (var device in devices.Append(ownerOther))
        {
            var got = await device.WaitForMessagesAsync(m => m.Count >= 1);
            Assert.Equal("hello team", Assert.Single(got).Content);
        }

        // Every member has the message, so its fan-out is done; a later message to the outsider is the marker
        // that anything the outsider could have been sent has arrived.
        var direct = await _client.DirectAsync(owner, outsider.UserId);
        await _client.SendAsync(owner, direct.Id, "marker");
        var outsiderGot = await outsiderDevice.WaitForMessagesAsync(m => m.Count >= 1);
        Assert.Equal("marker", Assert.Single(outsiderGot).Content);
        foreach (var device in devices)
        {
            await device.DisposeAsync();
        }
    }

    [Fact]
    public async Task History_pages_are_stable_cursors_over_sequence()
    {
        var alice = await _client.SignUpAsync("alice");
        var bob = await _client.SignUpAsync("bob");
        var conversation = await _client.DirectAsync(alice, bob.UserId);
        for (var i = 1; i <= 12; i++)
        {
            await _client.SendAsync(alice, conversation.Id, $"m{i}", $"m{i}");
        }

        await _client.WaitForStoredAsync(bob, conversation.Id, 12);

        var newest = await _client.HistoryAsync(bob, conversation.Id, "?limit=5");
        Assert.Equal([8L, 9, 10, 11, 12], newest.Items.Select(m => m.Sequence));
        Assert.True(newest.HasMore);
        Assert.Equal(8, newest.NextBefore);
        var older = await _client.HistoryAsync(bob, conversation.Id, $"?limit=5&before={newest.NextBefore}");
        Assert.Equal([3L, 4, 5, 6, 7], older.Items.Select(m => m.Sequence));
        var since = await _client.HistoryAsync(bob, conversation.Id, "?after=10");
        Assert.Equal([11L, 12], since.Items.Select(m => m.Sequence));
        Assert.False(since.HasMore);
        Assert.Null(since.NextAfter);
    }

    [Fact]
    public async Task A_refresh_token_yields_a_working_access_token_once()
    {
        var alice = await _client.SignUpAsync("alice");
        var refreshed = await _client.OkAsync<System.Text.Json.JsonElement>(HttpMethod.Post, "/api/v1/auth/refresh", null, new { refreshToken = alice.RefreshToken });
        var session = alice with { AccessToken = refreshed.GetProperty("accessToken").GetString()! };

        var me = await _client.OkAsync<System.Text.Json.JsonElement>(HttpMethod.Get, "/api/v1/users/me", session);
        Assert.Equal(alice.UserId, me.GetProperty("userId").GetGuid());
        using var again = await _client.SendRawAsync(HttpMethod.Post, "/api/v1/auth/refresh", null, $$"""{"refreshToken":"{{alice.RefreshToken}}"}""");
        await ProblemAssert.IsAsync(again, System.Net.HttpStatusCode.Unauthorized, "INVALID_REFRESH_TOKEN");
    }

    [Fact]
    public async Task Metadata_arrives_as_the_same_json_text_over_rest_json_and_messagepack()
    {
        var alice = await _client.SignUpAsync("alice");
        var bob = await _client.SignUpAsync("bob");
        var conversation = await _client.DirectAsync(alice, bob.UserId);
        await using var json = await _client.ConnectAsync(bob);
        await using var messagePack = await _client.ConnectAsync(bob, messagePack: true);
        const string metadata = """{"booking":{"id":"b-17","nights":3,"paid":true},"tags":["a","b"],"price":12.5}""";

        using var response = await _client.SendRawAsync(HttpMethod.Post, $"/api/v1/conversations/{conversation.Id}/messages", alice,
            $$"""{"content":"with metadata","type":"booking_update","metadata":{{metadata}}}""");
        Assert.Equal(System.Net.HttpStatusCode.Accepted, response.StatusCode);

        var stored = Assert.Single(await _client.WaitForStoredAsync(bob, conversation.Id, 1));
        var viaJson = Assert.Single(await json.WaitForMessagesAsync(m => m.Count >= 1));
        var viaMessagePack = Assert.Single(await messagePack.WaitForMessagesAsync(m => m.Count >= 1));
        Assert.Equal("booking_update", stored.Type);
        Assert.Equal(metadata, Assert.IsType<System.Text.Json.JsonElement>(stored.Metadata).GetRawText());
        Assert.Equal(metadata, Assert.IsType<System.Text.Json.JsonElement>(viaJson.Metadata).GetRawText());
        // MessagePack has no type for every JSON number, so its clients get the object's JSON text (docs/realtime.md).
        Assert.Equal(metadata, Assert.IsType<string>(viaMessagePack.Metadata));
    }
}
