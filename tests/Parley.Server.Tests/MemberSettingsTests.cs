using System.Collections.Concurrent;
using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.SignalR.Client;
using Parley.Server.Tests.Infrastructure;

namespace Parley.Server.Tests;

[Collection(SharedServerCollection.Name)]
public sealed class EmbeddedMemberSettingsTests(SharedServer fixture) : MemberSettingsTests(fixture.Server);

[Collection(ProductionServerCollection.Name)]
public sealed class ProductionMemberSettingsTests(ProductionServer fixture) : MemberSettingsTests(fixture.Server);

/// <summary>M5 per-member mute, pin and archive over the API, and the conversation list's order and filters they drive.</summary>
public abstract class MemberSettingsTests(TestServer server)
{
    private readonly ParleyClient _client = server.Client();

    private Task<JsonElement> PatchAsync(Session me, Guid conversation, object body) =>
        _client.OkAsync<JsonElement>(HttpMethod.Patch, $"/api/v1/conversations/{conversation}/settings", me, body);

    /// <summary>The whole list, one item per page, so every page boundary (the pinned one included) is crossed.</summary>
    private async Task<List<JsonElement>> ListAsync(Session me, string query = "")
    {
        var items = new List<JsonElement>();
        string? cursor = null;
        do
        {
            var page = await _client.OkAsync<JsonElement>(HttpMethod.Get, $"/api/v1/conversations?limit=1{(cursor is null ? "" : "&cursor=" + cursor)}{(query.Length == 0 ? "" : "&" + query)}", me);
            items.AddRange(page.GetProperty("items").EnumerateArray());
            cursor = page.GetProperty("nextCursor").GetString();
        }
        while (cursor is not null);

        return items;
    }

    private static List<Guid> Ids(IEnumerable<JsonElement> items) => [.. items.Select(i => i.GetProperty("id").GetGuid())];

    private static (bool Muted, DateTimeOffset? MutedUntil, bool Pinned, bool Archived) Settings(JsonElement e) => (
        e.GetProperty("muted").GetBoolean(),
        e.GetProperty("mutedUntil").ValueKind == JsonValueKind.Null ? null : e.GetProperty("mutedUntil").GetDateTimeOffset(),
        e.GetProperty("pinned").GetBoolean(),
        e.GetProperty("archived").GetBoolean());

    private static ConcurrentQueue<JsonElement> Listen(Device device)
    {
        var heard = new ConcurrentQueue<JsonElement>();
        device.Connection.On<JsonElement>("conversationSettingsChanged", payload => heard.Enqueue(payload));
        return heard;
    }

    [Fact]
    public async Task A_member_changes_only_their_own_settings_and_their_other_devices_hear_of_it()
    {
        var (me, other) = (await _client.SignUpAsync(), await _client.SignUpAsync());
        var id = (await _client.DirectAsync(me, other.UserId)).Id;
        await using var myOtherDevice = await _client.ConnectAsync(me);
        await using var theirDevice = await _client.ConnectAsync(other);
        var mine = Listen(myOtherDevice);
        var theirs = Listen(theirDevice);

        var muted = await PatchAsync(me, id, new { muted = true, pinned = true });
        Assert.Equal((id, (true, (DateTimeOffset?)null, true, false)), (muted.GetProperty("conversationId").GetGuid(), Settings(muted)));
        await Eventually.TrueAsync(() => mine.Any(e => e.GetProperty("conversationId").GetGuid() == id && Settings(e) == (true, null, true, false)), "my other device hears conversationSettingsChanged");

        var until = DateTimeOffset.UtcNow.AddHours(3).ToOffset(TimeSpan.FromHours(-5));
        var untilThen = await PatchAsync(me, id, new { mutedUntil = until.ToString("yyyy-MM-dd'T'HH:mm:ss.fffzzz", System.Globalization.CultureInfo.InvariantCulture) });
        Assert.Equal((true, (DateTimeOffset?)StoreMs(until), true, false), Settings(untilThen));

        var unmuted = await PatchAsync(me, id, new { muted = false, archived = true });
        Assert.Equal((false, (DateTimeOffset?)null, true, true), Settings(unmuted));
        await Eventually.TrueAsync(() => mine.Count == 3, "every change reaches my other device");
        Assert.Equal((false, (DateTimeOffset?)null, true, true), Settings(mine.Last()));

        // The same again changes nothing and tells nobody; an empty body answers the settings as they are.
        Assert.Equal(Settings(unmuted), Settings(await PatchAsync(me, id, new { archived = true })));
        Assert.Equal(Settings(unmuted), Settings(await PatchAsync(me, id, new { })));

        Assert.Equal((false, (DateTimeOffset?)null, true, true), Settings(await _client.OkAsync<JsonElement>(HttpMethod.Get, $"/api/v1/conversations/{id}", me)));
        Assert.Equal((false, (DateTimeOffset?)null, false, false), Settings(await _client.OkAsync<JsonElement>(HttpMethod.Get, $"/api/v1/conversations/{id}", other)));

        // The other member's own change reaches them, and by then nothing of mine has: my events go to me alone.
        await PatchAsync(other, id, new { pinned = true });
        await Eventually.TrueAsync(() => !theirs.IsEmpty, "the other member's device hears their own change");
        Assert.Equal((false, (DateTimeOffset?)null, true, false), Settings(Assert.Single(theirs)));
        Assert.Equal(3, mine.Count);
    }

