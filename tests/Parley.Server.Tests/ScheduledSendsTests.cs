using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;
using Parley.Core.Events;
using Parley.Core.Ports;
using Parley.Server.Tests.Infrastructure;

namespace Parley.Server.Tests;

[Collection(SharedServerCollection.Name)]
public sealed class EmbeddedScheduledSendsTests(SharedServer fixture) : ScheduledSendsTests(fixture.Server);

[Collection(ProductionServerCollection.Name)]
public sealed class ProductionScheduledSendsTests(ProductionServer fixture) : ScheduledSendsTests(fixture.Server);

/// <summary>
/// Scheduled sends (M8): checked like a send when scheduled, listed and cancellable by their sender, and sent through the
/// log at their time, so the sequence is assigned then: after every message sent meanwhile.
/// </summary>
public abstract class ScheduledSendsTests(TestServer server)
{
    private readonly ParleyClient _client = server.Client();

    internal static string At(TimeSpan fromNow) => (DateTimeOffset.UtcNow + fromNow).ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture);

    internal static Task<JsonElement> ScheduleAsync(ParleyClient client, Session me, Guid conversation, string content, TimeSpan fromNow, string? clientMessageId = null) =>
        client.OkAsync<JsonElement>(HttpMethod.Post, $"/api/v1/conversations/{conversation}/messages", me,
            new { content, clientMessageId, sendAt = At(fromNow) }, HttpStatusCode.Accepted);

    internal static Task<JsonElement> ScheduledAsync(ParleyClient client, Session me, Guid scheduledId) =>
        client.OkAsync<JsonElement>(HttpMethod.Get, $"/api/v1/scheduled/{scheduledId}", me);

    private async Task<List<Guid>> PendingAsync(Session me, Guid conversation) =>
        [.. (await _client.OkAsync<JsonElement>(HttpMethod.Get, $"/api/v1/conversations/{conversation}/scheduled", me))
            .GetProperty("items").EnumerateArray().Select(i => i.GetProperty("scheduledId").GetGuid())];

    [Fact]
    public async Task A_scheduled_message_is_listed_then_sent_at_its_time_after_the_messages_sent_meanwhile_to_every_device()
    {
        var (sender, reader) = (await _client.SignUpAsync(), await _client.SignUpAsync());
        var group = (await _client.GroupAsync(sender, "later", reader.UserId)).Id;
        await using var phone = await _client.ConnectAsync(reader);
        var updates = new ConcurrentQueue<JsonElement>();
        await using var senderPhone = _client.BuildConnection(sender);
        senderPhone.On<JsonElement>("scheduledMessageUpdated", u => updates.Enqueue(u));
        await senderPhone.StartAsync();

        var scheduled = await ScheduleAsync(_client, sender, group, "good morning", TimeSpan.FromSeconds(2), "sched-1");
        var id = scheduled.GetProperty("scheduledId").GetGuid();
        Assert.Equal(("scheduled", "good morning", group), (scheduled.GetProperty("status").GetString(), scheduled.GetProperty("content").GetString(),
            scheduled.GetProperty("conversationId").GetGuid()));
        var again = await ScheduleAsync(_client, sender, group, "good morning", TimeSpan.FromSeconds(30), "sched-1");
        Assert.Equal((id, true), (again.GetProperty("scheduledId").GetGuid(), again.GetProperty("idempotentHit").GetBoolean()));
        Assert.Equal(scheduled.GetProperty("sendAt").GetDateTimeOffset(), again.GetProperty("sendAt").GetDateTimeOffset());
        Assert.Equal([id], await PendingAsync(sender, group));
        Assert.Empty(await PendingAsync(reader, group));

        await _client.SendAsync(reader, group, "meanwhile");
        var history = await _client.WaitForStoredAsync(sender, group, 2);
        Assert.Equal(["meanwhile", "good morning"], history.Select(m => m.Content));
        Assert.Equal([1L, 2L], history.Select(m => m.Sequence));
        Assert.Equal(("sched-1", sender.UserId), (history[1].ClientMessageId, history[1].SenderId));

        var delivered = await phone.WaitForMessagesAsync(m => m.Count >= 2);
        Assert.Equal(["meanwhile", "good morning"], delivered.Select(m => m.Content));
        await Eventually.TrueAsync(async () => (await ScheduledAsync(_client, sender, id)).GetProperty("status").GetString() == "sent", "the schedule marked sent");
        Assert.Equal(history[1].Id, (await ScheduledAsync(_client, sender, id)).GetProperty("messageId").GetGuid());
        Assert.Empty(await PendingAsync(sender, group));
        await ProblemAssert.IsAsync(await _client.SendRawAsync(HttpMethod.Delete, $"/api/v1/scheduled/{id}", sender), HttpStatusCode.Conflict, "SCHEDULED_ALREADY_SENT");

        // The scheduler's devices follow it: made, then sent with the message it became (the repeat made nothing new).
        await Eventually.TrueAsync(() => updates.Count >= 2, "scheduledMessageUpdated made and sent");
        Assert.Equal(["scheduled", "sent"], updates.Select(u => u.GetProperty("status").GetString()));
        Assert.Equal(history[1].Id, updates.Last().GetProperty("messageId").GetGuid());
    }

    [Fact]
    public async Task A_cancelled_scheduled_message_is_never_sent_and_only_its_sender_sees_or_cancels_it()
    {
        var (sender, other) = (await _client.SignUpAsync(), await _client.SignUpAsync());
        var group = (await _client.GroupAsync(sender, "cancel", other.UserId)).Id;
        var cancelled = (await ScheduleAsync(_client, sender, group, "never", TimeSpan.FromSeconds(2))).GetProperty("scheduledId").GetGuid();
        var kept = (await ScheduleAsync(_client, sender, group, "kept", TimeSpan.FromSeconds(3))).GetProperty("scheduledId").GetGuid();

        await ProblemAssert.IsAsync(await _client.SendRawAsync(HttpMethod.Delete, $"/api/v1/scheduled/{cancelled}", other), HttpStatusCode.NotFound, "SCHEDULED_NOT_FOUND");
        await ProblemAssert.IsAsync(await _client.SendRawAsync(HttpMethod.Get, $"/api/v1/scheduled/{cancelled}", other), HttpStatusCode.NotFound, "SCHEDULED_NOT_FOUND");
        foreach (var _ in new[] { 1, 2 })
        {
            using var response = await _client.SendRawAsync(HttpMethod.Delete, $"/api/v1/scheduled/{cancelled}", sender);
            Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        }

        Assert.Equal("cancelled", (await ScheduledAsync(_client, sender, cancelled)).GetProperty("status").GetString());
        Assert.Equal([kept], await PendingAsync(sender, group));

        // Released in send-time order through one partition: once the later one is stored, the cancelled one would be before it.
        await Eventually.TrueAsync(async () => (await _client.AllMessagesAsync(sender, group)).Count > 0, "the kept schedule stored");
        Assert.Equal(["kept"], (await _client.AllMessagesAsync(sender, group)).Select(m => m.Content));
    }

    [Fact]
    public async Task A_sender_who_left_before_the_time_gets_a_failed_schedule_and_nothing_is_sent()
    {
        var (owner, member) = (await _client.SignUpAsync(), await _client.SignUpAsync());
        var group = (await _client.GroupAsync(owner, "leaving", member.UserId)).Id;
        var id = (await ScheduleAsync(_client, member, group, "too late", TimeSpan.FromSeconds(2))).GetProperty("scheduledId").GetGuid();
        await _client.OkAsync<JsonElement>(HttpMethod.Post, $"/api/v1/conversations/{group}/leave", member);

        await Eventually.TrueAsync(async () => (await ScheduledAsync(_client, member, id)).GetProperty("status").GetString() == "failed", "the schedule failed");
        Assert.Equal("NOT_CONVERSATION_MEMBER", (await ScheduledAsync(_client, member, id)).GetProperty("failureReason").GetString());
        Assert.DoesNotContain(await _client.AllMessagesAsync(owner, group), m => m.Content == "too late");
    }

    [Fact]
    public async Task The_hub_schedules_like_rest_and_a_schedule_is_checked_like_a_send_now()
    {
        var (sender, other, stranger) = (await _client.SignUpAsync(), await _client.SignUpAsync(), await _client.SignUpAsync());
        var group = (await _client.GroupAsync(sender, "hub", other.UserId)).Id;
        await using var device = await _client.ConnectAsync(sender);
        var view = await device.Connection.InvokeAsync<JsonElement>("ScheduleMessage",
            new { conversationId = group, content = "from the hub", mentions = new[] { other.UserId } }, At(TimeSpan.FromMinutes(10)));
        Assert.Equal(("scheduled", "from the hub"), (view.GetProperty("status").GetString(), view.GetProperty("content").GetString()));
        Assert.Equal(other.UserId, view.GetProperty("mentions")[0].GetGuid());
        Assert.Equal([view.GetProperty("scheduledId").GetGuid()], await PendingAsync(sender, group));

        await ProblemAssert.IsAsync(await _client.SendRawAsync(HttpMethod.Post, $"/api/v1/conversations/{group}/messages", stranger,
            $$"""{"content":"x","sendAt":"{{At(TimeSpan.FromMinutes(1))}}"}"""), HttpStatusCode.Forbidden, "NOT_CONVERSATION_MEMBER");
        await ProblemAssert.IsAsync(await _client.SendRawAsync(HttpMethod.Post, $"/api/v1/conversations/{group}/messages", sender,
            $$"""{"content":"x","replyTo":"{{Guid.NewGuid()}}","sendAt":"{{At(TimeSpan.FromMinutes(1))}}"}"""), HttpStatusCode.NotFound, "MESSAGE_NOT_FOUND");
        await ProblemAssert.IsAsync(await _client.SendRawAsync(HttpMethod.Post, $"/api/v1/conversations/{group}/messages", sender,
            $$"""{"content":"x","mentions":["{{stranger.UserId}}"],"sendAt":"{{At(TimeSpan.FromMinutes(1))}}"}"""), HttpStatusCode.BadRequest, "INVALID_FIELD_VALUE");

        using (var cancel = await _client.SendRawAsync(HttpMethod.Delete, $"/api/v1/scheduled/{view.GetProperty("scheduledId").GetGuid()}", sender))
        {
            Assert.Equal(HttpStatusCode.NoContent, cancel.StatusCode);
        }

        Assert.Empty(await PendingAsync(sender, group));
    }

    [Fact]
    public async Task The_pending_list_pages_by_send_time()
    {
        var (sender, other) = (await _client.SignUpAsync(), await _client.SignUpAsync());
        var group = (await _client.GroupAsync(sender, "pages", other.UserId)).Id;
        foreach (var minutes in new[] { 30, 10, 20 })
        {
            await ScheduleAsync(_client, sender, group, $"in {minutes}", TimeSpan.FromMinutes(minutes));
        }

        var first = await _client.OkAsync<JsonElement>(HttpMethod.Get, $"/api/v1/conversations/{group}/scheduled?limit=2", sender);
        var next = first.GetProperty("nextCursor").GetString();
        var second = await _client.OkAsync<JsonElement>(HttpMethod.Get, $"/api/v1/conversations/{group}/scheduled?limit=2&cursor={next}", sender);
        Assert.Equal(["in 10", "in 20", "in 30"], first.GetProperty("items").EnumerateArray().Concat(second.GetProperty("items").EnumerateArray())
            .Select(i => i.GetProperty("content").GetString()));
        Assert.Equal(JsonValueKind.Null, second.GetProperty("nextCursor").ValueKind);
    }
}

