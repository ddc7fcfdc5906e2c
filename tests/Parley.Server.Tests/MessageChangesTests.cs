using System.Collections.Concurrent;
using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.SignalR.Client;
using Parley.Server.Tests.Infrastructure;

namespace Parley.Server.Tests;

[Collection(SharedServerCollection.Name)]
public sealed class EmbeddedMessageChangesTests(SharedServer fixture) : MessageChangesTests(fixture.Server);

[Collection(ProductionServerCollection.Name)]
public sealed class ProductionMessageChangesTests(ProductionServer fixture) : MessageChangesTests(fixture.Server);

/// <summary>
/// Edits, deletes, reactions and replies (M7, M8, M9) over REST and the hub: each change goes through the log, is
/// applied after the message it changes and reaches every device after it, in the conversation's change order.
/// </summary>
public abstract class MessageChangesTests(TestServer server)
{
    private readonly ParleyClient _client = server.Client();

    [Fact]
    public async Task An_edit_ten_reactions_and_a_delete_sent_right_after_their_message_reach_every_device_after_it_in_change_order()
    {
        var sender = await _client.SignUpAsync();
        var reactors = await Task.WhenAll(Enumerable.Range(0, 10).Select(_ => _client.SignUpAsync()));
        var group = (await _client.GroupAsync(sender, "changes", [.. reactors.Select(r => r.UserId)])).Id;
        await using var senderPhone = await EventLog.ConnectAsync(_client, sender);
        await using var readerPhone = await EventLog.ConnectAsync(_client, reactors[0]);

        // No wait between them: the changes are accepted while the message may still be in the log.
        var sent = await _client.SendAsync(sender, group, "first words");
        var edit = await _client.ChangeAsync(HttpMethod.Patch, $"/api/v1/messages/{sent.MessageId}", sender, new { content = "better words", reason = "typo" });
        Assert.Equal("edit", edit.GetProperty("kind").GetString());
        Assert.Equal(sent.MessageId, edit.GetProperty("messageId").GetGuid());
        await Task.WhenAll(reactors.Select(r => _client.ChangeAsync(HttpMethod.Put, $"/api/v1/messages/{sent.MessageId}/reactions/{Uri.EscapeDataString("👍")}", r)));
        await _client.ChangeAsync(HttpMethod.Delete, $"/api/v1/messages/{sent.MessageId}?for=everyone", sender);

        foreach (var device in new[] { senderPhone, readerPhone })
        {
            var events = await device.WaitAsync(e => e.Any(x => x.Name == "messageDeleted"), "the delete on every device");
            Assert.Equal("messageCreated", events[0].Name);
            var changes = events.Skip(1).ToList();
            Assert.Equal(Enumerable.Range(1, 12).Select(i => (long)i), changes.Select(c => c.Payload.GetProperty("changeSequence").GetInt64()));
            Assert.All(changes, c => Assert.Equal(sent.MessageId, c.Payload.GetProperty("messageId").GetGuid()));
            Assert.Equal("messageEdited", changes[0].Name);
            Assert.Equal("better words", changes[0].Payload.GetProperty("content").GetString());
            Assert.Equal(Enumerable.Range(1, 10), changes.Where(c => c.Name == "reactionChanged").Select(c => c.Payload.GetProperty("count").GetInt32()));
            Assert.Equal("messageDeleted", changes[^1].Name);
        }

        var stored = (await _client.HistoryAsync(sender, group)).Items.Single();
        var view = await _client.MessageViewAsync(sender, group, stored.Sequence);
        Assert.True(view.Flag("deleted"));
        Assert.Equal("", view.GetProperty("content").GetString());
        Assert.False(view.TryGetProperty("reactions", out _));
    }

