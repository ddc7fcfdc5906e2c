using Parley.Core.Events;
using Parley.Core.Messaging;
using Parley.Core.Persistence;
using Parley.Core.Ports;

namespace Parley.Specification;

/// <summary>Changes to messages (M7, M8, M9) through the persist batch, and delete for me, on every engine.</summary>
public abstract partial class MessageStoreSpecification
{
    [Fact]
    public async Task Edits_keep_their_history_take_change_positions_and_a_replayed_edit_is_not_a_second_edit()
    {
        await using var h = await CreateAsync();
        var (c, a, b) = await DirectAsync(h);
        var sent = (await h.Messages.PersistBatchAsync([Envelopes.New(c, a, "v1")], default))[0].Message!;
        var edit = Envelopes.Change(sent, a, MessageChangeKinds.Edit, "v2", reason: "typo");
        var first = await h.Messages.PersistBatchAsync([edit, Envelopes.Change(sent, a, MessageChangeKinds.Edit, "v3")], default);
        Assert.Equal([PersistOutcome.Inserted, PersistOutcome.Inserted], first.Select(r => r.Outcome));
        Assert.Equal([1L, 2L], first.Select(r => r.Change!.ChangeSequence));
        Assert.Equal("typo", first[0].Change!.Reason);

        var replay = (await h.Messages.PersistBatchAsync([edit], default))[0];
        Assert.Equal(PersistOutcome.Duplicate, replay.Outcome);
        Assert.Equal(1, replay.Change!.ChangeSequence);

        // The same content again changes nothing; someone else's edit is refused by the store too.
        Assert.Equal(PersistOutcome.Unchanged, (await h.Messages.PersistBatchAsync([Envelopes.Change(sent, a, MessageChangeKinds.Edit, "v3")], default))[0].Outcome);
        Assert.Equal(PersistOutcome.Rejected, (await h.Messages.PersistBatchAsync([Envelopes.Change(sent, b, MessageChangeKinds.Edit, "hijack")], default))[0].Outcome);

        var stored = (await h.Messages.GetMessageAsync(sent.Id, default))!;
        Assert.Equal(("v3", 2, IdempotencyKeys.ContentHash("v3"), 2), (stored.Content, stored.EditCount, stored.ContentHash, stored.Size));
        Assert.NotNull(stored.EditedAt);
        var edits = await h.Messages.GetEditsAsync(sent.Id, default);
        Assert.Equal([("v1", IdempotencyKeys.ContentHash("v1"), "typo", 1), ("v2", IdempotencyKeys.ContentHash("v2"), (string?)null, 2)],
            edits.Select(e => (e.PreviousContent, e.PreviousContentHash, e.Reason, e.EditNumber)));
        Assert.All(edits, e => Assert.Equal(a, e.EditorId));
        Assert.Equal(2, (await h.Conversations.GetConversationAsync(c, default))!.LastChangeSequence);

        var changes = await h.Messages.GetChangesAsync(c, 0, 10, default);
        Assert.Equal([1L, 2L], changes.Select(x => x.ChangeSequence));
        Assert.All(changes, x => Assert.Equal("v3", x.Message.Content));
        Assert.Equal([2L], (await h.Messages.GetChangesAsync(c, 1, 10, default)).Select(x => x.ChangeSequence));
        var types = (await AllEventsAsync(h)).Select(e => e.Type).ToList();
        Assert.Equal(2, types.Count(t => t == DomainEventTypes.MessageEdited));
    }

