using System.Collections.Concurrent;
using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.SignalR.Client;
using Parley.Server.Tests.Infrastructure;

namespace Parley.Server.Tests;

[Collection(SharedServerCollection.Name)]
public sealed class EmbeddedMembershipTests(SharedServer fixture) : MembershipTests(fixture.Server);

[Collection(ProductionServerCollection.Name)]
public sealed class ProductionMembershipTests(ProductionServer fixture) : MembershipTests(fixture.Server);

/// <summary>M4, M5 over the API: membership changes take effect at once and every member hears of them live.</summary>
public abstract class MembershipTests(TestServer server)
{
    private readonly ParleyClient _client = server.Client();

    /// <summary>Records every named event a device receives, as JSON, in arrival order.</summary>
    private static ConcurrentQueue<(string Name, JsonElement Payload)> Listen(Device device, params string[] names)
    {
        var events = new ConcurrentQueue<(string, JsonElement)>();
        foreach (var name in names)
        {
            device.Connection.On<JsonElement>(name, payload => events.Enqueue((name, payload)));
        }

        return events;
    }

    private async Task<Guid> CreateAsync(Session owner, object body) =>
        (await _client.OkAsync<JsonElement>(HttpMethod.Post, "/api/v1/conversations", owner, body, HttpStatusCode.Created)).GetProperty("id").GetGuid();

    [Fact]
    public async Task A_removed_member_is_told_and_loses_history_sends_and_live_messages_at_once()
    {
        var (owner, gone, stays) = (await _client.SignUpAsync(), await _client.SignUpAsync(), await _client.SignUpAsync());
        var id = await CreateAsync(owner, new { type = "group", memberIds = new[] { gone.UserId, stays.UserId }, title = "Team" });
        await _client.SendAsync(gone, id, "before");
        await _client.WaitForStoredAsync(owner, id, 1);
        await using var goneDevice = await _client.ConnectAsync(gone);
        await using var staysDevice = await _client.ConnectAsync(stays);
        var told = Listen(goneDevice, "membershipChanged");
        var others = Listen(staysDevice, "memberRemoved");

        var removed = await _client.OkAsync<JsonElement>(HttpMethod.Delete, $"/api/v1/conversations/{id}/members/{gone.UserId}", owner);
        Assert.Equal(gone.UserId, removed.GetProperty("removed")[0].GetGuid());

        // The response returned: from here on nothing of the conversation is theirs.
        await ProblemAssert.IsAsync(await _client.SendRawAsync(HttpMethod.Post, $"/api/v1/conversations/{id}/messages", gone, """{"content":"after"}"""), HttpStatusCode.Forbidden, "NOT_CONVERSATION_MEMBER");
        await ProblemAssert.IsAsync(await _client.SendRawAsync(HttpMethod.Get, $"/api/v1/conversations/{id}/messages", gone), HttpStatusCode.Forbidden, "NOT_CONVERSATION_MEMBER");
        Assert.DoesNotContain(id, (await _client.ConversationsAsync(gone)).Items.Select(c => c.Id));

        await Eventually.TrueAsync(() => told.Any(e => e.Payload.GetProperty("conversationId").GetGuid() == id && !e.Payload.GetProperty("member").GetBoolean()
            && e.Payload.GetProperty("reason").GetString() == "removed"), "the removed member's device hears membershipChanged");
        await Eventually.TrueAsync(() => others.Any(e => e.Payload.GetProperty("userId").GetGuid() == gone.UserId), "the remaining member hears memberRemoved");

        // A message after the removal reaches the remaining member and not the removed one (same fanout, same moment).
        await _client.SendAsync(owner, id, "after the removal");
        await staysDevice.WaitForMessagesAsync(m => m.Any(x => x.Content == "after the removal"));
        await _client.SendAsync(owner, (await _client.DirectAsync(owner, gone.UserId)).Id, "a marker in another conversation");
        await goneDevice.WaitForMessagesAsync(m => m.Any(x => x.Content == "a marker in another conversation"));
        Assert.DoesNotContain(goneDevice.Messages, m => m.Content == "after the removal");
    }

