using Parley.Core.Events;
using Parley.Core.Membership;
using Parley.Core.Ports;

namespace Parley.Specification;

/// <summary>Bookmarks and drafts (M9): per user, written directly, each change with its event, on every engine.</summary>
public abstract partial class MessageStoreSpecification
{
    [Fact]
    public async Task Bookmarks_are_per_user_idempotent_paged_newest_first_and_hidden_once_the_user_leaves()
    {
        await using var h = await CreateAsync();
        var (direct, a, b) = await DirectAsync(h);
        var group = await h.Conversations.CreateGroupAsync(Guid.CreateVersion7(), b, "G", [a], Now, Ctx, default);
        var stored = (await h.Messages.PersistBatchAsync([Envelopes.New(direct, a, "one"), Envelopes.New(direct, b, "two"), Envelopes.New(group.Id, b, "three")], default))
            .Select(r => r.Message!).ToList();
        var before = await AllEventsAsync(h);

        var (first, created) = await h.Personal.AddBookmarkAsync(a, stored[0], Now.AddSeconds(-3), Ctx, default);
        Assert.True(created);
        var (again, createdAgain) = await h.Personal.AddBookmarkAsync(a, stored[0], Now, Ctx, default);
        Assert.False(createdAgain);
        Assert.Equal(first, again);
        await h.Personal.AddBookmarkAsync(a, stored[1], Now.AddSeconds(-2), Ctx, default);
        await h.Personal.AddBookmarkAsync(a, stored[2], Now.AddSeconds(-1), Ctx, default);
        await h.Personal.AddBookmarkAsync(b, stored[1], Now, Ctx, default);

        var page1 = await h.Personal.ListBookmarksAsync(a, null, 2, default);
        var page2 = await h.Personal.ListBookmarksAsync(a, page1.Next, 2, default);
        Assert.Equal(["three", "two", "one"], page1.Items.Concat(page2.Items).Select(i => i.Message.Content));
        Assert.Null(page2.Next);
        Assert.Equal(["two"], (await h.Personal.ListBookmarksAsync(b, null, 10, default)).Items.Select(i => i.Message.Content));

        // Leaving the group hides its bookmark (the user may no longer read it); the others stay.
        (await h.Conversations.ChangeMembershipAsync(group.Id, new LeaveCommand(a), Now, Ctx, default)).Require();
        Assert.Equal(["two", "one"], (await h.Personal.ListBookmarksAsync(a, null, 10, default)).Items.Select(i => i.Message.Content));

        Assert.True(await h.Personal.RemoveBookmarkAsync(a, stored[1].Id, Now, Ctx, default));
        Assert.False(await h.Personal.RemoveBookmarkAsync(a, stored[1].Id, Now, Ctx, default));
        Assert.Equal(["one"], (await h.Personal.ListBookmarksAsync(a, null, 10, default)).Items.Select(i => i.Message.Content));

        var events = (await AllEventsAsync(h, before[^1].Cursor)).Select(e => e.Type).Where(t => t.StartsWith("message.", StringComparison.Ordinal)).ToList();
        Assert.Equal([DomainEventTypes.MessageBookmarked, DomainEventTypes.MessageBookmarked, DomainEventTypes.MessageBookmarked, DomainEventTypes.MessageBookmarked,
            DomainEventTypes.MessageUnbookmarked], events);
    }

    [Fact]
    public async Task A_draft_is_per_user_and_conversation_replaced_by_the_next_and_gone_once_deleted()
    {
        await using var h = await CreateAsync();
        var (direct, a, b) = await DirectAsync(h);
        Assert.Null(await h.Personal.GetDraftAsync(a, direct, default));

        await h.Personal.SaveDraftAsync(new DraftRecord(a, direct, "Hel", null, Now.AddSeconds(-1)), Ctx, default);
        var at = Now;
        await h.Personal.SaveDraftAsync(new DraftRecord(a, direct, "Hello wörld", """{"replyTo":7}""", at), Ctx, default);
        await h.Personal.SaveDraftAsync(new DraftRecord(b, direct, "b's own", null, Now), Ctx, default);
        var draft = await h.Personal.GetDraftAsync(a, direct, default);
        Assert.Equal((a, direct, "Hello wörld", """{"replyTo":7}""", at.ToUnixTimeMilliseconds()), (draft!.UserId, draft.ConversationId, draft.Content, draft.Metadata, draft.UpdatedAt.ToUnixTimeMilliseconds()));
        Assert.Equal("b's own", (await h.Personal.GetDraftAsync(b, direct, default))!.Content);

        Assert.True(await h.Personal.DeleteDraftAsync(a, direct, Now, Ctx, default));
        Assert.False(await h.Personal.DeleteDraftAsync(a, direct, Now, Ctx, default));
        Assert.Null(await h.Personal.GetDraftAsync(a, direct, default));
        var types = (await AllEventsAsync(h)).Select(e => e.Type).Where(t => t.StartsWith("draft.", StringComparison.Ordinal)).ToList();
        Assert.Equal([DomainEventTypes.DraftSaved, DomainEventTypes.DraftSaved, DomainEventTypes.DraftSaved, DomainEventTypes.DraftDeleted], types);
        Assert.DoesNotContain("wörld", string.Join(' ', (await AllEventsAsync(h)).Select(e => e.Data)));
    }
}