public sealed class EmbeddedScheduledRestartTests() : ScheduledRestartTests(TestEngines.Embedded);

public sealed class ProductionScheduledRestartTests() : ScheduledRestartTests(TestEngines.Production);

/// <summary>
/// A scheduled message is in the store, so it outlives the server; and its release is at most once even when the server
/// dies between appending it to the log and marking it sent (the next release's idempotency key folds into the first).
/// </summary>
public abstract class ScheduledRestartTests(string engine) : ScratchDirectoryTest("parley-scheduled-")
{
    private async Task<Dictionary<string, string?>> SettingsAsync()
    {
        var settings = await TestEngines.SettingsAsync(engine);
        settings["Parley:Messages:ScheduleInterval"] = "00:00:00.100";
        settings["Parley:Messages:ScheduleClaimTimeout"] = "00:00:01";
        return settings;
    }

    [Fact]
    public async Task A_scheduled_message_survives_a_restart_and_is_sent_once_at_its_time()
    {
        var settings = await SettingsAsync();
        Session sender;
        Guid group, id;
        // Stopped, not disposed: disposing a test server deletes its data.
        var first = await TestServer.StartAsync(settings, Data);
        try
        {
            var client = first.Client();
            (sender, var other) = (await client.SignUpAsync(), await client.SignUpAsync());
            group = (await client.GroupAsync(sender, "restart", other.UserId)).Id;
            id = (await ScheduledSendsTests.ScheduleAsync(client, sender, group, "after the restart", TimeSpan.FromSeconds(6))).GetProperty("scheduledId").GetGuid();
        }
        finally
        {
            await first.DisposeStoppedAsync();
        }

        await using var second = await TestServer.StartAsync(settings, Data);
        var again = second.Client();
        Assert.Equal("scheduled", (await ScheduledSendsTests.ScheduledAsync(again, sender, id)).GetProperty("status").GetString());
        await Eventually.TrueAsync(async () => (await ScheduledSendsTests.ScheduledAsync(again, sender, id)).GetProperty("status").GetString() == "sent", "sent after the restart");
        var stored = await again.WaitForStoredAsync(sender, group, 1);
        Assert.Equal(["after the restart"], stored.Select(m => m.Content));
    }