    [Fact]
    public async Task Members_hear_additions_role_changes_and_edits_and_a_newcomer_sees_the_history_without_unread()
    {
        var (owner, member, newcomer) = (await _client.SignUpAsync(), await _client.SignUpAsync(), await _client.SignUpAsync());
        var id = await CreateAsync(owner, new { type = "group", memberIds = new[] { member.UserId }, title = "Team", description = "Ours", metadata = new { color = "teal" } });
        await _client.SendAsync(owner, id, "old news");
        await _client.WaitForStoredAsync(owner, id, 1);
        await using var memberDevice = await _client.ConnectAsync(member);
        await using var newcomerDevice = await _client.ConnectAsync(newcomer);
        var heard = Listen(memberDevice, "memberAdded", "memberRoleChanged", "conversationUpdated");
        var mine = Listen(newcomerDevice, "membershipChanged");

        var added = await _client.OkAsync<JsonElement>(HttpMethod.Post, $"/api/v1/conversations/{id}/members", owner, new { userIds = new[] { newcomer.UserId, member.UserId }, role = "moderator" });
        Assert.Equal(newcomer.UserId, Assert.Single(added.GetProperty("added").EnumerateArray()).GetProperty("userId").GetGuid());
        await _client.OkAsync<JsonElement>(HttpMethod.Patch, $"/api/v1/conversations/{id}/members/{member.UserId}", owner, new { role = "admin" });
        var edited = await _client.OkAsync<JsonElement>(HttpMethod.Patch, $"/api/v1/conversations/{id}", member, new { title = "Renamed", avatarUrl = "https://cdn.example.com/t.png", description = (string?)null });
        Assert.Equal(("Renamed", "admin"), (edited.GetProperty("title").GetString(), edited.GetProperty("role").GetString()));
        Assert.False(edited.TryGetProperty("description", out _));
        Assert.Equal("teal", edited.GetProperty("metadata").GetProperty("color").GetString());

        await Eventually.TrueAsync(() => heard.Select(e => e.Name).Distinct().Count() == 3, "memberAdded, memberRoleChanged and conversationUpdated");
        Assert.Equal(["memberAdded", "memberRoleChanged", "conversationUpdated"], heard.Select(e => e.Name));
        Assert.Equal("Renamed", heard.Last().Payload.GetProperty("title").GetString());
        await Eventually.TrueAsync(() => mine.Any(e => e.Payload.GetProperty("member").GetBoolean() && e.Payload.GetProperty("role").GetString() == "moderator"), "the newcomer hears they are in");

        var seen = await _client.OkAsync<JsonElement>(HttpMethod.Get, $"/api/v1/conversations/{id}", newcomer);
        Assert.Equal((0, "moderator"), (seen.GetProperty("unreadCount").GetInt64(), seen.GetProperty("role").GetString()));
        Assert.Contains((await _client.AllMessagesAsync(newcomer, id)), m => m.Content == "old news");
    }

    [Fact]
    public async Task Public_channels_are_found_and_joined_private_ones_are_not_and_an_archived_one_takes_no_sends()
    {
        var (owner, reader) = (await _client.SignUpAsync(), await _client.SignUpAsync());
        var tag = "ch" + Guid.NewGuid().ToString("N")[..10];
        var open = await CreateAsync(owner, new { type = "channel", memberIds = Array.Empty<Guid>(), title = tag + " open", visibility = "public" });
        var closed = await CreateAsync(owner, new { type = "channel", memberIds = Array.Empty<Guid>(), title = tag + " closed" });

        var found = await _client.OkAsync<JsonElement>(HttpMethod.Get, $"/api/v1/channels?query={tag.ToUpperInvariant()}", reader);
        Assert.Equal([open], found.GetProperty("items").EnumerateArray().Select(c => c.GetProperty("id").GetGuid()));
        Assert.Equal(1, found.GetProperty("items")[0].GetProperty("memberCount").GetInt32());

        await ProblemAssert.IsAsync(await _client.SendRawAsync(HttpMethod.Post, $"/api/v1/conversations/{closed}/join", reader), HttpStatusCode.Forbidden, "FORBIDDEN");
        var joined = await _client.OkAsync<JsonElement>(HttpMethod.Post, $"/api/v1/conversations/{open}/join", reader);
        Assert.Equal(reader.UserId, joined.GetProperty("added")[0].GetProperty("userId").GetGuid());
        Assert.Empty((await _client.OkAsync<JsonElement>(HttpMethod.Post, $"/api/v1/conversations/{open}/join", reader)).GetProperty("added").EnumerateArray());
        await _client.SendAsync(reader, open, "hello channel");

        await _client.OkAsync<JsonElement>(HttpMethod.Patch, $"/api/v1/conversations/{open}", owner, new { status = "archived" });
        await ProblemAssert.IsAsync(await _client.SendRawAsync(HttpMethod.Post, $"/api/v1/conversations/{open}/messages", reader, """{"content":"too late"}"""), HttpStatusCode.Conflict, "CONVERSATION_INACTIVE");
        Assert.Empty((await _client.OkAsync<JsonElement>(HttpMethod.Get, $"/api/v1/channels?query={tag}", reader)).GetProperty("items").EnumerateArray());

        var broadcast = await CreateAsync(owner, new { type = "broadcast", memberIds = new[] { reader.UserId }, title = "News" });
        await _client.SendAsync(owner, broadcast, "announcement");
        await ProblemAssert.IsAsync(await _client.SendRawAsync(HttpMethod.Post, $"/api/v1/conversations/{broadcast}/messages", reader, """{"content":"reply"}"""), HttpStatusCode.Forbidden, "FORBIDDEN_ROLE");
    }