    [Fact]
    public async Task A_change_in_the_batch_that_stores_its_message_is_applied_after_it_and_one_to_a_missing_message_is_rejected()
    {
        await using var h = await CreateAsync();
        var (c, a, b) = await DirectAsync(h);
        var send = Envelopes.New(c, a, "fresh");
        var target = new StoredMessage(send.MessageId, c, 0, a, send.Type, send.Content, null, null, "", 0, send.CorrelationId, send.AcceptedAt, send.AcceptedAt);
        var results = await h.Messages.PersistBatchAsync(
            [send, Envelopes.Change(target, a, MessageChangeKinds.Edit, "fresher"), Envelopes.Change(target, b, MessageChangeKinds.Reaction, key: ":ok:"),
             Envelopes.Change(target with { Id = Guid.NewGuid() }, a, MessageChangeKinds.Delete)], default);
        Assert.Equal([PersistOutcome.Inserted, PersistOutcome.Inserted, PersistOutcome.Inserted, PersistOutcome.Rejected], results.Select(r => r.Outcome));
        Assert.Equal(("fresher", 1), (results[0].Message!.Content, results[0].Message!.EditCount));  // fanned out as stored, then the edit

        var stored = (await h.Messages.GetMessageAsync(send.MessageId, default))!;
        Assert.Equal(("fresher", 1), (stored.Content, stored.EditCount));
        Assert.Equal([new ReactionCount(":ok:", 1)], stored.Reactions);
    }

    [Fact]
    public async Task Reactions_are_one_per_user_and_key_and_their_counts_and_mine_follow_every_add_and_remove()
    {
        await using var h = await CreateAsync();
        var (c, a, b) = await DirectAsync(h);
        var m = (await h.Messages.PersistBatchAsync([Envelopes.New(c, a, "react")], default))[0].Message!;
        var results = await h.Messages.PersistBatchAsync(
        [
            Envelopes.Change(m, a, MessageChangeKinds.Reaction, key: "👍"),
            Envelopes.Change(m, b, MessageChangeKinds.Reaction, key: "👍"),
            Envelopes.Change(m, b, MessageChangeKinds.Reaction, key: "👍"),
            Envelopes.Change(m, b, MessageChangeKinds.Reaction, key: ":tada:"),
            Envelopes.Change(m, a, MessageChangeKinds.Reaction, key: ":tada:", added: false),
        ], default);
        Assert.Equal([PersistOutcome.Inserted, PersistOutcome.Inserted, PersistOutcome.Unchanged, PersistOutcome.Inserted, PersistOutcome.Unchanged], results.Select(r => r.Outcome));
        Assert.Equal([1, 2, 1], results.Where(r => r.Change is not null).Select(r => r.Change!.ReactionCount));

        // Added and removed in one batch leaves nothing; removed and added back leaves it.
        await h.Messages.PersistBatchAsync(
        [
            Envelopes.Change(m, a, MessageChangeKinds.Reaction, key: ":x:"),
            Envelopes.Change(m, a, MessageChangeKinds.Reaction, key: ":x:", added: false),
            Envelopes.Change(m, b, MessageChangeKinds.Reaction, key: "👍", added: false),
            Envelopes.Change(m, b, MessageChangeKinds.Reaction, key: "👍"),
        ], default);

        var page = await h.Messages.GetMessagesAsync(c, new HistoryQuery(null, null, 10) { Viewer = b }, default);
        Assert.Equal([new ReactionCount(":tada:", 1), new ReactionCount("👍", 2)], page.Items[0].Reactions);
        Assert.Equal([":tada:", "👍"], page.Items[0].MyReactions);
        Assert.Equal(["👍"], (await h.Messages.GetMessagesAsync(c, new HistoryQuery(null, null, 10) { Viewer = a }, default)).Items[0].MyReactions);
        Assert.Null((await h.Messages.GetMessagesAsync(c, new HistoryQuery(null, null, 10), default)).Items[0].MyReactions);
    }

