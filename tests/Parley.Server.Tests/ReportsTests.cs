using System.Collections.Concurrent;
using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.Options;
using Parley.Server.Tests.Infrastructure;

namespace Parley.Server.Tests;

/// <summary>
/// A server of its own per engine set, with one server admin configured (<c>Parley:Admins</c>) and registered before any
/// request, and the <paramref name="settings"/> a test class needs on top.
/// </summary>
public abstract class ModerationServerBase(string engine, IReadOnlyDictionary<string, string?>? settings = null) : IAsyncLifetime
{
    private TestServer? _server;

    public TestServer Server => _server ?? throw new InvalidOperationException("Not started");

    public Session Admin { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        var name = "adm" + Guid.NewGuid().ToString("N")[..16];
        var all = await TestEngines.SettingsAsync(engine);
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            all[key] = value;
        }

        // Given in another case than it registers with: names are compared as the user store keeps them.
        all["Parley:Admins:0"] = name.ToUpperInvariant();
        _server = await TestServer.StartAsync(all);
        using var client = _server.Client();
        using var register = await client.SendRawAsync(HttpMethod.Post, "/api/v1/auth/register", null, JsonSerializer.Serialize(new { username = name, password = "correct horse" }));
        Assert.Equal(HttpStatusCode.Created, register.StatusCode);
        Admin = await client.LoginAsync(name, "correct horse");
    }

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }
}

public sealed class EmbeddedModerationServer() : ModerationServerBase(TestEngines.Embedded);

public sealed class ProductionModerationServer() : ModerationServerBase(TestEngines.Production);

public sealed class EmbeddedReportsTests(EmbeddedModerationServer fixture) : ReportsTests(fixture.Server, fixture.Admin), IClassFixture<EmbeddedModerationServer>;

public sealed class ProductionReportsTests(ProductionModerationServer fixture) : ReportsTests(fixture.Server, fixture.Admin), IClassFixture<ProductionModerationServer>;

public sealed class ServerAdminSettingsTests
{
    [Theory]
    [InlineData("bad name!")]
    [InlineData("ab")]
    [InlineData("a-name-much-longer-than-thirty-two-characters")]
    public async Task A_malformed_admin_name_stops_the_start_and_names_the_setting(string name)
    {
        var error = await Assert.ThrowsAsync<OptionsValidationException>(() =>
            TestServer.StartAsync(new Dictionary<string, string?> { ["Parley:Admins:0"] = "alice", ["Parley:Admins:1"] = name }));
        Assert.Contains("Parley:Admins:1", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("Parley:Admins:0", error.Message, StringComparison.Ordinal);
    }
}

/// <summary>
/// Reports and moderation (M9) end to end: a member reports, the conversation's moderators and the server admins see the
/// queue, and a resolution dismisses, deletes the message for everyone (through the log, reaching every device) or
/// removes the sender.
/// </summary>
public abstract class ReportsTests(TestServer server, Session admin)
{
    private readonly ParleyClient _client = server.Client();

    [Fact]
    public async Task A_member_reports_once_per_message_outsiders_cannot_and_the_moderator_sees_only_their_conversations()
    {
        var (owner, sender, reporter, outsider, otherOwner) = (await _client.SignUpAsync(), await _client.SignUpAsync(), await _client.SignUpAsync(), await _client.SignUpAsync(), await _client.SignUpAsync());
        var group = (await _client.GroupAsync(owner, "reported", sender.UserId, reporter.UserId)).Id;
        var elsewhere = (await _client.GroupAsync(otherOwner, "elsewhere", sender.UserId, reporter.UserId)).Id;
        var message = await StoredAsync(sender, group, "something rude");
        var other = await StoredAsync(sender, elsewhere, "something else");

        var report = await _client.OkAsync<JsonElement>(HttpMethod.Post, $"/api/v1/messages/{message}/reports", reporter, new { reason = "  rude  " }, HttpStatusCode.Created);
        Assert.Equal(("rude", "open", message, group, reporter.UserId), (report.GetProperty("reason").GetString(), report.GetProperty("status").GetString(),
            report.GetProperty("messageId").GetGuid(), report.GetProperty("conversationId").GetGuid(), report.GetProperty("reporterId").GetGuid()));
        Assert.False(report.TryGetProperty("resolvedBy", out _));
        var again = await _client.OkAsync<JsonElement>(HttpMethod.Post, $"/api/v1/messages/{message}/reports", reporter, new { reason = "really rude" });
        Assert.Equal((report.GetProperty("id").GetGuid(), "rude"), (again.GetProperty("id").GetGuid(), again.GetProperty("reason").GetString()));
        await ProblemAssert.IsAsync(await _client.SendRawAsync(HttpMethod.Post, $"/api/v1/messages/{message}/reports", outsider, """{"reason":"nosy"}"""),
            HttpStatusCode.NotFound, "MESSAGE_NOT_FOUND");
        await _client.OkAsync<JsonElement>(HttpMethod.Post, $"/api/v1/messages/{other}/reports", reporter, new { reason = "spam" }, HttpStatusCode.Created);

        // The owner moderates the first group only; a member moderates nothing; the server admin sees both.
        Assert.Equal([message], await QueueAsync(owner));
        Assert.Equal([other], await QueueAsync(otherOwner));
        Assert.Empty(await QueueAsync(reporter));
        Assert.Superset(new HashSet<Guid> { message, other }, (await QueueAsync(admin)).ToHashSet());
        Assert.Equal([message], await QueueAsync(admin, $"&conversationId={group}"));
        var item = (await _client.OkAsync<JsonElement>(HttpMethod.Get, $"/api/v1/moderation/reports?conversationId={group}", owner)).GetProperty("items")[0];
        Assert.Equal("something rude", item.GetProperty("message").GetProperty("content").GetString());
        await ProblemAssert.IsAsync(await _client.SendRawAsync(HttpMethod.Get, $"/api/v1/moderation/reports?conversationId={group}", reporter), HttpStatusCode.Forbidden, "FORBIDDEN_ROLE");
        await ProblemAssert.IsAsync(await _client.SendRawAsync(HttpMethod.Get, $"/api/v1/moderation/reports?conversationId={group}", outsider), HttpStatusCode.Forbidden, "NOT_CONVERSATION_MEMBER");
    }