    [Fact]
    public async Task The_last_owner_leaving_hands_the_group_on_and_the_last_member_leaving_archives_it()
    {
        var (owner, admin, member) = (await _client.SignUpAsync(), await _client.SignUpAsync(), await _client.SignUpAsync());
        var id = await CreateAsync(owner, new { type = "group", memberIds = new[] { member.UserId } });
        await _client.OkAsync<JsonElement>(HttpMethod.Post, $"/api/v1/conversations/{id}/members", owner, new { userIds = new[] { admin.UserId }, role = "admin" });

        var left = await _client.OkAsync<JsonElement>(HttpMethod.Post, $"/api/v1/conversations/{id}/leave", owner);
        Assert.Equal((admin.UserId, "owner"), (left.GetProperty("roleChanges")[0].GetProperty("userId").GetGuid(), left.GetProperty("roleChanges")[0].GetProperty("role").GetString()));
        await _client.OkAsync<JsonElement>(HttpMethod.Post, $"/api/v1/conversations/{id}/owner", admin, new { userId = member.UserId });
        Assert.Equal("admin", (await _client.OkAsync<JsonElement>(HttpMethod.Get, $"/api/v1/conversations/{id}", admin)).GetProperty("role").GetString());

        // Removing yourself is leaving.
        await _client.OkAsync<JsonElement>(HttpMethod.Delete, $"/api/v1/conversations/{id}/members/{admin.UserId}", admin);
        var last = await _client.OkAsync<JsonElement>(HttpMethod.Post, $"/api/v1/conversations/{id}/leave", member);
        Assert.Equal("archived", last.GetProperty("conversation").GetProperty("status").GetString());
    }

    [Fact]
    public async Task An_invite_admits_people_until_used_up_or_revoked_and_concurrent_joins_never_pass_its_max_uses()
    {
        var owner = await _client.SignUpAsync();
        var id = await CreateAsync(owner, new { type = "group", memberIds = Array.Empty<Guid>(), title = "Invited" });
        var invite = await _client.OkAsync<JsonElement>(HttpMethod.Post, $"/api/v1/conversations/{id}/invites", owner,
            new { maxUses = 2, expiresAt = DateTimeOffset.UtcNow.AddDays(1) }, HttpStatusCode.Created);
        var join = invite.GetProperty("joinPath").GetString()!;
        Assert.Equal(("active", 0), (invite.GetProperty("state").GetString(), invite.GetProperty("uses").GetInt32()));

        var people = new List<Session>();
        for (var i = 0; i < 6; i++)
        {
            people.Add(await _client.SignUpAsync());
        }

        var answers = await Task.WhenAll(people.Select(async p =>
        {
            using var response = await _client.SendRawAsync(HttpMethod.Post, join, p);
            return (p, response.StatusCode, (await response.Content.ReadAsStringAsync()));
        }));
        Assert.Equal(2, answers.Count(a => a.StatusCode == HttpStatusCode.OK));
        Assert.All(answers.Where(a => a.StatusCode != HttpStatusCode.OK), a =>
        {
            Assert.Equal(HttpStatusCode.Gone, a.StatusCode);
            Assert.Contains("INVITE_EXPIRED", a.Item3, StringComparison.Ordinal);
        });
        Assert.Equal(3, (await _client.OkAsync<JsonElement>(HttpMethod.Get, $"/api/v1/conversations/{id}", owner)).GetProperty("memberIds").GetArrayLength());

        // An admitted member joining again is a no-op 200, used up or not.
        var admitted = answers.First(a => a.StatusCode == HttpStatusCode.OK).p;
        Assert.Empty((await _client.OkAsync<JsonElement>(HttpMethod.Post, join, admitted)).GetProperty("added").EnumerateArray());
        await _client.SendAsync(admitted, id, "I am in");

        var open = await _client.OkAsync<JsonElement>(HttpMethod.Post, $"/api/v1/conversations/{id}/invites", owner, new { }, HttpStatusCode.Created);
        var code = open.GetProperty("code").GetString()!;
        var listed = await _client.OkAsync<JsonElement>(HttpMethod.Get, $"/api/v1/conversations/{id}/invites", owner);
        Assert.Equal(["active", "usedUp"], listed.EnumerateArray().Select(i => i.GetProperty("state").GetString()).Order());
        await ProblemAssert.IsAsync(await _client.SendRawAsync(HttpMethod.Get, $"/api/v1/conversations/{id}/invites", admitted), HttpStatusCode.Forbidden, "FORBIDDEN_ROLE");
        Assert.Equal("revoked", (await _client.OkAsync<JsonElement>(HttpMethod.Delete, $"/api/v1/conversations/{id}/invites/{code}", owner)).GetProperty("state").GetString());
        var late = await _client.SignUpAsync();
        await ProblemAssert.IsAsync(await _client.SendRawAsync(HttpMethod.Post, $"/api/v1/invites/{code}/join", late), HttpStatusCode.Gone, "INVITE_EXPIRED");
        await ProblemAssert.IsAsync(await _client.SendRawAsync(HttpMethod.Post, "/api/v1/invites/NoSuchCode123/join", late), HttpStatusCode.NotFound, "INVITE_NOT_FOUND");
    }

