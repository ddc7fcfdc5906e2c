using System.Text.Json;
using Parley.Core.Events;
using Parley.Core.Membership;
using Parley.Core.Ports;

namespace Parley.Specification;

/// <summary>Each member's own settings (M5: mute, pin, archive) and the conversation list's filters and pinned-first order.</summary>
public abstract partial class MessageStoreSpecification
{
    private static readonly MemberSettingsChange NoChange = new(default, null, default, default);

    private static async Task<MemberSettingsResult> SetAsync(IStoreHarness h, Guid conversation, Guid user, MemberSettingsChange change, DateTimeOffset? at = null) =>
        await h.Conversations.ChangeSettingsAsync(conversation, user, change, at ?? Now, Ctx, default) ?? throw new InvalidOperationException("not a member");

    private static async Task<MemberSettings> SettingsAsync(IStoreHarness h, Guid conversation, Guid user) =>
        (await h.Conversations.GetParticipantAsync(conversation, user, default))!.Settings;

    private static async Task<List<Guid>> ListAllAsync(IStoreHarness h, Guid user, ConversationListFilter filter, int pageSize)
    {
        var ids = new List<Guid>();
        ConversationCursor? cursor = null;
        do
        {
            var page = await h.Conversations.ListConversationsAsync(user, filter, cursor, pageSize, default);
            Assert.True(page.Items.Count <= pageSize);
            ids.AddRange(page.Items.Select(s => s.Conversation.Id));
            cursor = page.Next;
        }
        while (cursor is not null);

        return ids;
    }

    [Fact]
    public async Task A_member_mutes_pins_and_archives_for_themselves_and_each_change_records_one_event()
    {
        await using var h = await CreateAsync();
        var (c, a, b) = await DirectAsync(h);
        var stranger = await UserAsync(h);
        var before = await AllEventsAsync(h);
        var now = Now;
        Assert.Equal(MemberSettings.None, await SettingsAsync(h, c, a));

        var muted = await SetAsync(h, c, a, NoChange with { Muted = FieldChange<bool>.To(true) }, now);
        Assert.Equal((new MemberSettings(true, null, null, false), true), (muted.Settings, muted.Changed));

        // A time mutes until then; sub-millisecond precision is not kept by either engine, so the answer drops it too.
        var until = now.AddHours(8).AddTicks(1234).ToOffset(TimeSpan.FromHours(2));
        var untilThen = await SetAsync(h, c, a, NoChange with { Muted = FieldChange<bool>.To(true), MutedUntil = until }, now);
        Assert.Equal(new MemberSettings(true, until.AddTicks(-1234), null, false), untilThen.Settings);
        Assert.Equal(untilThen.Settings, await SettingsAsync(h, c, a));

        var pinned = await SetAsync(h, c, a, NoChange with { Pinned = FieldChange<bool>.To(true), Archived = FieldChange<bool>.To(true) }, now.AddSeconds(1));
        Assert.Equal(new MemberSettings(true, until.AddTicks(-1234), now.AddSeconds(1), true), pinned.Settings);

        // Pinning again keeps the first pin time and writes nothing; an empty change writes nothing.
        Assert.False((await SetAsync(h, c, a, NoChange with { Pinned = FieldChange<bool>.To(true) }, now.AddSeconds(5))).Changed);
        Assert.False((await SetAsync(h, c, a, NoChange)).Changed);
        Assert.Equal(now.AddSeconds(1), (await SettingsAsync(h, c, a)).PinnedAt);

        var cleared = await SetAsync(h, c, a, new MemberSettingsChange(FieldChange<bool>.To(false), null, FieldChange<bool>.To(false), FieldChange<bool>.To(false)));
        Assert.Equal(MemberSettings.None, cleared.Settings);
        Assert.Equal(MemberSettings.None, await SettingsAsync(h, c, a));

        // Nobody else's settings move, and only a member has any.
        Assert.Equal(MemberSettings.None, await SettingsAsync(h, c, b));
        Assert.Null(await h.Conversations.ChangeSettingsAsync(c, stranger, NoChange with { Pinned = FieldChange<bool>.To(true) }, Now, Ctx, default));
        Assert.Null(await h.Conversations.ChangeSettingsAsync(Guid.NewGuid(), a, NoChange with { Pinned = FieldChange<bool>.To(true) }, Now, Ctx, default));

        var events = await AllEventsAsync(h, before[^1].Cursor);
        Assert.Equal(Enumerable.Repeat(DomainEventTypes.MemberSettingsChanged, 4), events.Select(e => e.Type));
        Assert.All(events, e => Assert.Equal((c.ToString(), (Guid?)a), (e.AggregateId, e.UserId)));
        var data = JsonDocument.Parse(events[2].Data).RootElement;
        Assert.Equal((a, true, true, true), (data.GetProperty("userId").GetGuid(), data.GetProperty("muted").GetBoolean(), data.GetProperty("pinned").GetBoolean(), data.GetProperty("archived").GetBoolean()));
        Assert.Equal(until.AddTicks(-1234), data.GetProperty("mutedUntil").GetDateTimeOffset());
    }