    [Fact]
    public async Task A_crash_between_the_append_and_the_mark_does_not_send_twice()
    {
        var settings = await SettingsAsync();
        var appended = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Session sender;
        Guid group, id;
        var first = await TestServer.StartAsync(settings, Data, services => CrashBeforeMark.Install(services, appended));
        try
        {
            var client = first.Client();
            (sender, var other) = (await client.SignUpAsync(), await client.SignUpAsync());
            group = (await client.GroupAsync(sender, "crash", other.UserId)).Id;
            id = (await ScheduledSendsTests.ScheduleAsync(client, sender, group, "once", TimeSpan.FromSeconds(2))).GetProperty("scheduledId").GetGuid();
            await appended.Task.WaitAsync(TimeSpan.FromSeconds(30));
        }
        finally
        {
            await first.DisposeStoppedAsync();
        }

        await using var second = await TestServer.StartAsync(settings, Data);
        var again = second.Client();
        await Eventually.TrueAsync(async () => (await ScheduledSendsTests.ScheduledAsync(again, sender, id)).GetProperty("status").GetString() == "sent", "sent by the next server");
        var stored = await again.WaitForStoredAsync(sender, group, 1);
        Assert.Equal(["once"], stored.Select(m => m.Content));
        Assert.Equal(stored[0].Id, (await ScheduledSendsTests.ScheduledAsync(again, sender, id)).GetProperty("messageId").GetGuid());
        // Nothing more arrives later either: the status is final and every append after the first carried its key.
        Assert.Single(await again.AllMessagesAsync(sender, group));
    }

