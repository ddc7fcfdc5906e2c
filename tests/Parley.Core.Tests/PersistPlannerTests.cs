using Parley.Core.Events;
using Parley.Core.Messaging;
using Parley.Core.Persistence;
using Parley.Core.Ports;

namespace Parley.Core.Tests;

/// <summary>The persist-batch rules every engine writes: planned here once, without a database.</summary>
public sealed class PersistPlannerTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 29, 12, 0, 0, TimeSpan.Zero);
    private static readonly Guid A = Guid.CreateVersion7();
    private static readonly Guid B = Guid.CreateVersion7();
    private static readonly Guid C = Guid.CreateVersion7();

    private static MessageEnvelope Envelope(Guid conversation, Guid sender, string content = "hi", DateTimeOffset? at = null, string? key = null) => new()
    {
        MessageId = Guid.CreateVersion7(),
        ConversationId = conversation,
        SenderId = sender,
        Type = MessageTypes.Text,
        Content = content,
        IdempotencyKey = key ?? Guid.NewGuid().ToString("N"),
        CorrelationId = Guid.CreateVersion7(),
        AcceptedAt = at ?? T0,
    };

    private static PersistState State(params (Guid Id, long Last, Guid[] Members)[] conversations) =>
        new(conversations.ToDictionary(c => c.Id, c => new ConversationSnapshot(c.Last, c.Members)), []);

    [Fact]
    public void New_messages_take_the_next_sequences_of_their_conversation_in_batch_order()
    {
        var (c1, c2) = (Guid.NewGuid(), Guid.NewGuid());
        var batch = new[] { Envelope(c1, A), Envelope(c2, B), Envelope(c1, B), Envelope(c1, A) };

        var plan = PersistPlanner.Plan(batch, State((c1, 7, [A, B]), (c2, 0, [B, C])), T0);

        Assert.All(plan.Results, r => Assert.Equal(PersistOutcome.Inserted, r.Outcome));
        Assert.Equal([8L, 1L, 9L, 10L], plan.Results.Select(r => r.Message!.Sequence));
        Assert.Equal(batch.Select(e => e.MessageId), plan.Inserts.Select(i => i.Message.Id));
        Assert.Equal(batch.Select(e => e.IdempotencyKey), plan.Inserts.Select(i => i.IdempotencyKey));
        Assert.Equal(10, plan.Conversations.Single(c => c.ConversationId == c1).LastSequence);
        Assert.Equal(batch[3].MessageId, plan.Conversations.Single(c => c.ConversationId == c1).LastMessageId);
    }

    [Fact]
    public void The_sender_has_read_up_to_their_own_message_and_every_other_member_gets_one_more_unread()
    {
        var c1 = Guid.NewGuid();
        var plan = PersistPlanner.Plan([Envelope(c1, A), Envelope(c1, B), Envelope(c1, B)], State((c1, 0, [A, B, C])), T0);

        var effects = plan.Participants.ToDictionary(p => p.UserId);
        // A sent first, then got two from B: reset to the two that came after A's own message.
        Assert.Equal(new ParticipantEffect(c1, A, Reset: true, Added: 2, ReadTo: 1), effects[A]);
        Assert.Equal(new ParticipantEffect(c1, B, Reset: true, Added: 0, ReadTo: 3), effects[B]);
        Assert.Equal(new ParticipantEffect(c1, C, Reset: false, Added: 3, ReadTo: 0), effects[C]);
    }

    [Fact]
    public void A_message_already_stored_or_seen_earlier_in_the_batch_is_a_duplicate_carrying_the_stored_message()
    {
        var c1 = Guid.NewGuid();
        var stored = new StoredMessage(Guid.CreateVersion7(), c1, 4, A, "text", "old", null, null, "h", 3, Guid.NewGuid(), T0, T0);
        var byKey = Envelope(c1, A, key: "k-stored");
        var fresh = Envelope(c1, B, "new");
        var batch = new[] { Envelope(c1, A) with { MessageId = stored.Id }, byKey, fresh, fresh with { MessageId = Guid.CreateVersion7() }, fresh };

        var plan = PersistPlanner.Plan(batch, new PersistState(new Dictionary<Guid, ConversationSnapshot> { [c1] = new(4, [A, B]) }, [(stored, "k-stored")]), T0);

        Assert.Equal([PersistOutcome.Duplicate, PersistOutcome.Duplicate, PersistOutcome.Inserted, PersistOutcome.Duplicate, PersistOutcome.Duplicate], plan.Results.Select(r => r.Outcome));
        Assert.Same(stored, plan.Results[0].Message);
        Assert.Same(stored, plan.Results[1].Message);
        Assert.Same(plan.Results[2].Message, plan.Results[3].Message);
        Assert.Same(plan.Results[2].Message, plan.Results[4].Message);
        Assert.Equal(5, Assert.Single(plan.Inserts).Message.Sequence);
        Assert.Single(plan.Events);
        Assert.All(plan.Results, r => Assert.Equal([A, B], r.MemberIds));
    }

    [Fact]
    public void A_message_for_a_conversation_that_does_not_exist_is_rejected_and_changes_nothing()
    {
        var plan = PersistPlanner.Plan([Envelope(Guid.NewGuid(), A)], State(), T0);

        var result = Assert.Single(plan.Results);
        Assert.Equal(PersistOutcome.Rejected, result.Outcome);
        Assert.Equal(PersistPlanner.MissingConversation, result.RejectReason);
        Assert.Empty(plan.Inserts);
        Assert.Empty(plan.Conversations);
        Assert.Empty(plan.Participants);
        Assert.Empty(plan.Events);
    }

    [Fact]
    public void Last_activity_never_moves_back_for_a_message_accepted_earlier_in_the_batch()
    {
        var c1 = Guid.NewGuid();
        var plan = PersistPlanner.Plan([Envelope(c1, A, at: T0.AddSeconds(5)), Envelope(c1, A, at: T0)], State((c1, 0, [A])), T0);

        Assert.Equal(T0.AddSeconds(5), Assert.Single(plan.Conversations).LastActivityAt);
    }

    [Fact]
    public void Stored_messages_carry_the_content_hash_size_and_millisecond_times_whatever_the_engine()
    {
        var c1 = Guid.NewGuid();
        var at = T0.AddTicks(12_345);
        var plan = PersistPlanner.Plan([Envelope(c1, A, "héllo 👋", at)], State((c1, 0, [A])), at.AddTicks(7));

        var message = plan.Inserts[0].Message;
        Assert.Equal(IdempotencyKeys.ContentHash("héllo 👋"), message.ContentHash);
        Assert.Equal(11, message.Size);
        Assert.Equal(T0.AddMilliseconds(1), message.AcceptedAt);
        Assert.Equal(T0.AddMilliseconds(1), message.StoredAt);
    }

    [Fact]
    public void Each_new_message_records_one_message_stored_event_with_its_correlation_and_sender()
    {
        var c1 = Guid.NewGuid();
        var batch = new[] { Envelope(c1, A) with { TraceParent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01" }, Envelope(c1, B) };

        var plan = PersistPlanner.Plan(batch, State((c1, 0, [A, B])), T0);

        Assert.Equal(2, plan.Events.Count);
        Assert.All(plan.Events, e => Assert.Equal(DomainEventTypes.MessageStored, e.Type));
        Assert.Equal(batch.Select(e => e.CorrelationId), plan.Events.Select(e => e.CorrelationId));
        Assert.Equal([A, B], plan.Events.Select(e => e.UserId!.Value));
        Assert.All(plan.Events, e => Assert.Equal(c1.ToString(), e.AggregateId));
        Assert.Contains("traceparent", plan.Events[0].Metadata, StringComparison.Ordinal);
        Assert.Null(plan.Events[1].Metadata);
    }
}

public sealed class ReceiptPlannerTests
{
    [Theory]
    [InlineData(ReceiptKind.Delivered, 3, 3, 1, true, false)]
    [InlineData(ReceiptKind.Delivered, 2, 2, 1, false, false)]
    [InlineData(ReceiptKind.Read, 4, 4, 4, true, true)]
    [InlineData(ReceiptKind.Read, 1000, 5, 5, true, true)]
    [InlineData(ReceiptKind.Read, 1, 2, 1, false, false)]
    public void A_watermark_moves_forward_only_capped_at_the_last_sequence_and_only_a_read_move_recounts_unread(
        ReceiptKind kind, long upTo, long delivered, long read, bool advanced, bool recount)
    {
        var decision = ReceiptPlanner.Decide(new ReceiptState(new ReceiptWatermarks(2, 1), UnreadCount: 4, LastSequence: 5), kind, upTo);

        Assert.Equal(new ReceiptWatermarks(delivered, read), decision.Watermarks);
        Assert.Equal(advanced, decision.Advanced);
        Assert.Equal(recount, decision.RecountUnread);
    }

    [Fact]
    public void An_advance_records_one_receipt_event_for_the_member_and_a_no_op_none()
    {
        var (conversation, user) = (Guid.NewGuid(), Guid.NewGuid());
        var state = new ReceiptState(new ReceiptWatermarks(2, 1), 4, 5);
        var context = new EventContext(Guid.CreateVersion7(), Guid.NewGuid(), user);

        var unchanged = ReceiptPlanner.Unchanged(conversation, user, ReceiptKind.Read, state);
        var (update, change) = ReceiptPlanner.Advanced(conversation, user, ReceiptKind.Read, ReceiptPlanner.Decide(state, ReceiptKind.Read, 5), 0, DateTimeOffset.UtcNow, context);

        Assert.False(unchanged.Advanced);
        Assert.Equal(4, unchanged.UnreadCount);
        Assert.True(update.Advanced);
        Assert.Equal(new ReceiptWatermarks(5, 5), update.Watermarks);
        Assert.Equal(DomainEventTypes.ReceiptAdvanced, change.Type);
        Assert.Equal(context.CorrelationId, change.CorrelationId);
        Assert.Equal(context.CausationId, change.CausationId);
        Assert.Equal(conversation.ToString(), change.AggregateId);
        Assert.Contains("\"kind\":\"read\"", change.Data, StringComparison.Ordinal);
    }
}