    [Fact]
    public async Task Only_the_sender_edits_and_every_earlier_version_is_kept_until_the_message_is_deleted()
    {
        var (sender, other) = (await _client.SignUpAsync(), await _client.SignUpAsync());
        var group = (await _client.GroupAsync(sender, "edits", other.UserId)).Id;
        var sent = await _client.SendAsync(sender, group, "v1");
        await _client.ChangeAsync(HttpMethod.Patch, $"/api/v1/messages/{sent.MessageId}", sender, new { content = "v2", reason = "clearer" });
        await _client.ChangeAsync(HttpMethod.Patch, $"/api/v1/messages/{sent.MessageId}", sender, new { content = "v3" });
        await ProblemAssert.IsAsync(await _client.SendRawAsync(HttpMethod.Patch, $"/api/v1/messages/{sent.MessageId}", other, """{"content":"mine now"}"""),
            HttpStatusCode.Forbidden, "NOT_MESSAGE_SENDER");

        await Eventually.TrueAsync(async () => (await _client.MessageViewAsync(other, group, 1)).Count("editCount") == 2, "both edits stored");
        var view = await _client.MessageViewAsync(other, group, 1);
        Assert.Equal("v3", view.GetProperty("content").GetString());
        Assert.True(view.TryGetProperty("editedAt", out _));
        var edits = await _client.OkAsync<JsonElement>(HttpMethod.Get, $"/api/v1/messages/{sent.MessageId}/edits", other);
        var items = edits.GetProperty("items").EnumerateArray().ToList();
        Assert.Equal(["v1", "v2"], items.Select(i => i.GetProperty("previousContent").GetString()));
        Assert.Equal("clearer", items[0].GetProperty("reason").GetString());
        Assert.Equal(sender.UserId, items[0].GetProperty("editedBy").GetGuid());
        Assert.Equal(64, items[0].GetProperty("previousContentHash").GetString()!.Length);

        await _client.ChangeAsync(HttpMethod.Delete, $"/api/v1/messages/{sent.MessageId}?for=everyone", sender);
        await Eventually.TrueAsync(async () => (await _client.MessageViewAsync(other, group, 1)).Flag("deleted"), "the delete stored");
        Assert.Empty((await _client.OkAsync<JsonElement>(HttpMethod.Get, $"/api/v1/messages/{sent.MessageId}/edits", other)).GetProperty("items").EnumerateArray());
        await ProblemAssert.IsAsync(await _client.SendRawAsync(HttpMethod.Patch, $"/api/v1/messages/{sent.MessageId}", sender, """{"content":"back"}"""),
            HttpStatusCode.Conflict, "MESSAGE_DELETED");
    }

    [Fact]
    public async Task Deleting_an_unread_message_for_everyone_lowers_the_unread_count_of_those_who_had_not_read_it()
    {
        var (sender, reader, idle, moderator) = (await _client.SignUpAsync(), await _client.SignUpAsync(), await _client.SignUpAsync(), await _client.SignUpAsync());
        var group = (await _client.GroupAsync(sender, "unread", reader.UserId, idle.UserId, moderator.UserId)).Id;
        await _client.OkAsync<JsonElement>(HttpMethod.Patch, $"/api/v1/conversations/{group}/members/{moderator.UserId}", sender, new { role = "moderator" });
        var sent = new List<Ack>();
        foreach (var text in new[] { "one", "two", "three" })
        {
            sent.Add(await _client.SendAsync(reader, group, text));
        }

        await _client.WaitForStoredAsync(sender, group, 3);
        await _client.ReadAsync(sender, group, 2);

        // A member may not delete someone else's message; a moderator may.
        await ProblemAssert.IsAsync(await _client.SendRawAsync(HttpMethod.Delete, $"/api/v1/messages/{sent[1].MessageId}?for=everyone", idle), HttpStatusCode.Forbidden, "FORBIDDEN_ROLE");
        await _client.ChangeAsync(HttpMethod.Delete, $"/api/v1/messages/{sent[1].MessageId}?for=everyone", moderator);
        await _client.ChangeAsync(HttpMethod.Delete, $"/api/v1/messages/{sent[2].MessageId}?for=everyone", reader);

        await Eventually.TrueAsync(async () => (await _client.UnreadCountAsync(idle, group)) == 1, "idle's unread count: only 'one' is left");
        Assert.Equal(0, await _client.UnreadCountAsync(sender, group));  // had read 1 and 2; 3 is gone
        Assert.Equal(1, await _client.UnreadCountAsync(moderator, group));
        Assert.Equal(0, await _client.UnreadCountAsync(reader, group));

        // The sequence stays: history still has 1, 2, 3, the last two as tombstones.
        var history = await _client.OkAsync<JsonElement>(HttpMethod.Get, $"/api/v1/conversations/{group}/messages", idle);
        Assert.Equal([false, true, true], history.GetProperty("items").EnumerateArray().Select(m => m.Flag("deleted")));
        Assert.Equal([1L, 2L, 3L], history.GetProperty("items").EnumerateArray().Select(m => m.GetProperty("sequence").GetInt64()));

        // Reading on recounts: the deleted ones do not come back.
        Assert.Equal(0, (await _client.ReadAsync(idle, group, 1)).UnreadCount);
    }