    [Fact]
    public async Task Dismissing_resolves_every_open_report_on_the_message_once_and_only_a_moderator_may()
    {
        var (owner, sender, first, second, outsider) = (await _client.SignUpAsync(), await _client.SignUpAsync(), await _client.SignUpAsync(), await _client.SignUpAsync(), await _client.SignUpAsync());
        var group = (await _client.GroupAsync(owner, "dismiss", sender.UserId, first.UserId, second.UserId)).Id;
        var message = await StoredAsync(sender, group, "borderline");
        var report = (await _client.OkAsync<JsonElement>(HttpMethod.Post, $"/api/v1/messages/{message}/reports", first, new { reason = "hmm" }, HttpStatusCode.Created)).GetProperty("id").GetGuid();
        await _client.OkAsync<JsonElement>(HttpMethod.Post, $"/api/v1/messages/{message}/reports", second, new { reason = "hmm too" }, HttpStatusCode.Created);

        await ProblemAssert.IsAsync(await _client.SendRawAsync(HttpMethod.Post, $"/api/v1/moderation/reports/{report}/resolve", first, """{"action":"dismiss"}"""),
            HttpStatusCode.Forbidden, "FORBIDDEN_ROLE");
        await ProblemAssert.IsAsync(await _client.SendRawAsync(HttpMethod.Post, $"/api/v1/moderation/reports/{report}/resolve", outsider, """{"action":"dismiss"}"""),
            HttpStatusCode.NotFound, "REPORT_NOT_FOUND");
        var resolved = await _client.OkAsync<JsonElement>(HttpMethod.Post, $"/api/v1/moderation/reports/{report}/resolve", owner, new { action = "dismiss" });
        Assert.Equal(2, resolved.GetProperty("resolved").GetInt32());
        Assert.Equal(("resolved", "dismiss", owner.UserId), (resolved.GetProperty("report").GetProperty("status").GetString(),
            resolved.GetProperty("report").GetProperty("action").GetString(), resolved.GetProperty("report").GetProperty("resolvedBy").GetGuid()));
        Assert.False(resolved.TryGetProperty("change", out _));
        await ProblemAssert.IsAsync(await _client.SendRawAsync(HttpMethod.Post, $"/api/v1/moderation/reports/{report}/resolve", owner, """{"action":"delete_message"}"""),
            HttpStatusCode.Conflict, "REPORT_ALREADY_RESOLVED");

        Assert.Empty(await QueueAsync(owner));
        Assert.Equal(2, (await _client.OkAsync<JsonElement>(HttpMethod.Get, $"/api/v1/moderation/reports?status=resolved&conversationId={group}", owner)).GetProperty("items").GetArrayLength());
        Assert.False((await MessageAsync(sender, group, message)).Flag("deleted"));
    }

