using Parley.Core.Events;
using Parley.Core.Ports;

namespace Parley.Specification;

/// <summary>Reports and their moderation (M9), on every engine: one open report per reporter and message, the queue, resolutions, and their events.</summary>
public abstract class ReportStoreSpecification
{
    protected abstract Task<IStoreHarness> CreateAsync();

    private static DateTimeOffset Now => Envelopes.TruncatedNow();

    private static EventContext Ctx => EventContext.New();

    private static async Task<Guid> UserAsync(IStoreHarness h)
    {
        var user = new UserRecord(Guid.CreateVersion7(), "u" + Guid.NewGuid().ToString("N")[..12], "User", "hash", Now);
        Assert.True(await h.Users.CreateUserAsync(user, Ctx, default));
        return user.Id;
    }

    private static async Task<StoredMessage> StoredAsync(IStoreHarness h, Guid conversation, Guid sender, string content) =>
        (await h.Messages.PersistBatchAsync([Envelopes.New(conversation, sender, content)], default)).Single().Message!;

    private static ReportRecord Report(StoredMessage message, Guid reporter, string reason, DateTimeOffset at) =>
        new(Guid.CreateVersion7(at), message.Id, message.ConversationId, reporter, reason, at);

    private static async Task<List<DomainEvent>> EventsAsync(IStoreHarness h)
    {
        var all = new List<DomainEvent>();
        var cursor = EventCursor.Start;
        while (await h.Events.ReadAsync(cursor, 100, default) is { Count: > 0 } page)
        {
            all.AddRange(page);
            cursor = page[^1].Cursor;
        }

        return [.. all.Where(e => e.Type is DomainEventTypes.MessageReported or DomainEventTypes.ReportResolved)];
    }