    [Fact]
    public async Task Deleting_for_me_hides_the_message_from_my_history_and_count_only()
    {
        var (sender, me) = (await _client.SignUpAsync(), await _client.SignUpAsync());
        var direct = (await _client.DirectAsync(sender, me.UserId)).Id;
        var first = await _client.SendAsync(sender, direct, "keep");
        var second = await _client.SendAsync(sender, direct, "hide");
        await _client.WaitForStoredAsync(me, direct, 2);
        await using var otherDevice = await EventLog.ConnectAsync(_client, me);

        var hidden = await _client.OkAsync<JsonElement>(HttpMethod.Delete, $"/api/v1/messages/{second.MessageId}?for=me", me);
        Assert.Equal(1, hidden.GetProperty("unreadCount").GetInt64());
        var again = await _client.OkAsync<JsonElement>(HttpMethod.Delete, $"/api/v1/messages/{second.MessageId}?for=me", me);
        Assert.Equal(1, again.GetProperty("unreadCount").GetInt64());
        await otherDevice.WaitAsync(e => e.Any(x => x.Name == "messageHidden"), "messageHidden on the user's other device");

        Assert.Equal(["keep"], (await _client.HistoryAsync(me, direct)).Items.Select(m => m.Content));
        Assert.Equal(["keep", "hide"], (await _client.HistoryAsync(sender, direct)).Items.Select(m => m.Content));
        Assert.Equal(1, await _client.UnreadCountAsync(me, direct));
        Assert.Equal(0, (await _client.ReadAsync(me, direct, 1)).UnreadCount);
        await ProblemAssert.IsAsync(await _client.SendRawAsync(HttpMethod.Delete, $"/api/v1/messages/{first.MessageId}", me), HttpStatusCode.BadRequest, "MISSING_REQUIRED_FIELD");
    }

