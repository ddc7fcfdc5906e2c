using System.Net;
using System.Text.Json;
using Parley.Server.Tests.Infrastructure;

namespace Parley.Server.Tests;

[Collection(SharedServerCollection.Name)]
public sealed class EmbeddedDisappearingMessagesTests(SharedServer fixture) : DisappearingMessagesTests(fixture.Server);

[Collection(ProductionServerCollection.Name)]
public sealed class ProductionDisappearingMessagesTests(ProductionServer fixture) : DisappearingMessagesTests(fixture.Server);

/// <summary>
/// Disappearing messages (M8): a message's own <c>expiresAt</c> and the conversation's message TTL. The expiry worker
/// deletes each for everyone through the log within seconds of its time; devices get <c>messageDeleted</c> with
/// <c>expired</c>, history keeps the tombstone, and the unread counts drop.
/// </summary>
public abstract class DisappearingMessagesTests(TestServer server)
{
    private readonly ParleyClient _client = server.Client();

    [Fact]
    public async Task A_message_with_expiresAt_is_deleted_for_everyone_on_time_and_its_unread_count_goes_with_it()
    {
        var (sender, reader) = (await _client.SignUpAsync(), await _client.SignUpAsync());
        var direct = (await _client.DirectAsync(sender, reader.UserId)).Id;
        await using var readerPhone = await EventLog.ConnectAsync(_client, reader);
        var expiresAt = DateTimeOffset.UtcNow.AddSeconds(2);
        var sent = await _client.SendBodyAsync(sender, direct, new { content = "gone soon", expiresAt });
        await _client.SendAsync(sender, direct, "stays");
        await _client.WaitForStoredAsync(reader, direct, 2);
        var view = await _client.MessageViewAsync(reader, direct, 1);
        Assert.Equal(expiresAt.ToUnixTimeMilliseconds(), view.GetProperty("expiresAt").GetDateTimeOffset().ToUnixTimeMilliseconds());
        Assert.Equal(2, await _client.UnreadCountAsync(reader, direct));

        var events = await readerPhone.WaitAsync(e => e.Any(x => x.Name == "messageDeleted"), "the expiry on the reader's device");
        var deleted = events.Single(x => x.Name == "messageDeleted").Payload;
        Assert.Equal(sent, deleted.GetProperty("messageId").GetGuid());
        Assert.True(deleted.GetProperty("expired").GetBoolean());
        Assert.Equal(Guid.Empty, deleted.GetProperty("deletedBy").GetGuid());
        Assert.True(deleted.GetProperty("deletedAt").GetDateTimeOffset() >= expiresAt.AddMilliseconds(-1));

        var tombstone = await _client.MessageViewAsync(sender, direct, 1);
        Assert.True(tombstone.Flag("deleted"));
        Assert.Equal("", tombstone.GetProperty("content").GetString());
        Assert.False(tombstone.TryGetProperty("expiresAt", out _));
        Assert.Equal("stays", (await _client.MessageViewAsync(sender, direct, 2)).GetProperty("content").GetString());
        Assert.Equal(1, await _client.UnreadCountAsync(reader, direct));
    }

    [Fact]
    public async Task A_conversation_ttl_makes_every_new_message_disappear_until_it_is_turned_off()
    {
        var (owner, member) = (await _client.SignUpAsync(), await _client.SignUpAsync());
        var group = (await _client.GroupAsync(owner, "vanishing", member.UserId)).Id;
        await using var memberPhone = await EventLog.ConnectAsync(_client, member);

        // Admins and up in a group; a plain member may not.
        await ProblemAssert.IsAsync(await _client.SendRawAsync(HttpMethod.Patch, $"/api/v1/conversations/{group}", member,
            JsonSerializer.Serialize(new { messageTtlSeconds = 1 })), HttpStatusCode.Forbidden, "FORBIDDEN_ROLE");
        var on = await _client.OkAsync<JsonElement>(HttpMethod.Patch, $"/api/v1/conversations/{group}", owner, new { messageTtlSeconds = 1 });
        Assert.Equal(1, on.GetProperty("messageTtlSeconds").GetInt32());
        await memberPhone.WaitAsync(e => e.Any(x => x.Name == "conversationUpdated" && x.Payload.TryGetProperty("messageTtlSeconds", out var ttl) && ttl.GetInt32() == 1),
            "the TTL on the member's device");
        Assert.Equal(1, (await _client.OkAsync<JsonElement>(HttpMethod.Get, "/api/v1/conversations", member)).GetProperty("items")
            .EnumerateArray().Single(c => c.GetProperty("id").GetGuid() == group).GetProperty("messageTtlSeconds").GetInt32());

        // Even a sender's later expiry gives way to the TTL.
        var first = await _client.SendBodyAsync(owner, group, new { content = "one second", expiresAt = DateTimeOffset.UtcNow.AddHours(1) });
        await memberPhone.WaitAsync(e => e.Any(x => x.Name == "messageDeleted" && x.Payload.GetProperty("messageId").GetGuid() == first), "the TTL's expiry");
        Assert.True((await _client.MessageViewAsync(member, group, 1)).Flag("deleted"));

        var off = await _client.OkAsync<JsonElement>(HttpMethod.Patch, $"/api/v1/conversations/{group}", owner, new { messageTtlSeconds = (int?)null });
        Assert.False(off.TryGetProperty("messageTtlSeconds", out _));
        await _client.SendBodyAsync(owner, group, new { content = "kept" });
        var kept = (await _client.WaitForStoredAsync(member, group, 2))[^1];
        Assert.False((await _client.MessageViewAsync(member, group, kept.Sequence)).TryGetProperty("expiresAt", out _));
    }

    [Fact]
    public async Task Either_member_of_a_direct_conversation_may_turn_disappearing_messages_on()
    {
        var (a, b) = (await _client.SignUpAsync(), await _client.SignUpAsync());
        var direct = (await _client.DirectAsync(a, b.UserId)).Id;
        var on = await _client.OkAsync<JsonElement>(HttpMethod.Patch, $"/api/v1/conversations/{direct}", b, new { messageTtlSeconds = 3600 });
        Assert.Equal(3600, on.GetProperty("messageTtlSeconds").GetInt32());
        var before = DateTimeOffset.UtcNow;
        await _client.SendAsync(a, direct, "an hour");
        await _client.WaitForStoredAsync(a, direct, 1);
        var expiresAt = (await _client.MessageViewAsync(a, direct, 1)).GetProperty("expiresAt").GetDateTimeOffset();
        Assert.InRange(expiresAt, before.AddSeconds(3600).AddSeconds(-1), DateTimeOffset.UtcNow.AddSeconds(3600).AddSeconds(1));
        // A direct conversation still has no title.
        await ProblemAssert.IsAsync(await _client.SendRawAsync(HttpMethod.Patch, $"/api/v1/conversations/{direct}", a,
            JsonSerializer.Serialize(new { title = "ours", messageTtlSeconds = 60 })), HttpStatusCode.Forbidden, "FORBIDDEN_ROLE");
    }
}