    /// <summary>The engine's store, except that marking a release sent fails: the process "dies" after the append.</summary>
    private sealed class CrashBeforeMark(IScheduledMessageStore inner, TaskCompletionSource appended) : IScheduledMessageStore
    {
        public static void Install(IServiceCollection services, TaskCompletionSource appended)
        {
            var engine = services.Last(d => d.ServiceType == typeof(IScheduledMessageStore));
            services.Remove(engine);
            services.AddSingleton<IScheduledMessageStore>(sp => new CrashBeforeMark(
                engine.ImplementationFactory is { } factory ? (IScheduledMessageStore)factory(sp)
                    : (IScheduledMessageStore)ActivatorUtilities.CreateInstance(sp, engine.ImplementationType!), appended));
        }

        public Task<bool> MarkSentAsync(Guid id, Guid messageId, DateTimeOffset now, EventContext context, CancellationToken cancellationToken)
        {
            appended.TrySetResult();
            throw new IOException("The process died after the append.");
        }

        public Task<(ScheduledMessage Scheduled, bool Created)> ScheduleAsync(ScheduledMessage message, EventContext context, CancellationToken cancellationToken) =>
            inner.ScheduleAsync(message, context, cancellationToken);

        public Task<ScheduledMessage?> GetAsync(Guid id, CancellationToken cancellationToken) => inner.GetAsync(id, cancellationToken);