    [Fact]
    public async Task Fifty_users_reacting_at_once_count_once_each_and_see_their_own()
    {
        var sender = await _client.SignUpAsync();
        var users = await Task.WhenAll(Enumerable.Range(0, 50).Select(_ => _client.SignUpAsync()));
        var group = (await _client.GroupAsync(sender, "flood", [.. users.Select(u => u.UserId)])).Id;
        var sent = await _client.SendAsync(sender, group, "react to me");
        var party = Uri.EscapeDataString("🎉");
        await Task.WhenAll(users.Select(u => _client.ChangeAsync(HttpMethod.Put, $"/api/v1/messages/{sent.MessageId}/reactions/{party}", u)));
        // Twice the same, and a second key from a few: still one per user per key.
        await Task.WhenAll(users.Take(5).Select(u => _client.ChangeAsync(HttpMethod.Put, $"/api/v1/messages/{sent.MessageId}/reactions/{party}", u)));
        await Task.WhenAll(users.Take(3).Select(u => _client.ChangeAsync(HttpMethod.Put, $"/api/v1/messages/{sent.MessageId}/reactions/:fire:", u)));
        await Task.WhenAll(users.Skip(40).Select(u => _client.ChangeAsync(HttpMethod.Delete, $"/api/v1/messages/{sent.MessageId}/reactions/{party}", u)));

        await Eventually.TrueAsync(async () => Counts(await _client.MessageViewAsync(sender, group, 1)) == ":fire:=3,🎉=40", "the final counts");
        var mine = await _client.MessageViewAsync(users[0], group, 1);
        Assert.Equal([":fire:", "🎉"], mine.GetProperty("myReactions").EnumerateArray().Select(k => k.GetString()));
        Assert.False((await _client.MessageViewAsync(users[45], group, 1)).TryGetProperty("myReactions", out _));

        await ProblemAssert.IsAsync(await _client.SendRawAsync(HttpMethod.Put, $"/api/v1/messages/{sent.MessageId}/reactions/hello", users[0]), HttpStatusCode.BadRequest, "INVALID_FIELD_VALUE");
        await ProblemAssert.IsAsync(await _client.SendRawAsync(HttpMethod.Put, $"/api/v1/messages/{Guid.NewGuid()}/reactions/{party}", users[0]), HttpStatusCode.NotFound, "MESSAGE_NOT_FOUND");

        // Before the first reaction is stored the view has no reactions field at all.
        static string Counts(JsonElement view) => !view.TryGetProperty("reactions", out var reactions) ? "" :
            string.Join(",", reactions.EnumerateArray().Select(r => $"{r.GetProperty("key").GetString()}={r.GetProperty("count").GetInt32()}"));
    }

    [Fact]
    public async Task A_reaction_just_after_a_delete_is_refused_or_changes_nothing_though_the_ingress_read_the_message_a_moment_ago()
    {
        var (sender, reader) = (await _client.SignUpAsync(), await _client.SignUpAsync());
        var direct = (await _client.DirectAsync(sender, reader.UserId)).Id;
        var sent = await _client.SendAsync(sender, direct, "react, then gone");
        await _client.WaitForStoredAsync(reader, direct, 1);
        await _client.ChangeAsync(HttpMethod.Put, $"/api/v1/messages/{sent.MessageId}/reactions/:ok:", reader);
        await _client.ChangeAsync(HttpMethod.Delete, $"/api/v1/messages/{sent.MessageId}?for=everyone", sender);
        await Eventually.TrueAsync(async () => (await _client.MessageViewAsync(reader, direct, 1)).Flag("deleted"), "the delete stored");

        using var late = await _client.SendRawAsync(HttpMethod.Put, $"/api/v1/messages/{sent.MessageId}/reactions/:fire:", reader);
        Assert.True(late.StatusCode is HttpStatusCode.Conflict or HttpStatusCode.Accepted, $"got {late.StatusCode}");
        await _client.SendAsync(sender, direct, "after");
        await _client.WaitForStoredAsync(reader, direct, 2);
        Assert.False((await _client.MessageViewAsync(reader, direct, 1)).TryGetProperty("reactions", out _));
    }

