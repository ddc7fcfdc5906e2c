using System.Text.Json;
using Parley.Core.Events;
using Parley.Core.Messaging;
using Parley.Core.Ports;

namespace Parley.Specification;

/// <summary>The outbox: every committed change has exactly one domain event, in order, and a change that did not happen has none.</summary>
public abstract partial class MessageStoreSpecification
{
    internal static async Task<IReadOnlyList<DomainEvent>> AllEventsAsync(IStoreHarness h, EventCursor? after = null)
    {
        var all = new List<DomainEvent>();
        var cursor = after ?? EventCursor.Start;
        while (true)
        {
            var page = await h.Events.ReadAsync(cursor, 3, default);
            if (page.Count == 0)
            {
                return all;
            }

            Assert.All(page, e => Assert.True(e.Cursor > cursor, $"event {e.Type} at {e.Cursor} is not after {cursor}"));
            all.AddRange(page);
            cursor = page[^1].Cursor;
        }
    }

    [Fact]
    public async Task A_filtered_read_returns_only_the_events_of_that_aggregate_or_type_in_the_same_order_and_pages_on_from_its_cursor()
    {
        await using var h = await CreateAsync();
        var (c, a, b) = await DirectAsync(h);
        var (other, _, _) = await DirectAsync(h);
        await h.Messages.PersistBatchAsync([Envelopes.New(c, a, "one"), Envelopes.New(other, a, "elsewhere"), Envelopes.New(c, b, "two"), Envelopes.New(c, a, "three")], default);
        var all = await AllEventsAsync(h);

        var stored = await h.Events.ReadAsync(EventCursor.Start, 100, new EventFilter(c.ToString(), DomainEventTypes.MessageStored), default);
        Assert.Equal(all.Where(e => e.AggregateId == c.ToString() && e.Type == DomainEventTypes.MessageStored).Select(e => e.Id), stored.Select(e => e.Id));
        Assert.Equal(3, stored.Count);
        var ofOther = await h.Events.ReadAsync(EventCursor.Start, 100, new EventFilter(other.ToString()), default);
        Assert.Equal(all.Where(e => e.AggregateId == other.ToString()).Select(e => e.Id), ofOther.Select(e => e.Id));
        Assert.Equal(all.Count(e => e.Type == DomainEventTypes.MessageStored),
            (await h.Events.ReadAsync(EventCursor.Start, 100, new EventFilter(Type: DomainEventTypes.MessageStored), default)).Count);

        // Paged: the second page starts after the first one's last cursor.
        var first = await h.Events.ReadAsync(EventCursor.Start, 2, new EventFilter(c.ToString(), DomainEventTypes.MessageStored), default);
        var second = await h.Events.ReadAsync(first[^1].Cursor, 2, new EventFilter(c.ToString(), DomainEventTypes.MessageStored), default);
        Assert.Equal(stored.Select(e => e.Id), first.Concat(second).Select(e => e.Id));
        Assert.Empty(await h.Events.ReadAsync(EventCursor.Start, 10, new EventFilter(Guid.NewGuid().ToString()), default));
    }