    [Fact]
    public async Task The_list_puts_pinned_first_pages_across_them_hides_archived_and_filters_by_kind()
    {
        var (me, other) = (await _client.SignUpAsync(), await _client.SignUpAsync());
        var direct = (await _client.DirectAsync(me, other.UserId)).Id;
        var group = (await _client.GroupAsync(me, "G", other.UserId)).Id;
        var channel = (await _client.OkAsync<JsonElement>(HttpMethod.Post, "/api/v1/conversations", me, new { type = "channel", memberIds = Array.Empty<Guid>(), title = "C" }, HttpStatusCode.Created)).GetProperty("id").GetGuid();
        var broadcast = (await _client.OkAsync<JsonElement>(HttpMethod.Post, "/api/v1/conversations", me, new { type = "broadcast", memberIds = Array.Empty<Guid>(), title = "B" }, HttpStatusCode.Created)).GetProperty("id").GetGuid();
        await _client.SendAsync(me, group, "newest activity");
        await Eventually.TrueAsync(async () => Ids(await ListAsync(me))[0] == group, "the message moves the group to the top");
        Assert.Equal([group, broadcast, channel, direct], Ids(await ListAsync(me)));

        // Pinned ones first (each part by activity), with one-item pages walking across the boundary.
        await PatchAsync(me, direct, new { pinned = true });
        await PatchAsync(me, channel, new { pinned = true });
        var listed = await ListAsync(me);
        Assert.Equal([channel, direct, group, broadcast], Ids(listed));
        Assert.Equal([true, true, false, false], listed.Select(i => i.GetProperty("pinned").GetBoolean()));

        // Archived ones are listed only when asked for, and then alone.
        await PatchAsync(me, broadcast, new { archived = true });
        Assert.Equal([channel, direct, group], Ids(await ListAsync(me)));
        Assert.Equal([channel, direct, group], Ids(await ListAsync(me, "archived=false")));
        Assert.Equal([broadcast], Ids(await ListAsync(me, "archived=true")));
        Assert.Equal([direct], Ids(await ListAsync(me, "kind=direct")));
        Assert.Equal([group], Ids(await ListAsync(me, "kind=group")));
        Assert.Empty(await ListAsync(me, "kind=broadcast"));
        Assert.Equal([broadcast], Ids(await ListAsync(me, "kind=broadcast&archived=true")));

        // Someone else's pins and archives are theirs: the other member's list is by activity alone.
        Assert.Equal([group, direct], Ids(await ListAsync(other)));

        // A mute that runs out reads as no mute, in the list and the conversation alike.
        await PatchAsync(me, group, new { mutedUntil = DateTimeOffset.UtcNow.AddSeconds(5).ToString("O", System.Globalization.CultureInfo.InvariantCulture) });
        Assert.True((await ListAsync(me)).Single(i => i.GetProperty("id").GetGuid() == group).GetProperty("muted").GetBoolean());
        await Eventually.TrueAsync(async () => !(await ListAsync(me)).Single(i => i.GetProperty("id").GetGuid() == group).GetProperty("muted").GetBoolean(), "the mute runs out");
        Assert.Equal((false, (DateTimeOffset?)null, false, false), Settings(await _client.OkAsync<JsonElement>(HttpMethod.Get, $"/api/v1/conversations/{group}", me)));
    }

    [Fact]
    public async Task Strangers_and_removed_members_are_refused_and_unknown_conversations_are_not_found()
    {
        var (owner, member, stranger) = (await _client.SignUpAsync(), await _client.SignUpAsync(), await _client.SignUpAsync());
        var id = (await _client.GroupAsync(owner, "G", member.UserId)).Id;
        await PatchAsync(member, id, new { pinned = true });

        await ProblemAssert.IsAsync(await _client.SendRawAsync(HttpMethod.Patch, $"/api/v1/conversations/{id}/settings", stranger, """{"pinned":true}"""), HttpStatusCode.Forbidden, "NOT_CONVERSATION_MEMBER");
        await _client.OkAsync<JsonElement>(HttpMethod.Delete, $"/api/v1/conversations/{id}/members/{member.UserId}", owner);
        await ProblemAssert.IsAsync(await _client.SendRawAsync(HttpMethod.Patch, $"/api/v1/conversations/{id}/settings", member, """{"pinned":false}"""), HttpStatusCode.Forbidden, "NOT_CONVERSATION_MEMBER");
        await ProblemAssert.IsAsync(await _client.SendRawAsync(HttpMethod.Patch, $"/api/v1/conversations/{Guid.NewGuid()}/settings", owner, """{"pinned":true}"""), HttpStatusCode.NotFound, "CONVERSATION_NOT_FOUND");

        // Coming back starts afresh: the settings left with the membership.
        await _client.OkAsync<JsonElement>(HttpMethod.Post, $"/api/v1/conversations/{id}/members", owner, new { userIds = new[] { member.UserId } });
        Assert.False((await _client.OkAsync<JsonElement>(HttpMethod.Get, $"/api/v1/conversations/{id}", member)).GetProperty("pinned").GetBoolean());
    }

    /// <summary>The instant as the store keeps it: whole milliseconds.</summary>
    private static DateTimeOffset StoreMs(DateTimeOffset at) => at.AddTicks(-(at.Ticks % TimeSpan.TicksPerMillisecond));
}
