using System.Collections.Concurrent;
using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.SignalR.Client;
using Parley.Server.Tests.Infrastructure;

namespace Parley.Server.Tests;

[Collection(SharedServerCollection.Name)]
public sealed class EmbeddedPersonalTests(SharedServer fixture) : PersonalTests(fixture.Server);

[Collection(ProductionServerCollection.Name)]
public sealed class ProductionPersonalTests(ProductionServer fixture) : PersonalTests(fixture.Server);

/// <summary>Bookmarks and drafts (M9) over the API: the user's own, kept across their devices.</summary>
public abstract class PersonalTests(TestServer server)
{
    private readonly ParleyClient _client = server.Client();

    [Fact]
    public async Task Bookmarks_list_newest_first_across_conversations_and_only_what_the_user_may_read()
    {
        var (me, other, stranger) = (await _client.SignUpAsync(), await _client.SignUpAsync(), await _client.SignUpAsync());
        var direct = (await _client.DirectAsync(me, other.UserId)).Id;
        var group = (await _client.GroupAsync(other, "team", me.UserId)).Id;
        var first = await _client.SendAsync(other, direct, "in the direct");
        var second = await _client.SendAsync(other, group, "in the group");
        await _client.WaitForStoredAsync(me, direct, 1);
        await _client.WaitForStoredAsync(me, group, 1);

        var marked = await _client.OkAsync<JsonElement>(HttpMethod.Put, $"/api/v1/messages/{first.MessageId}/bookmark", me);
        Assert.Equal(direct, marked.GetProperty("conversationId").GetGuid());
        var again = await _client.OkAsync<JsonElement>(HttpMethod.Put, $"/api/v1/messages/{first.MessageId}/bookmark", me);
        Assert.Equal(marked.GetProperty("bookmarkedAt").GetDateTimeOffset(), again.GetProperty("bookmarkedAt").GetDateTimeOffset());
        await _client.OkAsync<JsonElement>(HttpMethod.Put, $"/api/v1/messages/{second.MessageId}/bookmark", me);
        await ProblemAssert.IsAsync(await _client.SendRawAsync(HttpMethod.Put, $"/api/v1/messages/{first.MessageId}/bookmark", stranger), HttpStatusCode.NotFound, "MESSAGE_NOT_FOUND");

        var page = await _client.OkAsync<JsonElement>(HttpMethod.Get, "/api/v1/bookmarks?limit=1", me);
        Assert.Equal("in the group", page.GetProperty("items")[0].GetProperty("message").GetProperty("content").GetString());
        var next = await _client.OkAsync<JsonElement>(HttpMethod.Get, $"/api/v1/bookmarks?limit=1&cursor={page.GetProperty("nextCursor").GetString()}", me);
        Assert.Equal("in the direct", next.GetProperty("items")[0].GetProperty("message").GetProperty("content").GetString());

        // Out of the group: its bookmark is no longer listed (the history is no longer theirs).
        await _client.OkAsync<JsonElement>(HttpMethod.Post, $"/api/v1/conversations/{group}/leave", me);
        var after = await _client.OkAsync<JsonElement>(HttpMethod.Get, "/api/v1/bookmarks", me);
        Assert.Equal(["in the direct"], after.GetProperty("items").EnumerateArray().Select(i => i.GetProperty("message").GetProperty("content").GetString()));

        using (var removed = await _client.SendRawAsync(HttpMethod.Delete, $"/api/v1/messages/{first.MessageId}/bookmark", me))
        {
            Assert.Equal(HttpStatusCode.NoContent, removed.StatusCode);
        }

        Assert.Empty((await _client.OkAsync<JsonElement>(HttpMethod.Get, "/api/v1/bookmarks", me)).GetProperty("items").EnumerateArray());
    }

    [Fact]
    public async Task A_draft_saved_on_one_device_reaches_the_users_other_devices_and_is_theirs_alone()
    {
        var (me, other) = (await _client.SignUpAsync(), await _client.SignUpAsync());
        var direct = (await _client.DirectAsync(me, other.UserId)).Id;
        await using var phone = await _client.ConnectAsync(me);
        await using var otherDevice = await _client.ConnectAsync(other);
        var drafts = new ConcurrentQueue<JsonElement>();
        var leaked = new ConcurrentQueue<JsonElement>();
        phone.Connection.On<JsonElement>("draftUpdated", drafts.Enqueue);
        otherDevice.Connection.On<JsonElement>("draftUpdated", leaked.Enqueue);

        using (var none = await _client.SendRawAsync(HttpMethod.Get, $"/api/v1/conversations/{direct}/draft", me))
        {
            Assert.Equal(HttpStatusCode.NoContent, none.StatusCode);
        }

        var saved = await _client.OkAsync<JsonElement>(HttpMethod.Put, $"/api/v1/conversations/{direct}/draft", me, new { content = "half a thought", metadata = new { replyTo = 3 } });
        Assert.Equal("half a thought", saved.GetProperty("content").GetString());
        await Eventually.TrueAsync(() => drafts.Any(d => d.GetProperty("content").ValueKind == JsonValueKind.String), "draftUpdated on the user's other device");
        var read = await _client.OkAsync<JsonElement>(HttpMethod.Get, $"/api/v1/conversations/{direct}/draft", me);
        Assert.Equal(3, read.GetProperty("metadata").GetProperty("replyTo").GetInt32());
        using (var theirs = await _client.SendRawAsync(HttpMethod.Get, $"/api/v1/conversations/{direct}/draft", other))
        {
            Assert.Equal(HttpStatusCode.NoContent, theirs.StatusCode);
        }

        using (var deleted = await _client.SendRawAsync(HttpMethod.Delete, $"/api/v1/conversations/{direct}/draft", me))
        {
            Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        }

        await Eventually.TrueAsync(() => drafts.Any(d => d.GetProperty("deleted").GetBoolean()), "the deletion on the user's other device");
        var stranger = await _client.SignUpAsync();
        await ProblemAssert.IsAsync(await _client.SendRawAsync(HttpMethod.Put, $"/api/v1/conversations/{direct}/draft", stranger, """{"content":"x"}"""), HttpStatusCode.Forbidden, "NOT_CONVERSATION_MEMBER");

        // The other member's device heard nothing of it: a later event reaches it, and no draft came before.
        await _client.SendAsync(me, direct, "marker");
        await otherDevice.WaitForMessagesAsync(m => m.Any(x => x.Content == "marker"));
        Assert.Empty(leaked);
    }
}