    [Fact]
    public async Task A_server_admin_who_is_not_a_member_deletes_a_reported_message_for_everyone_through_the_log()
    {
        var (owner, sender, reporter) = (await _client.SignUpAsync(), await _client.SignUpAsync(), await _client.SignUpAsync());
        var group = (await _client.GroupAsync(owner, "delete", sender.UserId, reporter.UserId)).Id;
        var deleted = new ConcurrentQueue<JsonElement>();
        await using var phone = _client.BuildConnection(reporter);
        phone.On<JsonElement>("messageDeleted", deleted.Enqueue);
        await phone.StartAsync();
        var message = await StoredAsync(sender, group, "really bad");
        var report = (await _client.OkAsync<JsonElement>(HttpMethod.Post, $"/api/v1/messages/{message}/reports", reporter, new { reason = "bad" }, HttpStatusCode.Created)).GetProperty("id").GetGuid();

        var resolved = await _client.OkAsync<JsonElement>(HttpMethod.Post, $"/api/v1/moderation/reports/{report}/resolve", admin, new { action = "delete_message" });
        Assert.Equal(("delete_message", admin.UserId, 1), (resolved.GetProperty("report").GetProperty("action").GetString(),
            resolved.GetProperty("report").GetProperty("resolvedBy").GetGuid(), resolved.GetProperty("resolved").GetInt32()));
        Assert.Equal(("delete", message, "pending"), (resolved.GetProperty("change").GetProperty("kind").GetString(),
            resolved.GetProperty("change").GetProperty("messageId").GetGuid(), resolved.GetProperty("change").GetProperty("state").GetString()));

        await Eventually.TrueAsync(() => deleted.Any(e => e.GetProperty("messageId").GetGuid() == message), "messageDeleted on the reporter's device");
        foreach (var member in new[] { owner, sender, reporter })
        {
            var view = await MessageAsync(member, group, message);
            Assert.True(view.Flag("deleted"));
            Assert.Equal("", view.GetProperty("content").GetString());
        }

        // The queue keeps the report, with the message as it now is: a tombstone.
        var item = (await _client.OkAsync<JsonElement>(HttpMethod.Get, $"/api/v1/moderation/reports?status=resolved&conversationId={group}", admin)).GetProperty("items").EnumerateArray().Single();
        Assert.True(item.GetProperty("message").Flag("deleted"));
        await ProblemAssert.IsAsync(await _client.SendRawAsync(HttpMethod.Post, $"/api/v1/messages/{message}/reports", owner, """{"reason":"late"}"""),
            HttpStatusCode.Conflict, "MESSAGE_DELETED");
    }

    [Fact]
    public async Task Removing_the_sender_takes_them_out_of_the_conversation_and_a_moderator_may_only_remove_those_below_them()
    {
        var (owner, moderator, sender, reporter) = (await _client.SignUpAsync(), await _client.SignUpAsync(), await _client.SignUpAsync(), await _client.SignUpAsync());
        var channel = (await _client.OkAsync<JsonElement>(HttpMethod.Post, "/api/v1/conversations", owner,
            new { type = "channel", title = "moderated", memberIds = new[] { moderator.UserId, sender.UserId, reporter.UserId } }, HttpStatusCode.Created)).GetProperty("id").GetGuid();
        await _client.OkAsync<JsonElement>(HttpMethod.Patch, $"/api/v1/conversations/{channel}/members/{moderator.UserId}", owner, new { role = "moderator" });
        var byOwner = await StoredAsync(owner, channel, "owner's words");
        var bySender = await StoredAsync(sender, channel, "spam spam");
        var ownerReport = (await _client.OkAsync<JsonElement>(HttpMethod.Post, $"/api/v1/messages/{byOwner}/reports", reporter, new { reason = "abuse of power" }, HttpStatusCode.Created)).GetProperty("id").GetGuid();
        var senderReport = (await _client.OkAsync<JsonElement>(HttpMethod.Post, $"/api/v1/messages/{bySender}/reports", reporter, new { reason = "spam" }, HttpStatusCode.Created)).GetProperty("id").GetGuid();

        // The moderator may not remove the owner: the report stays open.
        await ProblemAssert.IsAsync(await _client.SendRawAsync(HttpMethod.Post, $"/api/v1/moderation/reports/{ownerReport}/resolve", moderator, """{"action":"remove_member"}"""),
            HttpStatusCode.Forbidden, "FORBIDDEN_ROLE");
        Assert.Equal(2, (await QueueAsync(moderator)).Count);

        var resolved = await _client.OkAsync<JsonElement>(HttpMethod.Post, $"/api/v1/moderation/reports/{senderReport}/resolve", moderator, new { action = "remove_member" });
        Assert.Equal("remove_member", resolved.GetProperty("report").GetProperty("action").GetString());
        var members = (await _client.OkAsync<JsonElement>(HttpMethod.Get, $"/api/v1/conversations/{channel}", owner)).GetProperty("memberIds").EnumerateArray().Select(m => m.GetGuid()).ToList();
        Assert.DoesNotContain(sender.UserId, members);
        await ProblemAssert.IsAsync(await _client.SendRawAsync(HttpMethod.Post, $"/api/v1/conversations/{channel}/messages", sender, """{"content":"back?"}"""),
            HttpStatusCode.Forbidden, "NOT_CONVERSATION_MEMBER");
        Assert.False((await MessageAsync(owner, channel, bySender)).Flag("deleted"));
        Assert.Equal([byOwner], await QueueAsync(moderator));
    }