    [Fact]
    public async Task Deleting_for_everyone_erases_content_history_and_reactions_keeps_the_sequence_and_lowers_only_unread_counts()
    {
        await using var h = await CreateAsync();
        var a = await UserAsync(h);
        var (b, d) = (await UserAsync(h), await UserAsync(h));
        var c = (await h.Conversations.CreateGroupAsync(Guid.CreateVersion7(), a, "G", [b, d], Now, Ctx, default)).Id;
        var sent = (await h.Messages.PersistBatchAsync([Envelopes.New(c, a, "one"), Envelopes.New(c, a, "two"), Envelopes.New(c, a, "three")], default))
            .Select(r => r.Message!).ToList();
        await h.Messages.PersistBatchAsync([Envelopes.Change(sent[1], a, MessageChangeKinds.Edit, "two!"), Envelopes.Change(sent[1], b, MessageChangeKinds.Reaction, key: ":x:")], default);
        await h.Receipts.AdvanceReceiptAsync(c, b, ReceiptKind.Read, 2, Ctx, default);
        var reply = (await h.Messages.PersistBatchAsync([Envelopes.Reply(sent[1], a, "re: two")], default))[0].Message!;
        Assert.Equal("two!", reply.ReplyTo!.Preview);

        var deleted = (await h.Messages.PersistBatchAsync([Envelopes.Change(sent[1], a, MessageChangeKinds.Delete), Envelopes.Change(sent[1], a, MessageChangeKinds.Delete)], default));
        Assert.Equal([PersistOutcome.Inserted, PersistOutcome.Unchanged], deleted.Select(r => r.Outcome));

        var tombstone = (await h.Messages.GetMessageAsync(sent[1].Id, default))!;
        Assert.Equal(("", (string?)null, 2L, true, 0), (tombstone.Content, tombstone.Metadata, tombstone.Sequence, tombstone.Deleted, tombstone.Size));
        Assert.Empty(tombstone.Reactions);
        Assert.Empty(await h.Messages.GetEditsAsync(sent[1].Id, default));
        var replyNow = (await h.Messages.GetMessageAsync(reply.Id, default))!;
        Assert.Equal((sent[1].Id, (string?)null, true), (replyNow.ReplyTo!.MessageId, replyNow.ReplyTo.Preview, replyNow.ReplyTo.Deleted));

        // b had read it: still "three" and the reply; d had not: one fewer than four; the sender's own count stays 0.
        Assert.Equal(2, (await h.Conversations.GetParticipantAsync(c, b, default))!.UnreadCount);
        Assert.Equal(3, (await h.Conversations.GetParticipantAsync(c, d, default))!.UnreadCount);
        Assert.Equal(0, (await h.Conversations.GetParticipantAsync(c, a, default))!.UnreadCount);
        Assert.Equal([1L, 2L, 3L, 4L], (await h.Messages.GetMessagesAsync(c, new HistoryQuery(null, null, 10), default)).Items.Select(m => m.Sequence));
        Assert.Contains(DomainEventTypes.MessageDeleted, (await AllEventsAsync(h)).Select(e => e.Type));
    }

    [Fact]
    public async Task Deleting_for_me_hides_the_message_from_that_user_only_and_takes_it_out_of_their_unread_count_once()
    {
        await using var h = await CreateAsync();
        var (c, a, b) = await DirectAsync(h);
        var sent = (await h.Messages.PersistBatchAsync([Envelopes.New(c, a, "one"), Envelopes.New(c, a, "two"), Envelopes.New(c, a, "three")], default))
            .Select(r => r.Message!).ToList();

        Assert.Equal(new HideResult(true, 2), await h.Personal.HideMessageAsync(b, sent[1], Now, Ctx, default));
        Assert.Equal(new HideResult(false, 2), await h.Personal.HideMessageAsync(b, sent[1], Now, Ctx, default));
        Assert.Equal(["one", "three"], (await h.Messages.GetMessagesAsync(c, new HistoryQuery(null, null, 10) { Viewer = b }, default)).Items.Select(m => m.Content));
        Assert.Equal(["one", "two", "three"], (await h.Messages.GetMessagesAsync(c, new HistoryQuery(null, null, 10) { Viewer = a }, default)).Items.Select(m => m.Content));

        // Deleted for everyone afterwards: b's count does not drop a second time; a recount (reading on) agrees.
        await h.Messages.PersistBatchAsync([Envelopes.Change(sent[1], a, MessageChangeKinds.Delete)], default);
        Assert.Equal(2, (await h.Conversations.GetParticipantAsync(c, b, default))!.UnreadCount);
        Assert.Equal(1, (await h.Receipts.AdvanceReceiptAsync(c, b, ReceiptKind.Read, 1, Ctx, default))!.UnreadCount);

        // Hiding your own message, or one already read, changes no count.
        Assert.Equal(new HideResult(true, 0), await h.Personal.HideMessageAsync(a, sent[0], Now, Ctx, default));
        Assert.Contains(DomainEventTypes.MessageHidden, (await AllEventsAsync(h)).Select(e => e.Type));
    }