        public Task<ScheduledPage> ListPendingAsync(Guid senderId, Guid conversationId, ConversationCursor? after, int limit, CancellationToken cancellationToken) =>
            inner.ListPendingAsync(senderId, conversationId, after, limit, cancellationToken);

        public Task<ScheduledCancelOutcome> CancelAsync(Guid id, Guid senderId, DateTimeOffset now, EventContext context, CancellationToken cancellationToken) =>
            inner.CancelAsync(id, senderId, now, context, cancellationToken);

        public Task<IReadOnlyList<ScheduledMessage>> ClaimDueAsync(DateTimeOffset now, string claimant, DateTimeOffset claimUntil, int limit, CancellationToken cancellationToken) =>
            inner.ClaimDueAsync(now, claimant, claimUntil, limit, cancellationToken);

        public Task<bool> MarkFailedAsync(Guid id, string reason, DateTimeOffset now, EventContext context, CancellationToken cancellationToken) =>
            inner.MarkFailedAsync(id, reason, now, context, cancellationToken);
    }
}

/// <summary>Two production nodes release the same due rows: claims split them, and each is sent once.</summary>
public sealed class ScheduledAcrossNodesTests() : ScratchDirectoryTest("parley-scheduled-nodes-")
{
    [Fact]
    public async Task Two_nodes_releasing_the_same_due_messages_send_each_once()
    {
        var settings = await TestEngines.SettingsAsync(TestEngines.Production);
        settings["Parley:Messages:ScheduleInterval"] = "00:00:00.020";
        await using var a = await TestServer.StartAsync(settings, Data);
        await using var b = await TestServer.StartAsync(settings, Data);
        var client = a.Client();
        var (sender, other) = (await client.SignUpAsync(), await client.SignUpAsync());
        var group = (await client.GroupAsync(sender, "two nodes", other.UserId)).Id;

        // 40 send times 25 ms apart: both nodes poll every 20 ms, so their claims interleave over the second it takes.
        const int count = 40;
        var start = DateTimeOffset.UtcNow.AddSeconds(3);
        var ids = new List<Guid>();
        for (var i = 0; i < count; i++)
        {
            var sendAt = (start + TimeSpan.FromMilliseconds(25 * i)).ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture);
            ids.Add((await client.OkAsync<JsonElement>(HttpMethod.Post, $"/api/v1/conversations/{group}/messages", sender,
                new { content = $"m{i:00}", sendAt }, HttpStatusCode.Accepted)).GetProperty("scheduledId").GetGuid());
        }

        var stored = await client.WaitForStoredAsync(sender, group, count, TimeSpan.FromSeconds(60));
        // Each once; not necessarily in send-time order: two nodes release rows 25 ms apart side by side.
        Assert.Equal(Enumerable.Range(0, count).Select(i => $"m{i:00}"), stored.Select(m => m.Content).Order(StringComparer.Ordinal));
        var released = new List<Guid>();
        foreach (var id in ids)
        {
            await Eventually.TrueAsync(async () => (await ScheduledSendsTests.ScheduledAsync(client, sender, id)).GetProperty("status").GetString() == "sent", $"{id} marked sent");
            released.Add((await ScheduledSendsTests.ScheduledAsync(client, sender, id)).GetProperty("messageId").GetGuid());
        }

        Assert.Equal(stored.Select(m => m.Id).Order(), released.Order());
        Assert.Equal(count, (await client.AllMessagesAsync(sender, group)).Count);
    }
}