    [Fact]
    public async Task A_server_admin_removes_any_sender_but_an_owner_and_nobody_from_a_direct_conversation()
    {
        var (owner, sender, reporter) = (await _client.SignUpAsync(), await _client.SignUpAsync(), await _client.SignUpAsync());
        var group = (await _client.GroupAsync(owner, "admin removes", sender.UserId, reporter.UserId)).Id;
        var direct = (await _client.DirectAsync(reporter, sender.UserId)).Id;
        // An admin of the group: no moderator of it could remove them, a server admin can.
        await _client.OkAsync<JsonElement>(HttpMethod.Patch, $"/api/v1/conversations/{group}/members/{sender.UserId}", owner, new { role = "admin" });
        var reports = new List<Guid>();
        foreach (var (who, conversation) in new[] { (sender, group), (owner, group), (sender, direct) })
        {
            var message = await StoredAsync(who, conversation, "reported");
            reports.Add((await _client.OkAsync<JsonElement>(HttpMethod.Post, $"/api/v1/messages/{message}/reports", reporter, new { reason = "abuse" }, HttpStatusCode.Created))
                .GetProperty("id").GetGuid());
        }

        await ProblemAssert.IsAsync(await _client.SendRawAsync(HttpMethod.Post, $"/api/v1/moderation/reports/{reports[1]}/resolve", admin, """{"action":"remove_member"}"""),
            HttpStatusCode.Forbidden, "FORBIDDEN_ROLE");
        await ProblemAssert.IsAsync(await _client.SendRawAsync(HttpMethod.Post, $"/api/v1/moderation/reports/{reports[2]}/resolve", admin, """{"action":"remove_member"}"""),
            HttpStatusCode.Forbidden, "FORBIDDEN_ROLE");
        await _client.OkAsync<JsonElement>(HttpMethod.Post, $"/api/v1/moderation/reports/{reports[0]}/resolve", admin, new { action = "remove_member" });
        var members = (await _client.OkAsync<JsonElement>(HttpMethod.Get, $"/api/v1/conversations/{group}", owner)).GetProperty("memberIds").EnumerateArray().Select(m => m.GetGuid()).ToList();
        Assert.Equal(new[] { owner.UserId, reporter.UserId }.Order(), members.Order());
        Assert.Equal("dismiss", (await _client.OkAsync<JsonElement>(HttpMethod.Post, $"/api/v1/moderation/reports/{reports[2]}/resolve", admin, new { action = "dismiss" }))
            .GetProperty("report").GetProperty("action").GetString());
        Assert.Equal([reports[1]], (await _client.OkAsync<JsonElement>(HttpMethod.Get, $"/api/v1/moderation/reports?conversationId={group}", admin)).GetProperty("items")
            .EnumerateArray().Select(i => i.GetProperty("id").GetGuid()));
    }

    /// <summary>Sends and waits until the message is stored (a report names a stored message).</summary>
    private async Task<Guid> StoredAsync(Session sender, Guid conversation, string content)
    {
        var sent = await _client.SendAsync(sender, conversation, content);
        await Eventually.TrueAsync(async () => (await _client.AllMessagesAsync(sender, conversation)).Any(m => m.Id == sent.MessageId), $"'{content}' stored");
        return sent.MessageId;
    }

    /// <summary>The reported message ids of the caller's open queue, newest report first, over every page.</summary>
    private async Task<List<Guid>> QueueAsync(Session who, string query = "")
    {
        var ids = new List<Guid>();
        string? cursor = null;
        do
        {
            var page = await _client.OkAsync<JsonElement>(HttpMethod.Get, $"/api/v1/moderation/reports?limit=1{query}" + (cursor is null ? "" : $"&cursor={cursor}"), who);
            ids.AddRange(page.GetProperty("items").EnumerateArray().Select(i => i.GetProperty("messageId").GetGuid()));
            cursor = page.TryGetProperty("nextCursor", out var next) && next.ValueKind == JsonValueKind.String ? next.GetString() : null;
        }
        while (cursor is not null);
        return ids;
    }

    private async Task<JsonElement> MessageAsync(Session who, Guid conversation, Guid id) =>
        (await _client.OkAsync<JsonElement>(HttpMethod.Get, $"/api/v1/conversations/{conversation}/messages", who)).GetProperty("items").EnumerateArray()
            .Single(m => m.GetProperty("id").GetGuid() == id);
}
