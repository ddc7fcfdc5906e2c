using Parley.Core.Events;
using Parley.Core.Messaging;
using Parley.Core.Ports;
using static Parley.Specification.MessageStoreSpecification;

namespace Parley.Specification;

/// <summary>
/// Scheduled sends (M8) on every engine: idempotent scheduling, the sender's pending list in send-time order, cancel,
/// claims that give a due row to one claimant at a time, and the marks of a release, each change with its event.
/// </summary>
public abstract class ScheduledMessageStoreSpecification
{
    protected abstract Task<IStoreHarness> CreateAsync();

    private static ScheduledMessage Row(Guid conversation, Guid sender, DateTimeOffset sendAt, string content = "later", string? clientMessageId = null) =>
        new(Guid.CreateVersion7(), conversation, sender, sendAt, clientMessageId,
            ScheduledRequests.ToJson(new SendMessageRequest(conversation, content, MessageTypes.Text, clientMessageId, null)), Now);

    private static async Task<ScheduledMessage> ScheduleAsync(IStoreHarness h, ScheduledMessage row) => (await h.Scheduled.ScheduleAsync(row, Ctx, default)).Scheduled;

    [Fact]
    public async Task A_schedule_is_kept_whole_idempotent_by_client_id_and_listed_to_its_sender_by_send_time_in_pages()
    {
        await using var h = await CreateAsync();
        var (direct, a, b) = await DirectAsync(h);
        var now = Now;
        var request = new SendMessageRequest(direct, "wörld 👋", MessageTypes.Text, "c-1", """{"k":1e400}""") { Mentions = [b], ReplyTo = Guid.CreateVersion7() };
        var first = new ScheduledMessage(Guid.CreateVersion7(), direct, a, now.AddMinutes(3), "c-1", ScheduledRequests.ToJson(request), now);
        var (stored, created) = await h.Scheduled.ScheduleAsync(first, Ctx, default);
        Assert.True(created);
        var (again, createdAgain) = await h.Scheduled.ScheduleAsync(first with { Id = Guid.CreateVersion7(), SendAt = now.AddMinutes(9) }, Ctx, default);
        Assert.False(createdAgain);
        Assert.Equal((stored.Id, stored.SendAt, ScheduledStatuses.Scheduled), (again.Id, again.SendAt, again.Status));
        Assert.Equal(request, ScheduledRequests.FromJson((await h.Scheduled.GetAsync(stored.Id, default))!.Request) with { Mentions = request.Mentions });
        Assert.Equal([b], ScheduledRequests.FromJson(again.Request).Mentions!);

        var second = await ScheduleAsync(h, Row(direct, a, now.AddMinutes(1)));
        var third = await ScheduleAsync(h, Row(direct, a, now.AddMinutes(2)));
        var tie = await ScheduleAsync(h, Row(direct, a, now.AddMinutes(2)));
        await ScheduleAsync(h, Row(direct, b, now.AddMinutes(1)));

        var page1 = await h.Scheduled.ListPendingAsync(a, direct, null, 3, default);
        var page2 = await h.Scheduled.ListPendingAsync(a, direct, page1.Next, 3, default);
        // A tie on the send time goes by id, as the engines order UUIDs: by their text.
        Guid[] expected = [second.Id, .. new[] { third.Id, tie.Id }.OrderBy(g => g.ToString(), StringComparer.Ordinal), stored.Id];
        Assert.Equal(expected, page1.Items.Concat(page2.Items).Select(s => s.Id));
        Assert.Null(page2.Next);
        Assert.Single((await h.Scheduled.ListPendingAsync(b, direct, null, 10, default)).Items);
        Assert.Empty((await h.Scheduled.ListPendingAsync(a, Guid.NewGuid(), null, 10, default)).Items);

        var events = (await AllEventsAsync(h)).Where(e => e.Type.StartsWith("message.", StringComparison.Ordinal)).ToList();
        Assert.Equal(5, events.Count(e => e.Type == DomainEventTypes.MessageScheduled));
        Assert.DoesNotContain("wörld", string.Join(' ', events.Select(e => e.Data)));
    }