    [Fact]
    public async Task A_reporter_has_one_open_report_per_message_a_resolution_closes_them_all_once_and_each_change_has_its_event()
    {
        await using var h = await CreateAsync();
        var (owner, sender, reporter) = (await UserAsync(h), await UserAsync(h), await UserAsync(h));
        var group = await h.Conversations.CreateGroupAsync(Guid.CreateVersion7(), owner, "G", [sender, reporter], Now, Ctx, default);
        var message = await StoredAsync(h, group.Id, sender, "rude words");
        var other = await StoredAsync(h, group.Id, sender, "fine words");

        var (first, created) = await h.Reports.CreateAsync(Report(message, reporter, "rude", Now.AddSeconds(-2)), Ctx, default);
        Assert.True(created);
        Assert.Equal((ReportStatuses.Open, "rude", (Guid?)null, (string?)null), (first.Status, first.Reason, first.ResolvedBy, first.Action));
        var (again, createdAgain) = await h.Reports.CreateAsync(Report(message, reporter, "still rude", Now), Ctx, default);
        Assert.False(createdAgain);
        Assert.Equal(first, again);
        var (byOwner, _) = await h.Reports.CreateAsync(Report(message, owner, "agreed", Now.AddSeconds(-1)), Ctx, default);
        var (elsewhere, _) = await h.Reports.CreateAsync(Report(other, reporter, "also", Now), Ctx, default);
        Assert.Equal(first, await h.Reports.GetAsync(first.Id, default));
        Assert.Null(await h.Reports.GetAsync(Guid.NewGuid(), default));

        var resolvedAt = Now;
        var result = await h.Reports.ResolveAsync(byOwner.Id, owner, ReportActions.DeleteMessage, resolvedAt, Ctx, default);
        Assert.Equal((ReportResolution.Resolved, 2), (result.Outcome, result.ResolvedCount));
        Assert.Equal((byOwner.Id, ReportStatuses.Resolved, (Guid?)owner, (string?)ReportActions.DeleteMessage, resolvedAt.ToUnixTimeMilliseconds()),
            (result.Report!.Id, result.Report.Status, result.Report.ResolvedBy, result.Report.Action, result.Report.ResolvedAt!.Value.ToUnixTimeMilliseconds()));
        Assert.Equal(ReportStatuses.Resolved, (await h.Reports.GetAsync(first.Id, default))!.Status);
        Assert.Equal(ReportStatuses.Open, (await h.Reports.GetAsync(elsewhere.Id, default))!.Status);

        var twice = await h.Reports.ResolveAsync(first.Id, owner, ReportActions.Dismiss, Now, Ctx, default);
        Assert.Equal((ReportResolution.AlreadyResolved, 0, (string?)ReportActions.DeleteMessage), (twice.Outcome, twice.ResolvedCount, twice.Report!.Action));
        Assert.Equal(ReportResolution.NotFound, (await h.Reports.ResolveAsync(Guid.NewGuid(), owner, ReportActions.Dismiss, Now, Ctx, default)).Outcome);

        // Once resolved, the same reporter may report the message again: a new open report.
        var (anew, createdAnew) = await h.Reports.CreateAsync(Report(message, reporter, "again", Now), Ctx, default);
        Assert.True(createdAnew);
        Assert.NotEqual(first.Id, anew.Id);

        var events = await EventsAsync(h);
        Assert.Equal([DomainEventTypes.MessageReported, DomainEventTypes.MessageReported, DomainEventTypes.MessageReported, DomainEventTypes.ReportResolved,
            DomainEventTypes.ReportResolved, DomainEventTypes.MessageReported], events.Select(e => e.Type));
        Assert.All(events, e => Assert.Equal((AggregateTypes.Conversation, group.Id.ToString()), (e.AggregateType, e.AggregateId)));
        Assert.Equal([reporter, owner, reporter, owner, owner, reporter], events.Select(e => e.UserId!.Value));
        Assert.Equal([first.Id, byOwner.Id], events.Where(e => e.Type == DomainEventTypes.ReportResolved).Select(e => Guid.Parse(System.Text.Json.JsonDocument.Parse(e.Data).RootElement.GetProperty("reportId").GetString()!)));
        var text = string.Join(' ', events.Select(e => e.Data));
        Assert.DoesNotContain("rude", text, StringComparison.Ordinal);
        Assert.DoesNotContain("agreed", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_queue_is_newest_first_paged_by_status_and_shows_a_moderator_only_the_conversations_they_moderate()
    {
        await using var h = await CreateAsync();
        var (a, b, d) = (await UserAsync(h), await UserAsync(h), await UserAsync(h));
        var mine = await h.Conversations.CreateGroupAsync(Guid.CreateVersion7(), a, "A's", [b], Now, Ctx, default);
        var theirs = await h.Conversations.CreateGroupAsync(Guid.CreateVersion7(), d, "D's", [a, b], Now, Ctx, default);
        var (direct, _) = await h.Conversations.GetOrCreateDirectAsync(Guid.CreateVersion7(), a, b, Now, Ctx, default);
        var start = Now.AddSeconds(-10);
        var reports = new List<ReportRecord>();
        foreach (var (conversation, i) in new[] { mine.Id, theirs.Id, direct.Id, mine.Id }.Select((c, i) => (c, i)))
        {
            var message = await StoredAsync(h, conversation, a, $"message {i}");
            reports.Add((await h.Reports.CreateAsync(Report(message, b, $"reason {i}", start.AddSeconds(i)), Ctx, default)).Report);
        }

        async Task<List<int>> QueueAsync(ReportQuery query)
        {
            var seen = new List<int>();
            ConversationCursor? cursor = null;
            do
            {
                var page = await h.Reports.ListAsync(query with { After = cursor }, default);
                Assert.True(page.Items.Count <= query.Limit);
                seen.AddRange(page.Items.Select(item => reports.FindIndex(r => r.Id == item.Report.Id)));
                Assert.All(page.Items, item => Assert.Equal(item.Report.MessageId, item.Message.Id));
                cursor = page.Next;
            }
            while (cursor is not null);
            return seen;
        }

        // A server admin sees all; the owner of a group only its reports (a member role of another one, or a direct conversation, moderates nothing).
        Assert.Equal([3, 2, 1, 0], await QueueAsync(new ReportQuery(ReportStatuses.Open, 2)));
        Assert.Equal([3, 0], await QueueAsync(new ReportQuery(ReportStatuses.Open, 1) { ModeratorId = a }));
        Assert.Equal([1], await QueueAsync(new ReportQuery(ReportStatuses.Open, 10) { ModeratorId = d }));
        Assert.Empty(await QueueAsync(new ReportQuery(ReportStatuses.Open, 10) { ModeratorId = b }));
        Assert.Equal([2], await QueueAsync(new ReportQuery(ReportStatuses.Open, 10) { ConversationId = direct.Id }));
        Assert.Empty(await QueueAsync(new ReportQuery(ReportStatuses.Open, 10) { ConversationId = theirs.Id, ModeratorId = a }));

        // Promoted to moderator of D's group, a sees its reports too.
        (await h.Conversations.ChangeMembershipAsync(theirs.Id, new Core.Ports.ChangeRoleCommand(d, a, Core.Membership.ParticipantRoles.Moderator), Now, Ctx, default)).Require();
        Assert.Equal([3, 1, 0], await QueueAsync(new ReportQuery(ReportStatuses.Open, 10) { ModeratorId = a }));

        await h.Reports.ResolveAsync(reports[0].Id, a, ReportActions.Dismiss, Now, Ctx, default);
        Assert.Equal([3, 1], await QueueAsync(new ReportQuery(ReportStatuses.Open, 10) { ModeratorId = a }));
        var resolved = await h.Reports.ListAsync(new ReportQuery(ReportStatuses.Resolved, 10), default);
        var item = Assert.Single(resolved.Items);
        Assert.Equal((reports[0].Id, (string?)ReportActions.Dismiss, "message 0", "reason 0"), (item.Report.Id, item.Report.Action, item.Message.Content, item.Report.Reason));
    }
}