    [Fact]
    public async Task Replies_form_a_thread_under_the_first_message_and_show_what_they_answer()
    {
        var (a, b, outsider) = (await _client.SignUpAsync(), await _client.SignUpAsync(), await _client.SignUpAsync());
        var group = (await _client.GroupAsync(a, "threads", b.UserId)).Id;
        var elsewhere = (await _client.DirectAsync(a, outsider.UserId)).Id;
        var root = await _client.SendAsync(a, group, "the question");
        var first = await ReplyAsync(b, group, "an answer", root.MessageId);
        await ReplyAsync(a, group, "a follow-up", first.GetProperty("messageId").GetGuid());
        var foreign = await _client.SendAsync(a, elsewhere, "not here");
        await _client.WaitForStoredAsync(a, elsewhere, 1);
        await ProblemAssert.IsAsync(await _client.SendRawAsync(HttpMethod.Post, $"/api/v1/conversations/{group}/messages", b,
            JsonSerializer.Serialize(new { content = "x", replyTo = foreign.MessageId })), HttpStatusCode.NotFound, "MESSAGE_NOT_FOUND");

        await _client.WaitForStoredAsync(a, group, 3);
        var thread = await _client.OkAsync<JsonElement>(HttpMethod.Get, $"/api/v1/messages/{root.MessageId}/thread", b);
        var replies = thread.GetProperty("items").EnumerateArray().ToList();
        Assert.Equal(["an answer", "a follow-up"], replies.Select(r => r.GetProperty("content").GetString()));
        Assert.All(replies, r => Assert.Equal(root.MessageId, r.GetProperty("threadRootId").GetGuid()));
        Assert.Equal("the question", replies[0].GetProperty("replyTo").GetProperty("preview").GetString());
        Assert.Equal(2, (await _client.MessageViewAsync(b, group, 1)).Count("replyCount"));

        // The preview follows an edit, and a delete erases it.
        await _client.ChangeAsync(HttpMethod.Patch, $"/api/v1/messages/{root.MessageId}", a, new { content = "the real question" });
        await Eventually.TrueAsync(async () => (await _client.MessageViewAsync(b, group, 2)).GetProperty("replyTo").GetProperty("preview").GetString() == "the real question", "the edited preview");
        await _client.ChangeAsync(HttpMethod.Delete, $"/api/v1/messages/{root.MessageId}?for=everyone", a);
        await Eventually.TrueAsync(async () => (await _client.MessageViewAsync(b, group, 2)).GetProperty("replyTo").Flag("deleted"), "the erased preview");
        Assert.Equal(JsonValueKind.Null, (await _client.MessageViewAsync(b, group, 2)).GetProperty("replyTo").GetProperty("preview").ValueKind);
    }

    [Fact]
    public async Task A_forward_sends_a_copy_to_each_named_conversation_keeping_the_original_and_refuses_all_when_one_is_not_allowed()
    {
        var (a, b, c) = (await _client.SignUpAsync(), await _client.SignUpAsync(), await _client.SignUpAsync());
        var source = (await _client.GroupAsync(a, "source", b.UserId)).Id;
        var first = (await _client.DirectAsync(b, c.UserId)).Id;
        var second = (await _client.GroupAsync(b, "second", c.UserId)).Id;
        var notMine = (await _client.DirectAsync(a, c.UserId)).Id;
        var original = await _client.SendAsync(a, source, "worth sharing");
        await _client.WaitForStoredAsync(b, source, 1);

        await ProblemAssert.IsAsync(await _client.SendRawAsync(HttpMethod.Post, $"/api/v1/messages/{original.MessageId}/forward", b,
            JsonSerializer.Serialize(new { conversationIds = new[] { first, notMine } })), HttpStatusCode.Forbidden, "NOT_CONVERSATION_MEMBER");
        var forwarded = await _client.OkAsync<JsonElement>(HttpMethod.Post, $"/api/v1/messages/{original.MessageId}/forward", b,
            new { conversationIds = new[] { first, second }, clientForwardId = "share-1" }, HttpStatusCode.Accepted);
        Assert.Equal(2, forwarded.GetProperty("items").GetArrayLength());
        var again = await _client.OkAsync<JsonElement>(HttpMethod.Post, $"/api/v1/messages/{original.MessageId}/forward", b,
            new { conversationIds = new[] { first, second }, clientForwardId = "share-1" }, HttpStatusCode.Accepted);
        Assert.All(again.GetProperty("items").EnumerateArray(), ack => Assert.True(ack.GetProperty("idempotentHit").GetBoolean()));

        await _client.WaitForStoredAsync(c, first, 1);
        var copy = await _client.MessageViewAsync(c, first, 1);
        Assert.Equal(("worth sharing", b.UserId), (copy.GetProperty("content").GetString(), copy.GetProperty("senderId").GetGuid()));
        Assert.Equal((original.MessageId, source, a.UserId), (copy.GetProperty("forwardedFrom").GetProperty("messageId").GetGuid(),
            copy.GetProperty("forwardedFrom").GetProperty("conversationId").GetGuid(), copy.GetProperty("forwardedFrom").GetProperty("senderId").GetGuid()));
        Assert.Single(await _client.WaitForStoredAsync(c, second, 1));

        // Forwarding the copy points at the first original; c cannot read the source, and still may forward what reached them.
        await _client.OkAsync<JsonElement>(HttpMethod.Post, $"/api/v1/messages/{copy.GetProperty("id").GetGuid()}/forward", c,
            new { conversationIds = new[] { notMine } }, HttpStatusCode.Accepted);
        await _client.WaitForStoredAsync(a, notMine, 1);
        Assert.Equal(original.MessageId, (await _client.MessageViewAsync(a, notMine, 1)).GetProperty("forwardedFrom").GetProperty("messageId").GetGuid());
        Assert.Empty((await _client.HistoryAsync(c, notMine, "?before=1")).Items);
    }