    [Fact]
    public async Task A_claim_takes_due_unclaimed_scheduled_rows_by_send_time_until_the_claim_expires()
    {
        await using var h = await CreateAsync();
        var (direct, a, _) = await DirectAsync(h);
        var now = Now;
        var later = await ScheduleAsync(h, Row(direct, a, now.AddSeconds(-1)));
        var earlier = await ScheduleAsync(h, Row(direct, a, now.AddSeconds(-5)));
        var future = await ScheduleAsync(h, Row(direct, a, now.AddHours(1)));
        var cancelled = await ScheduleAsync(h, Row(direct, a, now.AddSeconds(-3)));
        Assert.Equal(ScheduledCancelOutcome.Cancelled, await h.Scheduled.CancelAsync(cancelled.Id, a, now, Ctx, default));

        Assert.Equal([earlier.Id], (await h.Scheduled.ClaimDueAsync(now, "node-a", now.AddSeconds(30), 1, default)).Select(s => s.Id));
        var claimed = await h.Scheduled.ClaimDueAsync(now, "node-a", now.AddSeconds(30), 10, default);
        Assert.Equal([later.Id], claimed.Select(s => s.Id));
        Assert.True(claimed[0].Claimed);
        Assert.Empty(await h.Scheduled.ClaimDueAsync(now.AddSeconds(29), "node-b", now.AddSeconds(60), 10, default));

        // A claimant that died: once its claim expires another takes the rows again.
        Assert.Equal([earlier.Id, later.Id], (await h.Scheduled.ClaimDueAsync(now.AddSeconds(31), "node-b", now.AddSeconds(61), 10, default)).Select(s => s.Id));
        Assert.True(await h.Scheduled.MarkSentAsync(earlier.Id, Guid.CreateVersion7(), now, Ctx, default));
        Assert.Equal([later.Id], (await h.Scheduled.ClaimDueAsync(now.AddSeconds(62), "node-c", now.AddSeconds(90), 10, default)).Select(s => s.Id));
        Assert.Equal([later.Id, future.Id], (await h.Scheduled.ClaimDueAsync(now.AddHours(2), "node-d", now.AddHours(3), 10, default)).Select(s => s.Id));
    }

    [Fact]
    public async Task Claimants_at_the_same_time_never_get_the_same_row()
    {
        await using var h = await CreateAsync();
        var (direct, a, _) = await DirectAsync(h);
        var now = Now;
        var due = new List<Guid>();
        for (var i = 0; i < 24; i++)
        {
            due.Add((await ScheduleAsync(h, Row(direct, a, now.AddSeconds(-i)))).Id);
        }

        var claims = await Task.WhenAll(Enumerable.Range(0, 4).Select(n => Task.Run(async () =>
        {
            var mine = new List<Guid>();
            for (var round = 0; round < 4; round++)
            {
                mine.AddRange((await h.Scheduled.ClaimDueAsync(now, $"node-{n}", now.AddMinutes(1), 3, default)).Select(s => s.Id));
            }

            return mine;
        })));
        var all = claims.SelectMany(c => c).ToList();
        Assert.Equal(all.Count, all.Distinct().Count());
        Assert.Equal(due.Order(), all.Order());
    }

    [Fact]
    public async Task Cancel_is_the_senders_alone_idempotent_and_refused_once_a_release_claimed_the_row()
    {
        await using var h = await CreateAsync();
        var (direct, a, b) = await DirectAsync(h);
        var now = Now;
        var pending = await ScheduleAsync(h, Row(direct, a, now.AddMinutes(5)));
        var due = await ScheduleAsync(h, Row(direct, a, now.AddSeconds(-1)));

        Assert.Equal(ScheduledCancelOutcome.NotFound, await h.Scheduled.CancelAsync(pending.Id, b, now, Ctx, default));
        Assert.Equal(ScheduledCancelOutcome.NotFound, await h.Scheduled.CancelAsync(Guid.NewGuid(), a, now, Ctx, default));
        Assert.Equal(ScheduledCancelOutcome.Cancelled, await h.Scheduled.CancelAsync(pending.Id, a, now, Ctx, default));
        Assert.Equal(ScheduledCancelOutcome.AlreadyFinished, await h.Scheduled.CancelAsync(pending.Id, a, now, Ctx, default));
        var read = await h.Scheduled.GetAsync(pending.Id, default);
        Assert.Equal((ScheduledStatuses.Cancelled, now.ToUnixTimeMilliseconds()), (read!.Status, read.FinishedAt!.Value.ToUnixTimeMilliseconds()));
        Assert.DoesNotContain((await h.Scheduled.ListPendingAsync(a, direct, null, 10, default)).Items, s => s.Id == pending.Id);
        Assert.False(await h.Scheduled.MarkSentAsync(pending.Id, Guid.CreateVersion7(), now, Ctx, default));

        Assert.Single(await h.Scheduled.ClaimDueAsync(now, "node", now.AddSeconds(30), 10, default));
        Assert.Equal(ScheduledCancelOutcome.AlreadySent, await h.Scheduled.CancelAsync(due.Id, a, now, Ctx, default));
        Assert.Equal(ScheduledStatuses.Scheduled, (await h.Scheduled.GetAsync(due.Id, default))!.Status);
    }