    [Fact]
    public async Task Pins_are_listed_most_recent_first_and_a_delete_for_everyone_unpins()
    {
        await using var h = await CreateAsync();
        var (c, a, b) = await DirectAsync(h);
        var sent = (await h.Messages.PersistBatchAsync([Envelopes.New(c, a, "one"), Envelopes.New(c, b, "two"), Envelopes.New(c, a, "three")], default))
            .Select(r => r.Message!).ToList();
        var pinned = await h.Messages.PersistBatchAsync(
            [Envelopes.Change(sent[0], b, MessageChangeKinds.Pin), Envelopes.Change(sent[0], a, MessageChangeKinds.Pin), Envelopes.Change(sent[2], a, MessageChangeKinds.Pin)], default);
        Assert.Equal([PersistOutcome.Inserted, PersistOutcome.Unchanged, PersistOutcome.Inserted], pinned.Select(r => r.Outcome));
        Assert.Equal(b, pinned[0].Change!.Message.PinnedBy);
        await h.Messages.PersistBatchAsync([Envelopes.Change(sent[1], b, MessageChangeKinds.Pin)], default);
        Assert.Equal(["two", "three", "one"], (await h.Messages.GetPinsAsync(c, 10, default)).Select(m => m.Content));

        await h.Messages.PersistBatchAsync([Envelopes.Change(sent[2], a, MessageChangeKinds.Pin, added: false), Envelopes.Change(sent[1], b, MessageChangeKinds.Delete)], default);
        Assert.Equal(["one"], (await h.Messages.GetPinsAsync(c, 10, default)).Select(m => m.Content));
        Assert.Equal(PersistOutcome.Unchanged, (await h.Messages.PersistBatchAsync([Envelopes.Change(sent[1], a, MessageChangeKinds.Pin)], default))[0].Outcome);
        Assert.Contains(DomainEventTypes.MessagePinned, (await AllEventsAsync(h)).Select(e => e.Type));
        Assert.Contains(DomainEventTypes.MessageUnpinned, (await AllEventsAsync(h)).Select(e => e.Type));
    }

    [Fact]
    public async Task A_forwarded_copy_keeps_its_original_after_the_original_is_deleted()
    {
        await using var h = await CreateAsync();
        var (c, a, b) = await DirectAsync(h);
        var original = (await h.Messages.PersistBatchAsync([Envelopes.New(c, a, "share")], default))[0].Message!;
        var source = new ForwardSource(original.Id, c, a);
        var copy = (await h.Messages.PersistBatchAsync([Envelopes.New(c, b, "share") with { ForwardedFrom = source }], default))[0].Message!;
        await h.Messages.PersistBatchAsync([Envelopes.Change(original, a, MessageChangeKinds.Delete)], default);
        Assert.Equal(source, (await h.Messages.GetMessageAsync(copy.Id, default))!.ForwardedFrom);
        Assert.Equal("share", (await h.Messages.GetMessageAsync(copy.Id, default))!.Content);
    }