    [Fact]
    public async Task Mentions_name_members_only_and_count_as_unread_mentions_in_the_list_until_read()
    {
        var (a, b, outsider) = (await _client.SignUpAsync(), await _client.SignUpAsync(), await _client.SignUpAsync());
        var group = (await _client.GroupAsync(a, "mentions", b.UserId)).Id;
        await ProblemAssert.IsAsync(await _client.SendRawAsync(HttpMethod.Post, $"/api/v1/conversations/{group}/messages", a,
            JsonSerializer.Serialize(new { content = "hi", mentions = new[] { outsider.UserId } })), HttpStatusCode.BadRequest, "INVALID_FIELD_VALUE");
        await ProblemAssert.IsAsync(await _client.SendRawAsync(HttpMethod.Post, $"/api/v1/conversations/{group}/messages", a,
            """{"content":"hi","mentions":"not a list"}"""), HttpStatusCode.BadRequest, "INVALID_FIELD_TYPE");
        await _client.OkAsync<JsonElement>(HttpMethod.Post, $"/api/v1/conversations/{group}/messages", a, new { content = "@b look", mentions = new[] { b.UserId, b.UserId } }, HttpStatusCode.Accepted);
        await _client.SendAsync(a, group, "no mention");
        await using var device = await _client.ConnectAsync(a);
        await device.Connection.InvokeAsync<Ack>("SendMessage", new { ConversationId = group, Content = "@b over the hub", Mentions = new[] { b.UserId } });

        await Eventually.TrueAsync(async () => (await MentionsAsync()).Unread == 3, "three unread messages for b");
        Assert.Equal(2, (await MentionsAsync()).Mentions);
        Assert.Equal([b.UserId], (await _client.MessageViewAsync(b, group, 1)).GetProperty("mentions").EnumerateArray().Select(m => m.GetGuid()));
        await _client.ReadAsync(b, group, 2);
        Assert.Equal((1L, 1L), await MentionsAsync());

        async Task<(long Unread, long Mentions)> MentionsAsync()
        {
            var list = await _client.OkAsync<JsonElement>(HttpMethod.Get, "/api/v1/conversations", b);
            var item = list.GetProperty("items").EnumerateArray().Single(c => c.GetProperty("id").GetGuid() == group);
            return (item.GetProperty("unreadCount").GetInt64(), item.GetProperty("unreadMentions").GetInt64());
        }
    }

