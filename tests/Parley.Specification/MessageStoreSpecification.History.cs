using Parley.Core.Events;
using Parley.Core.Messaging;
using Parley.Core.Ports;

namespace Parley.Specification;

/// <summary>History around a message, the unread total and resolving a resend by its key: on every store engine.</summary>
public abstract partial class MessageStoreSpecification
{
    [Fact]
    public async Task History_around_a_sequence_centres_the_page_and_says_which_sides_have_more()
    {
        await using var h = await CreateAsync();
        var (c, a, _) = await DirectAsync(h);
        await h.Messages.PersistBatchAsync(Enumerable.Range(0, 25).Select(i => Envelopes.New(c, a, $"m{i}")).ToList(), default);

        var middle = await Around(13, 5);
        Assert.Equal([11L, 12, 13, 14, 15], middle.Items.Select(m => m.Sequence));
        Assert.Equal((true, true, true), (middle.HasMore, middle.HasMoreBefore, middle.HasMoreAfter));

        // An even limit leans towards the newer side: 1 older, the anchor, 2 newer.
        Assert.Equal([12L, 13, 14, 15], (await Around(13, 4)).Items.Select(m => m.Sequence));

        var start = await Around(2, 5);
        Assert.Equal([1L, 2, 3, 4], start.Items.Select(m => m.Sequence));
        Assert.Equal((false, true), (start.HasMoreBefore, start.HasMoreAfter));

        var end = await Around(25, 5);
        Assert.Equal([23L, 24, 25], end.Items.Select(m => m.Sequence));
        Assert.Equal((true, false), (end.HasMoreBefore, end.HasMoreAfter));

        var all = await Around(13, 100);
        Assert.Equal(25, all.Items.Count);
        Assert.False(all.HasMore);

        var anchorOnly = await Around(7, 1);
        Assert.Equal([7L], anchorOnly.Items.Select(m => m.Sequence));
        Assert.Equal((true, true), (anchorOnly.HasMoreBefore, anchorOnly.HasMoreAfter));

        // Past the newest message: the page is what lies just below the anchor.
        var beyond = await Around(100, 5);
        Assert.Equal([24L, 25], beyond.Items.Select(m => m.Sequence));
        Assert.Equal((true, false), (beyond.HasMoreBefore, beyond.HasMoreAfter));

        Assert.Empty((await h.Messages.GetMessagesAsync(Guid.NewGuid(), new HistoryQuery(null, null, 5) { Around = 3 }, default)).Items);

        Task<MessagePage> Around(long sequence, int limit) => h.Messages.GetMessagesAsync(c, new HistoryQuery(null, null, limit) { Around = sequence }, default);
    }

    [Fact]
    public async Task Unread_total_sums_the_users_unread_counts_over_their_conversations()
    {
        await using var h = await CreateAsync();
        var (direct, a, b) = await DirectAsync(h);
        var other = await UserAsync(h);
        var group = await h.Conversations.CreateGroupAsync(Guid.CreateVersion7(), other, null, [b, a], Now, Ctx, default);
        // A membership with nothing unread adds nothing and is not counted as a conversation with unread messages.
        await h.Conversations.CreateGroupAsync(Guid.CreateVersion7(), other, null, [b], Now, Ctx, default);
        Assert.Equal(new UnreadTotal(0, 0), await h.Conversations.GetUnreadTotalAsync(b, default));

        await h.Messages.PersistBatchAsync([Envelopes.New(direct, a), Envelopes.New(direct, a), Envelopes.New(group.Id, a), Envelopes.New(group.Id, other)], default);
        Assert.Equal(new UnreadTotal(4, 2), await h.Conversations.GetUnreadTotalAsync(b, default));
        Assert.Equal(new UnreadTotal(1, 1), await h.Conversations.GetUnreadTotalAsync(a, default));

        await h.Receipts.AdvanceReceiptAsync(direct, b, ReceiptKind.Read, 1, Ctx, default);
        Assert.Equal(new UnreadTotal(3, 2), await h.Conversations.GetUnreadTotalAsync(b, default));
        await h.Receipts.AdvanceReceiptAsync(group.Id, b, ReceiptKind.Read, 2, Ctx, default);
        Assert.Equal(new UnreadTotal(1, 1), await h.Conversations.GetUnreadTotalAsync(b, default));

        Assert.Equal(new UnreadTotal(0, 0), await h.Conversations.GetUnreadTotalAsync(Guid.NewGuid(), default));
    }

    [Fact]
    public async Task Message_status_by_idempotency_key_finds_the_stored_message_and_its_state()
    {
        await using var h = await CreateAsync();
        var (c, a, b) = await DirectAsync(h);
        var e = Envelopes.New(c, a, clientMessageId: "resend-me");
        await h.Messages.PersistBatchAsync([e], default);

        var sent = await h.Messages.GetMessageStatusByIdempotencyKeyAsync(e.IdempotencyKey, default);
        Assert.Equal((e.MessageId, 1L, MessageState.Sent), (sent!.Message.Id, sent.Message.Sequence, sent.State));
        await h.Receipts.AdvanceReceiptAsync(c, b, ReceiptKind.Read, 1, Ctx, default);
        Assert.Equal(MessageState.Read, (await h.Messages.GetMessageStatusByIdempotencyKeyAsync(e.IdempotencyKey, default))!.State);

        // A resend under a fresh message id is folded into the stored one, which the key still finds.
        await h.Messages.PersistBatchAsync([e with { MessageId = Guid.CreateVersion7() }], default);
        Assert.Equal(e.MessageId, (await h.Messages.GetMessageStatusByIdempotencyKeyAsync(e.IdempotencyKey, default))!.Message.Id);
        Assert.Null(await h.Messages.GetMessageStatusByIdempotencyKeyAsync("c:unknown", default));
    }
}