    [Fact]
    public async Task A_booking_conversation_is_got_or_created_once_under_concurrency_and_its_messages_carry_the_senders_side()
    {
        var (customer, provider) = (await _client.SignUpAsync(), await _client.SignUpAsync());
        var booking = Guid.NewGuid().ToString();
        object Body(Session me, Session other) => new
        {
            type = "group",
            memberIds = new[] { other.UserId },
            title = "Booking",
            context = new { type = "BOOKING", id = booking, metadata = new { service = "haircut" } },
            sides = new Dictionary<string, string> { [customer.UserId.ToString()] = "customer", [provider.UserId.ToString()] = "provider" },
        };

        var answers = await Task.WhenAll(Enumerable.Range(0, 6).Select(async i =>
        {
            var (me, other) = i % 2 == 0 ? (customer, provider) : (provider, customer);
            using var response = await _client.SendRawAsync(HttpMethod.Post, "/api/v1/conversations", me, JsonSerializer.Serialize(Body(me, other)));
            return (response.StatusCode, JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone());
        }));
        Assert.Single(answers, a => a.StatusCode == HttpStatusCode.Created);
        Assert.All(answers, a => Assert.True(a.StatusCode is HttpStatusCode.Created or HttpStatusCode.OK, a.StatusCode.ToString()));
        var id = Assert.Single(answers.Select(a => a.Item2.GetProperty("id").GetGuid()).Distinct());
        var context = answers[0].Item2.GetProperty("context");
        Assert.Equal(("BOOKING", booking, "haircut"), (context.GetProperty("type").GetString(), context.GetProperty("id").GetString(), context.GetProperty("metadata").GetProperty("service").GetString()));

        Assert.Equal("provider", (await _client.OkAsync<JsonElement>(HttpMethod.Get, $"/api/v1/conversations/{id}", provider)).GetProperty("side").GetString());
        await _client.SendAsync(customer, id, "Is 10:00 free?");
        await _client.SendAsync(provider, id, "Yes");
        var history = await _client.OkAsync<JsonElement>(HttpMethod.Get, $"/api/v1/conversations/{id}/messages", customer);
        await Eventually.TrueAsync(async () => (await _client.HistoryAsync(customer, id)).Items.Count == 2, "both messages stored");
        history = await _client.OkAsync<JsonElement>(HttpMethod.Get, $"/api/v1/conversations/{id}/messages", customer);
        Assert.Equal(["customer", "provider"], history.GetProperty("items").EnumerateArray().Select(m => m.GetProperty("senderSide").GetString()));

        // Found by what it is about, archived or not; another booking's id finds nothing.
        await _client.OkAsync<JsonElement>(HttpMethod.Patch, $"/api/v1/conversations/{id}/settings", provider, new { archived = true });
        var found = await _client.OkAsync<JsonElement>(HttpMethod.Get, $"/api/v1/conversations?contextType=BOOKING&contextId={booking}", provider);
        Assert.Equal(id, Assert.Single(found.GetProperty("items").EnumerateArray()).GetProperty("id").GetGuid());
        Assert.Empty((await _client.OkAsync<JsonElement>(HttpMethod.Get, $"/api/v1/conversations?contextType=BOOKING&contextId={booking}&archived=false", provider)).GetProperty("items").EnumerateArray());
        Assert.Empty((await _client.OkAsync<JsonElement>(HttpMethod.Get, $"/api/v1/conversations?contextType=SUPPORT&contextId={booking}", provider)).GetProperty("items").EnumerateArray());
        Assert.Single((await _client.OkAsync<JsonElement>(HttpMethod.Get, "/api/v1/conversations?contextType=BOOKING", customer)).GetProperty("items").EnumerateArray());
    }
}