    [Fact]
    public async Task Pins_reach_every_member_are_listed_and_follow_the_permission_table()
    {
        var (owner, member) = (await _client.SignUpAsync(), await _client.SignUpAsync());
        var group = (await _client.GroupAsync(owner, "pins", member.UserId)).Id;
        var channel = (await _client.OkAsync<JsonElement>(HttpMethod.Post, "/api/v1/conversations", owner, new { type = "channel", title = "news", memberIds = new[] { member.UserId } },
            HttpStatusCode.Created)).GetProperty("id").GetGuid();
        await using var phone = await EventLog.ConnectAsync(_client, owner);
        var first = await _client.SendAsync(owner, group, "pin me");
        var second = await _client.SendAsync(member, group, "and me");
        var news = await _client.SendAsync(owner, channel, "announcement");

        await _client.ChangeAsync(HttpMethod.Put, $"/api/v1/conversations/{group}/pins/{first.MessageId}", member);
        await _client.ChangeAsync(HttpMethod.Put, $"/api/v1/conversations/{group}/pins/{second.MessageId}", owner);
        await ProblemAssert.IsAsync(await _client.SendRawAsync(HttpMethod.Put, $"/api/v1/conversations/{channel}/pins/{news.MessageId}", member), HttpStatusCode.Forbidden, "FORBIDDEN_ROLE");
        await ProblemAssert.IsAsync(await _client.SendRawAsync(HttpMethod.Put, $"/api/v1/conversations/{group}/pins/{news.MessageId}", owner), HttpStatusCode.NotFound, "MESSAGE_NOT_FOUND");

        var pinned = await phone.WaitAsync(e => e.Count(x => x.Name == "messagePinned") == 2, "both pins on the owner's device");
        Assert.All(pinned.Where(x => x.Name == "messagePinned"), x => Assert.True(x.Payload.GetProperty("pinned").GetBoolean()));
        await Eventually.TrueAsync(async () => (await PinnedAsync()).Count == 2, "both pins stored");
        Assert.Equal(["and me", "pin me"], await PinnedAsync());
        Assert.Equal(member.UserId, (await _client.MessageViewAsync(owner, group, 1)).GetProperty("pinnedBy").GetGuid());

        await _client.ChangeAsync(HttpMethod.Delete, $"/api/v1/conversations/{group}/pins/{second.MessageId}", member);
        await Eventually.TrueAsync(async () => (await PinnedAsync()).Count == 1, "the unpin stored");

        async Task<List<string?>> PinnedAsync() =>
            [.. (await _client.OkAsync<JsonElement>(HttpMethod.Get, $"/api/v1/conversations/{group}/pins", member)).GetProperty("items").EnumerateArray()
                .Select(m => m.GetProperty("content").GetString())];
    }