    [Fact]
    public async Task Every_committed_change_records_exactly_one_domain_event_in_order()
    {
        await using var h = await CreateAsync();
        Assert.Empty(await h.Events.ReadAsync(EventCursor.Start, 100, default));
        var expected = new List<(string Type, string AggregateId, Guid Correlation)>();
        EventContext Op(string type, Guid aggregate)
        {
            var context = new EventContext(Guid.CreateVersion7(), Guid.NewGuid(), Guid.NewGuid());
            expected.Add((type, aggregate.ToString(), context.CorrelationId));
            return context;
        }

        var now = Now;
        var a = new UserRecord(Guid.CreateVersion7(), "a" + Guid.NewGuid().ToString("N")[..12], "A", "hash", now);
        var b = new UserRecord(Guid.CreateVersion7(), "b" + Guid.NewGuid().ToString("N")[..12], "B", "hash", now);
        Assert.True(await h.Users.CreateUserAsync(a, Op(DomainEventTypes.UserRegistered, a.Id), default));
        Assert.False(await h.Users.CreateUserAsync(a with { Id = Guid.CreateVersion7() }, EventContext.New(), default));
        Assert.True(await h.Users.CreateUserAsync(b, Op(DomainEventTypes.UserRegistered, b.Id), default));
        var mail = a.Id.ToString("N") + "@example.com";
        Assert.Equal(ProfileChangeOutcome.Updated, (await h.Users.ChangeProfileAsync(a.Id, new ProfileChange("Ann", false, null, true, mail), now,
            Op(DomainEventTypes.UserUpdated, a.Id), default)).Outcome);
        Assert.Equal(ProfileChangeOutcome.EmailTaken, (await h.Users.ChangeProfileAsync(b.Id, new ProfileChange(null, false, null, true, mail), now,
            EventContext.New(), default)).Outcome);

        var first = "first" + a.Id;
        await h.Sessions.AddRefreshTokenAsync(new RefreshTokenRecord(first, a.Id, now, now.AddDays(1)), Op(DomainEventTypes.SessionStarted, a.Id), default);
        Assert.Equal(a.Id, await h.Sessions.RotateRefreshTokenAsync(first, new RefreshTokenRecord("second" + a.Id, Guid.Empty, now, now.AddDays(1)), now,
            Op(DomainEventTypes.SessionRefreshed, a.Id), default));
        Assert.Null(await h.Sessions.RotateRefreshTokenAsync("unknown" + a.Id, new RefreshTokenRecord("x" + a.Id, Guid.Empty, now, now.AddDays(1)), now, EventContext.New(), default));
        Assert.Null(await h.Sessions.RotateRefreshTokenAsync(first, new RefreshTokenRecord("third" + a.Id, Guid.Empty, now, now.AddDays(1)), now,
            Op(DomainEventTypes.SessionReuseDetected, a.Id), default));
        // Reused again with nothing left to revoke: no change, so no event.
        Assert.Null(await h.Sessions.RotateRefreshTokenAsync(first, new RefreshTokenRecord("fourth" + a.Id, Guid.Empty, now, now.AddDays(1)), now, EventContext.New(), default));
        await h.Sessions.AddRefreshTokenAsync(new RefreshTokenRecord("live" + b.Id, b.Id, now, now.AddDays(1)), Op(DomainEventTypes.SessionStarted, b.Id), default);
        Assert.True(await h.Sessions.RevokeRefreshTokenAsync("live" + b.Id, b.Id, now, Op(DomainEventTypes.SessionRevoked, b.Id), default));
        Assert.False(await h.Sessions.RevokeRefreshTokenAsync("live" + b.Id, b.Id, now, EventContext.New(), default));

        var directId = Guid.CreateVersion7();
        var (direct, created) = await h.Conversations.GetOrCreateDirectAsync(directId, a.Id, b.Id, now, Op(DomainEventTypes.ConversationCreated, directId), default);
        Assert.True(created);
        Assert.False((await h.Conversations.GetOrCreateDirectAsync(Guid.CreateVersion7(), b.Id, a.Id, now, EventContext.New(), default)).Created);
        var groupId = Guid.CreateVersion7();
        var group = await h.Conversations.CreateGroupAsync(groupId, a.Id, "Team", [b.Id], now, Op(DomainEventTypes.ConversationCreated, groupId), default);

        var m1 = Envelopes.New(direct.Id, a.Id, "one");
        var m2 = Envelopes.New(direct.Id, b.Id, "two");
        var m3 = Envelopes.New(group.Id, a.Id, "three") with { TraceParent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01" };
        foreach (var m in new[] { m1, m2, m3 })
        {
            expected.Add((DomainEventTypes.MessageStored, m.ConversationId.ToString(), m.CorrelationId));
        }

        await h.Messages.PersistBatchAsync([m1, m2, m3, m1], default);
        await h.Messages.PersistBatchAsync([m2, Envelopes.New(Guid.NewGuid(), a.Id)], default);
        await Assert.ThrowsAsync<PartitionFencedException>(async () =>
        {
            await h.Messages.PersistBatchAsync([Envelopes.New(direct.Id, a.Id)], new PartitionFence(3, 2), default);
            await h.Messages.PersistBatchAsync([Envelopes.New(direct.Id, a.Id, "fenced")], new PartitionFence(3, 1), default);
        });
        expected.Add((DomainEventTypes.MessageStored, direct.Id.ToString(), Guid.Empty));

        // b sent message 2, so b has read (and received) up to 2 already; a's message 3 is what b has yet to receive.
        Assert.True((await h.Receipts.AdvanceReceiptAsync(direct.Id, b.Id, ReceiptKind.Delivered, 3, Op(DomainEventTypes.ReceiptAdvanced, direct.Id), default))!.Advanced);
        Assert.False((await h.Receipts.AdvanceReceiptAsync(direct.Id, b.Id, ReceiptKind.Delivered, 3, EventContext.New(), default))!.Advanced);
        Assert.True((await h.Receipts.AdvanceReceiptAsync(direct.Id, b.Id, ReceiptKind.Read, 3, Op(DomainEventTypes.ReceiptAdvanced, direct.Id), default))!.Advanced);
        Assert.Null(await h.Receipts.AdvanceReceiptAsync(direct.Id, Guid.NewGuid(), ReceiptKind.Read, 1, EventContext.New(), default));

        var events = await AllEventsAsync(h);

        Assert.Equal(expected.Select(e => e.Type), events.Select(e => e.Type));
        Assert.Equal(expected.Select(e => e.AggregateId), events.Select(e => e.AggregateId));
        Assert.Equal(events.Count, events.Select(e => e.Id).Distinct().Count());
        for (var i = 0; i < events.Count; i++)
        {
            if (expected[i].Correlation != Guid.Empty)
            {
                Assert.Equal(expected[i].Correlation, events[i].CorrelationId);
            }

            Assert.Equal(1, events[i].Version);
            Assert.True(events[i].OccurredAt > now.AddMinutes(-5) && events[i].OccurredAt < DateTimeOffset.UtcNow.AddMinutes(5), $"{events[i].Type} occurred at {events[i].OccurredAt}");
            using var data = JsonDocument.Parse(events[i].Data);
            Assert.Equal(JsonValueKind.Object, data.RootElement.ValueKind);
        }

        var stored = events.Where(e => e.Type == DomainEventTypes.MessageStored).ToList();
        Assert.Equal([m1.MessageId, m2.MessageId, m3.MessageId], stored.Take(3).Select(e => JsonDocument.Parse(e.Data).RootElement.GetProperty("messageId").GetGuid()));
        Assert.Equal([1L, 2L, 1L, 3L], stored.Select(e => JsonDocument.Parse(e.Data).RootElement.GetProperty("sequence").GetInt64()));
        Assert.Equal([a.Id, b.Id, a.Id, a.Id], stored.Select(e => e.UserId!.Value));
        Assert.Equal(AggregateTypes.Conversation, stored[0].AggregateType);
        Assert.Null(stored[0].Metadata);
        Assert.Equal(m3.TraceParent, JsonDocument.Parse(stored[2].Metadata!).RootElement.GetProperty("traceparent").GetString());
        var read = events[^1];
        Assert.Equal(b.Id, JsonDocument.Parse(read.Data).RootElement.GetProperty("userId").GetGuid());
        Assert.Equal("read", JsonDocument.Parse(read.Data).RootElement.GetProperty("kind").GetString());
        Assert.Equal(3, JsonDocument.Parse(read.Data).RootElement.GetProperty("read").GetInt64());
        var registered = events[0];
        Assert.Equal(AggregateTypes.User, registered.AggregateType);
        Assert.Equal(a.Username, JsonDocument.Parse(registered.Data).RootElement.GetProperty("username").GetString());
    }

    [Fact]
    public async Task Events_read_after_a_cursor_are_the_ones_after_it_and_survive_a_restart()
    {
        await using var h = await CreateAsync();
        var (c, a, _) = await DirectAsync(h);
        var before = await AllEventsAsync(h);
        Assert.Equal([DomainEventTypes.UserRegistered, DomainEventTypes.UserRegistered, DomainEventTypes.ConversationCreated], before.Select(e => e.Type));

        await h.Messages.PersistBatchAsync([Envelopes.New(c, a), Envelopes.New(c, a)], default);
        var after = await AllEventsAsync(h, before[^1].Cursor);
        Assert.Equal([DomainEventTypes.MessageStored, DomainEventTypes.MessageStored], after.Select(e => e.Type));

        await h.RestartAsync();
        var again = await AllEventsAsync(h);
        Assert.Equal(before.Concat(after).Select(e => (e.Id, e.Cursor)), again.Select(e => (e.Id, e.Cursor)));
        Assert.Equal(before.Concat(after).Select(e => e.Data), again.Select(e => e.Data));
    }

    [Fact]
    public async Task A_consumer_checkpoint_is_stored_per_consumer_and_survives_a_restart()
    {
        await using var h = await CreateAsync();
        await DirectAsync(h);
        var events = await AllEventsAsync(h);

        Assert.Equal(EventCursor.Start, await h.Events.GetCheckpointAsync("webhooks", default));
        await h.Events.SaveCheckpointAsync("webhooks", events[1].Cursor, default);
        await h.Events.SaveCheckpointAsync("push", events[2].Cursor, default);
        await h.Events.SaveCheckpointAsync("webhooks", events[2].Cursor, default);
        await h.RestartAsync();

        Assert.Equal(events[2].Cursor, await h.Events.GetCheckpointAsync("webhooks", default));
        Assert.Equal(events[2].Cursor, await h.Events.GetCheckpointAsync("push", default));
        Assert.Equal(EventCursor.Start, await h.Events.GetCheckpointAsync("analytics", default));
    }

    [Fact]
    public async Task A_duplicate_carries_the_stored_message_so_the_pipeline_needs_no_second_read()
    {
        await using var h = await CreateAsync();
        var (c, a, b) = await DirectAsync(h);
        var e = Envelopes.New(c, a, "once");
        var stored = (await h.Messages.PersistBatchAsync([e], default))[0].Message!;

        var replay = await h.Messages.PersistBatchAsync([e, e with { MessageId = Guid.CreateVersion7() }, Envelopes.New(c, b, "new"), e], default);

        Assert.Equal([PersistOutcome.Duplicate, PersistOutcome.Duplicate, PersistOutcome.Inserted, PersistOutcome.Duplicate], replay.Select(r => r.Outcome));
        Assert.All(replay.Where(r => r.Outcome == PersistOutcome.Duplicate), r => Assert.Equal(stored, r.Message));
        Assert.All(replay, r => Assert.Equal(new[] { a, b }.Order(), r.MemberIds.Order()));
    }
}