    [Fact]
    public async Task A_release_is_marked_once_sent_or_failed_each_with_its_event_and_never_its_content()
    {
        await using var h = await CreateAsync();
        var (direct, a, _) = await DirectAsync(h);
        var now = Now;
        var sent = await ScheduleAsync(h, Row(direct, a, now.AddSeconds(-2), "secret words"));
        var failed = await ScheduleAsync(h, Row(direct, a, now.AddSeconds(-1), "secret words", "c-failed"));
        var before = (await AllEventsAsync(h))[^1].Cursor;
        var messageId = Guid.CreateVersion7();

        Assert.True(await h.Scheduled.MarkSentAsync(sent.Id, messageId, now, Ctx, default));
        Assert.False(await h.Scheduled.MarkSentAsync(sent.Id, Guid.CreateVersion7(), now, Ctx, default));
        Assert.False(await h.Scheduled.MarkFailedAsync(sent.Id, "NOT_CONVERSATION_MEMBER", now, Ctx, default));
        Assert.True(await h.Scheduled.MarkFailedAsync(failed.Id, "NOT_CONVERSATION_MEMBER", now, Ctx, default));
        Assert.Equal(ScheduledCancelOutcome.AlreadySent, await h.Scheduled.CancelAsync(sent.Id, a, now, Ctx, default));
        Assert.Equal(ScheduledCancelOutcome.AlreadyFinished, await h.Scheduled.CancelAsync(failed.Id, a, now, Ctx, default));

        var readSent = (await h.Scheduled.GetAsync(sent.Id, default))!;
        Assert.Equal((ScheduledStatuses.Sent, (Guid?)messageId), (readSent.Status, readSent.MessageId));
        var readFailed = (await h.Scheduled.GetAsync(failed.Id, default))!;
        Assert.Equal((ScheduledStatuses.Failed, "NOT_CONVERSATION_MEMBER", (Guid?)null), (readFailed.Status, readFailed.FailureReason, readFailed.MessageId));
        Assert.Empty(await h.Scheduled.ClaimDueAsync(now.AddMinutes(5), "node", now.AddMinutes(6), 10, default));

        var events = await AllEventsAsync(h, before);
        Assert.Equal([DomainEventTypes.ScheduleSent, DomainEventTypes.ScheduleFailed], events.Select(e => e.Type));
        Assert.All(events, e => Assert.Equal(a.ToString(), e.AggregateId));
        Assert.Contains(messageId.ToString(), events[0].Data, StringComparison.Ordinal);
        Assert.Contains("NOT_CONVERSATION_MEMBER", events[1].Data, StringComparison.Ordinal);
        Assert.DoesNotContain("secret", string.Join(' ', events.Select(e => e.Data)), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Scheduled_rows_survive_a_restart()
    {
        await using var h = await CreateAsync();
        var (direct, a, _) = await DirectAsync(h);
        var row = await ScheduleAsync(h, Row(direct, a, Now.AddMinutes(1), "kept"));
        await h.RestartAsync();
        var read = await h.Scheduled.GetAsync(row.Id, default);
        Assert.Equal(("kept", ScheduledStatuses.Scheduled, row.SendAt), (ScheduledRequests.FromJson(read!.Request).Content, read.Status, read.SendAt));
    }
}