    [Fact]
    public async Task A_mute_that_has_run_out_reads_as_none_until_it_is_changed()
    {
        await using var h = await CreateAsync();
        var (c, a, _) = await DirectAsync(h);
        var now = Now;
        await SetAsync(h, c, a, NoChange with { Muted = FieldChange<bool>.To(true), MutedUntil = now.AddMinutes(1) }, now);

        var stored = await SettingsAsync(h, c, a);
        Assert.True(stored.AsOf(now.AddSeconds(59)).Muted);
        Assert.Equal(new MemberSettings(false, null, null, false), stored.AsOf(now.AddMinutes(1)));
        Assert.Equal(stored, (await h.Conversations.ListConversationsAsync(a, ConversationListFilter.All, null, 10, default)).Items.Single().Settings);
    }

    [Fact]
    public async Task Pinned_conversations_come_first_and_paging_crosses_from_the_pinned_part_to_the_rest()
    {
        await using var h = await CreateAsync();
        var me = await UserAsync(h);
        var ids = new List<Guid>();
        for (var i = 0; i < 6; i++)
        {
            var (c, _) = await h.Conversations.GetOrCreateDirectAsync(Guid.CreateVersion7(), me, await UserAsync(h), Now.AddMinutes(-10 + i), Ctx, default);
            ids.Add(c.Id);
        }

        foreach (var pinned in new[] { ids[0], ids[2], ids[3] })
        {
            await SetAsync(h, pinned, me, NoChange with { Pinned = FieldChange<bool>.To(true) });
        }

        var pinnedFirst = new ConversationListFilter(PinnedFirst: true);
        List<Guid> expected = [ids[3], ids[2], ids[0], ids[5], ids[4], ids[1]];
        foreach (var pageSize in new[] { 1, 2, 3, 4, 10 })
        {
            Assert.Equal(expected, await ListAllAsync(h, me, pinnedFirst, pageSize));
        }

        var first = await h.Conversations.ListConversationsAsync(me, pinnedFirst, null, 3, default);
        Assert.True(first.Next!.Pinned);
        Assert.All(first.Items, s => Assert.True(s.Settings.Pinned));
        Assert.Equal(first.Next, ConversationCursor.TryDecode(first.Next.Encode()));

        // A cursor from before pinning existed is a position among the unpinned conversations.
        var old = new ConversationCursor(first.Items[1].Conversation.LastActivityAt, first.Items[1].Conversation.Id);
        Assert.Equal([ids[1]], (await h.Conversations.ListConversationsAsync(me, pinnedFirst, old, 10, default)).Items.Select(s => s.Conversation.Id));

        // The default list ignores pins: by activity alone, as recovery and presence need it.
        Assert.Equal(Enumerable.Reverse(ids), await ListAllAsync(h, me, ConversationListFilter.All, 4));
    }

    [Fact]
    public async Task The_list_filters_by_archived_state_and_kind()
    {
        await using var h = await CreateAsync();
        var me = await UserAsync(h);
        var direct = (await h.Conversations.GetOrCreateDirectAsync(Guid.CreateVersion7(), me, await UserAsync(h), Now.AddMinutes(-3), Ctx, default)).Conversation.Id;
        var group = (await h.Conversations.CreateGroupAsync(Guid.CreateVersion7(), me, "G", [], Now.AddMinutes(-2), Ctx, default)).Id;
        var channel = (await h.Conversations.CreateAsync(
            new NewConversation(Guid.CreateVersion7(), ConversationTypes.Channel, me, [], "C", null, null, null, ConversationVisibility.Public), Now.AddMinutes(-1), Ctx, default)).Conversation.Id;
        await SetAsync(h, group, me, NoChange with { Archived = FieldChange<bool>.To(true), Pinned = FieldChange<bool>.To(true) });

        Assert.Equal([channel, group, direct], await ListAllAsync(h, me, ConversationListFilter.All, 1));
        Assert.Equal([channel, direct], await ListAllAsync(h, me, new ConversationListFilter(Archived: false, PinnedFirst: true), 1));
        Assert.Equal([group], await ListAllAsync(h, me, new ConversationListFilter(Archived: true, PinnedFirst: true), 1));
        Assert.Equal([direct], await ListAllAsync(h, me, new ConversationListFilter(ConversationTypes.Direct), 1));
        Assert.Equal([group], await ListAllAsync(h, me, new ConversationListFilter(ConversationTypes.Group, true), 1));
        Assert.Empty(await ListAllAsync(h, me, new ConversationListFilter(ConversationTypes.Group, false), 1));
        Assert.Empty(await ListAllAsync(h, me, new ConversationListFilter(ConversationTypes.Broadcast), 1));
    }
}