    [Fact]
    public async Task Unread_mentions_count_like_unread_messages_through_sends_reads_deletes_and_hides()
    {
        await using var h = await CreateAsync();
        var a = await UserAsync(h);
        var (b, d) = (await UserAsync(h), await UserAsync(h));
        var c = (await h.Conversations.CreateGroupAsync(Guid.CreateVersion7(), a, "G", [b, d], Now, Ctx, default)).Id;
        var sent = (await h.Messages.PersistBatchAsync(
        [
            Envelopes.New(c, a, "@b") with { Mentions = [b] },
            Envelopes.New(c, a, "@b @d") with { Mentions = [b, d] },
            Envelopes.New(c, a, "nobody"),
            Envelopes.New(c, a, "@b again") with { Mentions = [b] },
            Envelopes.New(c, b, "@a from b") with { Mentions = [a, Guid.NewGuid()] },
        ], default)).Select(r => r.Message!).ToList();
        Assert.Equal([b, d], sent[1].Mentions);
        Assert.Equal([a], sent[4].Mentions);  // not a member when stored: not mentioned
        Assert.Equal([b, d], (await h.Messages.GetMessageAsync(sent[1].Id, default))!.Mentions);

        // b sent last, so has read everything up to their own message: no unread mentions left.
        Assert.Equal((0L, 0L), await CountsAsync(b));
        Assert.Equal((1L, 1L), await CountsAsync(a));
        Assert.Equal((5L, 1L), await CountsAsync(d));

        await h.Messages.PersistBatchAsync([Envelopes.Change(sent[1], a, MessageChangeKinds.Delete)], default);
        Assert.Equal((4L, 0L), await CountsAsync(d));
        await h.Messages.PersistBatchAsync([Envelopes.New(c, a, "@d") with { Mentions = [d] }, Envelopes.New(c, a, "@d 2") with { Mentions = [d] }], default);
        Assert.Equal((6L, 2L), await CountsAsync(d));
        var latest = (await h.Messages.GetMessagesAsync(c, new HistoryQuery(null, null, 1), default)).Items[0];
        Assert.Equal(new HideResult(true, 5), await h.Personal.HideMessageAsync(d, latest, Now, Ctx, default));
        Assert.Equal((5L, 1L), await CountsAsync(d));
        Assert.Equal(1, (await h.Receipts.AdvanceReceiptAsync(c, d, ReceiptKind.Read, 5, Ctx, default))!.UnreadCount);
        Assert.Equal((1L, 1L), await CountsAsync(d));

        async Task<(long Unread, long Mentions)> CountsAsync(Guid user)
        {
            var p = (await h.Conversations.GetParticipantAsync(c, user, default))!;
            var listed = (await h.Conversations.ListConversationsAsync(user, ConversationListFilter.All, null, 10, default)).Items.Single();
            Assert.Equal((p.UnreadCount, p.UnreadMentions), (listed.UnreadCount, listed.UnreadMentions));
            return (p.UnreadCount, p.UnreadMentions);
        }
    }

    [Fact]
    public async Task Replies_name_their_thread_root_count_under_it_and_list_as_a_thread()
    {
        await using var h = await CreateAsync();
        var (c, a, b) = await DirectAsync(h);
        var root = (await h.Messages.PersistBatchAsync([Envelopes.New(c, a, "root")], default))[0].Message!;
        var first = (await h.Messages.PersistBatchAsync([Envelopes.Reply(root, b, "r1")], default))[0].Message!;
        var batch = await h.Messages.PersistBatchAsync([Envelopes.Reply(first, a, "r2"), Envelopes.Reply(root, b, "r3"), Envelopes.New(c, a, "not in it")], default);
        Assert.Equal(root.Id, first.ThreadRootId);
        Assert.Equal((first.Id, root.Id), (batch[0].Message!.ReplyTo!.MessageId, batch[0].Message!.ThreadRootId!.Value));

        Assert.Equal(3, (await h.Messages.GetMessageAsync(root.Id, default))!.ReplyCount);
        var thread = await h.Messages.GetThreadAsync(root.Id, new HistoryQuery(null, null, 2), default);
        Assert.Equal(["r2", "r3"], thread.Items.Select(m => m.Content));
        Assert.True(thread.HasMore);
        Assert.Equal(["r1"], (await h.Messages.GetThreadAsync(root.Id, new HistoryQuery(thread.Items[0].Sequence, null, 2), default)).Items.Select(m => m.Content));
    }
}