    [Fact]
    public async Task A_device_offline_during_edits_deletes_and_reactions_resumes_to_the_same_view_as_one_that_stayed_online()
    {
        var (a, b) = (await _client.SignUpAsync(), await _client.SignUpAsync());
        var group = (await _client.GroupAsync(a, "offline", b.UserId)).Id;
        await using var online = await EventLog.ConnectAsync(_client, b);
        var first = await _client.SendAsync(a, group, "one");
        await online.WaitAsync(e => e.Count >= 1, "the first message");
        var offline = await EventLog.ConnectAsync(_client, b);
        await _client.ChangeAsync(HttpMethod.Put, $"/api/v1/messages/{first.MessageId}/reactions/:wave:", b);
        await offline.WaitAsync(e => e.Any(x => x.Name == "reactionChanged"), "the first change on the device about to go offline");
        await offline.DisposeAsync();

        var second = await _client.SendAsync(a, group, "two");
        await _client.ChangeAsync(HttpMethod.Patch, $"/api/v1/messages/{first.MessageId}", a, new { content = "one, edited" });
        await _client.ChangeAsync(HttpMethod.Put, $"/api/v1/messages/{second.MessageId}/reactions/:ok:", a);
        await _client.ChangeAsync(HttpMethod.Delete, $"/api/v1/messages/{second.MessageId}?for=everyone", a);
        await _client.ChangeAsync(HttpMethod.Delete, $"/api/v1/messages/{first.MessageId}/reactions/:wave:", b);
        await online.WaitAsync(e => e.Count(x => x.Name != "messageCreated") == 5, "every change on the online device");

        await using var back = await EventLog.ConnectAsync(_client, b);
        var resumed = await back.Connection.InvokeAsync<JsonElement>("Resume", new[] { new { conversationId = group, lastSequence = 1, lastChangeSequence = 1 } });
        var result = resumed[0];
        Assert.Equal("recovered", result.GetProperty("status").GetString());
        Assert.Equal("recovered", result.GetProperty("changes").GetProperty("status").GetString());
        Assert.Equal(4, result.GetProperty("changes").GetProperty("replayed").GetInt64());
        // The replay went out before the answer; the client library hands it to the handlers on its own schedule.
        await back.WaitAsync(e => e.Count(x => x.Name != "messageCreated") == 4 && e.Any(x => x.Name == "messageCreated"), "the replayed message and changes");
        Assert.Equal(View(online.Events), View([.. offline.Events.Concat(back.Events)]));

        // REST sync gives the same changes, each with the message as it is now.
        var sync = await _client.OkAsync<JsonElement>(HttpMethod.Post, "/api/v1/sync", b,
            new { positions = new[] { new { conversationId = group, lastSequence = 1, lastChangeSequence = 1 } } });
        var changes = sync.GetProperty("conversations")[0].GetProperty("changes");
        Assert.Equal("recovered", changes.GetProperty("status").GetString());
        Assert.Equal(["edit", "reaction", "delete", "reaction"], changes.GetProperty("items").EnumerateArray().Select(c => c.GetProperty("kind").GetString()));
        Assert.Equal([2L, 3L, 4L, 5L], changes.GetProperty("items").EnumerateArray().Select(c => c.GetProperty("changeSequence").GetInt64()));
        Assert.Equal("one, edited", changes.GetProperty("items")[0].GetProperty("message").GetProperty("content").GetString());
        Assert.True(changes.GetProperty("items")[2].GetProperty("message").Flag("deleted"));

        // Each device's view: per message its last content, deletion and reactions, folded from the events in order.
        static string View(IReadOnlyList<(string Name, JsonElement Payload)> events)
        {
            var content = new SortedDictionary<long, string>();
            var reactions = new SortedDictionary<string, int>(StringComparer.Ordinal);
            foreach (var (name, p) in events)
            {
                var sequence = p.GetProperty("sequence").GetInt64();
                switch (name)
                {
                    case "messageCreated":
                        content.TryAdd(sequence, p.Flag("deleted") ? "<deleted>" : p.GetProperty("content").GetString()!);
                        break;
                    case "messageEdited": content[sequence] = p.GetProperty("content").GetString()!; break;
                    case "messageDeleted":
                        // A delete takes the message's reactions with it.
                        content[sequence] = "<deleted>";
                        foreach (var key in reactions.Keys.Where(k => k.StartsWith($"{sequence}:", StringComparison.Ordinal)).ToList())
                        {
                            reactions.Remove(key);
                        }

                        break;
                    case "reactionChanged": reactions[$"{sequence}:{p.GetProperty("key").GetString()}"] = p.GetProperty("count").GetInt32(); break;
                }
            }

            return string.Join("|", content.Select(c => $"{c.Key}={c.Value}")) + "#" + string.Join("|", reactions.Where(r => r.Value > 0).Select(r => r.Key));
        }
    }

    private Task<JsonElement> ReplyAsync(Session who, Guid conversation, string content, Guid replyTo) =>
        _client.OkAsync<JsonElement>(HttpMethod.Post, $"/api/v1/conversations/{conversation}/messages", who, new { content, replyTo }, HttpStatusCode.Accepted);
}
