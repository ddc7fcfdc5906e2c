using System.Text.Json;
using Parley.Core.Errors;
using Parley.Core.Events;
using Parley.Core.Membership;
using Parley.Core.Ports;

namespace Parley.Specification;

/// <summary>Membership changes (M4, M5): each engine loads, the planner decides, the engine writes the plan and its events atomically.</summary>
public abstract partial class MessageStoreSpecification
{
    private static async Task<MembershipChange> ChangeAsync(IStoreHarness h, Guid conversation, MembershipCommand command, DateTimeOffset? at = null) =>
        (await h.Conversations.ChangeMembershipAsync(conversation, command, at ?? Now, Ctx, default)).Require();

    private static async Task<string> RefusedAsync(IStoreHarness h, Guid conversation, MembershipCommand command)
    {
        var result = await h.Conversations.ChangeMembershipAsync(conversation, command, Now, Ctx, default);
        Assert.Null(result.Change);
        return result.Error!.Code;
    }

    private static async Task<string?> RoleAsync(IStoreHarness h, Guid conversation, Guid user) =>
        (await h.Conversations.GetParticipantAsync(conversation, user, default))?.Role;

    [Fact]
    public async Task A_channel_keeps_its_details_and_members_are_added_removed_and_reroled_by_rank()
    {
        await using var h = await CreateAsync();
        var (owner, admin, mod, member, newcomer) = (await UserAsync(h), await UserAsync(h), await UserAsync(h), await UserAsync(h), await UserAsync(h));
        var id = Guid.CreateVersion7();
        var (channel, _) = await h.Conversations.CreateAsync(
            new NewConversation(id, ConversationTypes.Channel, owner, [admin, mod, member], "Ops", "Incidents", "https://cdn.example.com/c.png", """{"team":"sre","n":1}""", ConversationVisibility.Public),
            Now, Ctx, default);
        var stored = await h.Conversations.GetConversationAsync(id, default);
        Assert.Equal(channel, stored);
        Assert.Equal(("Incidents", "https://cdn.example.com/c.png", ConversationVisibility.Public), (stored!.Description, stored.AvatarUrl, stored.Visibility));
        Assert.Equal("sre", JsonDocument.Parse(stored.Metadata!).RootElement.GetProperty("team").GetString());
        Assert.Equal(ParticipantRoles.Owner, await RoleAsync(h, id, owner));

        Assert.Equal([(admin, ParticipantRoles.Admin)], (await ChangeAsync(h, id, new ChangeRoleCommand(owner, admin, ParticipantRoles.Admin))).RoleChanges);
        await ChangeAsync(h, id, new ChangeRoleCommand(owner, mod, ParticipantRoles.Moderator));
        Assert.Equal(ParticipantRoles.Admin, await RoleAsync(h, id, admin));

        // Rank rules: nobody acts on an equal or higher rank or grants their own rank; ownership moves only by transfer.
        Assert.Equal(ErrorCodes.ForbiddenRole, await RefusedAsync(h, id, new ChangeRoleCommand(admin, mod, ParticipantRoles.Admin)));
        Assert.Equal(ErrorCodes.ForbiddenRole, await RefusedAsync(h, id, new ChangeRoleCommand(owner, admin, ParticipantRoles.Owner)));
        Assert.Equal(ErrorCodes.ForbiddenRole, await RefusedAsync(h, id, new RemoveMemberCommand(mod, admin)));
        Assert.Equal(ErrorCodes.ForbiddenRole, await RefusedAsync(h, id, new RemoveMemberCommand(member, mod)));
        Assert.Equal(ErrorCodes.ForbiddenRole, await RefusedAsync(h, id, new AddMembersCommand(mod, [newcomer], ParticipantRoles.Member, 100)));
        Assert.Equal(ErrorCodes.ForbiddenRole, await RefusedAsync(h, id, new AddMembersCommand(admin, [newcomer], ParticipantRoles.Admin, 100)));
        Assert.Equal(ErrorCodes.NotConversationMember, await RefusedAsync(h, id, new AddMembersCommand(newcomer, [newcomer], ParticipantRoles.Member, 100)));
        Assert.Equal(ErrorCodes.MemberNotFound, await RefusedAsync(h, id, new RemoveMemberCommand(owner, newcomer)));
        Assert.Equal(ErrorCodes.ConversationNotFound, await RefusedAsync(h, Guid.NewGuid(), new LeaveCommand(owner)));
        Assert.Equal(ErrorCodes.MemberLimitReached, await RefusedAsync(h, id, new AddMembersCommand(admin, [newcomer], ParticipantRoles.Member, 4)));
        Assert.Null(await RoleAsync(h, id, newcomer));

        // Adding is idempotent for those already in; a newcomer starts with nothing unread.
        var added = await ChangeAsync(h, id, new AddMembersCommand(admin, [newcomer, member], ParticipantRoles.Moderator, 100));
        Assert.Equal([newcomer], added.Added.Select(a => a.UserId));
        Assert.Equal(ParticipantRoles.Member, await RoleAsync(h, id, member));
        Assert.Equal(0, (await h.Conversations.GetParticipantAsync(id, newcomer, default))!.UnreadCount);

        var removed = await ChangeAsync(h, id, new RemoveMemberCommand(mod, member));
        Assert.Equal([(member, MembershipChange.ReasonRemoved)], removed.Removed);
        Assert.DoesNotContain(member, await h.Conversations.GetMemberIdsAsync(id, default));
        Assert.Equal(ErrorCodes.NotConversationMember, await RefusedAsync(h, id, new LeaveCommand(member)));

        // Joining a public channel needs no one's permission; twice is a no-op.
        Assert.Single((await ChangeAsync(h, id, new JoinCommand(member, 100))).Added);
        Assert.Empty((await ChangeAsync(h, id, new JoinCommand(member, 100))).Added);
    }

    [Fact]
    public async Task The_last_owner_leaving_hands_ownership_to_the_longest_standing_admin_else_member_else_archives()
    {
        await using var h = await CreateAsync();
        var (owner, early, late, admin) = (await UserAsync(h), await UserAsync(h), await UserAsync(h), await UserAsync(h));
        // Join times a second apart, so "longest-standing" never rests on two joins in the same millisecond.
        var id = (await h.Conversations.CreateGroupAsync(Guid.CreateVersion7(), owner, "G", [early], Now.AddSeconds(-3), Ctx, default)).Id;
        await ChangeAsync(h, id, new AddMembersCommand(owner, [late], ParticipantRoles.Member, 100), Now.AddSeconds(-2));
        await ChangeAsync(h, id, new AddMembersCommand(owner, [admin], ParticipantRoles.Admin, 100), Now.AddSeconds(-1));

        // The admin inherits although the two members joined before it.
        var left = await ChangeAsync(h, id, new LeaveCommand(owner));
        Assert.Equal([(admin, ParticipantRoles.Owner)], left.RoleChanges);
        Assert.Equal(ParticipantRoles.Owner, await RoleAsync(h, id, admin));

        // With no admin, the member who joined first.
        await ChangeAsync(h, id, new LeaveCommand(admin));
        Assert.Equal(ParticipantRoles.Owner, await RoleAsync(h, id, early));
        Assert.Equal(ParticipantRoles.Member, await RoleAsync(h, id, late));

        // A transfer makes the old owner an admin.
        await ChangeAsync(h, id, new TransferOwnershipCommand(early, late));
        Assert.Equal((ParticipantRoles.Owner, ParticipantRoles.Admin), (await RoleAsync(h, id, late), await RoleAsync(h, id, early)));
        Assert.Equal(ErrorCodes.ForbiddenRole, await RefusedAsync(h, id, new TransferOwnershipCommand(early, late)));

        await ChangeAsync(h, id, new LeaveCommand(early));
        var last = await ChangeAsync(h, id, new LeaveCommand(late));
        Assert.True(last.ConversationChanged);
        Assert.Equal(ConversationStatuses.Archived, (await h.Conversations.GetConversationAsync(id, default))!.Status);
        Assert.Empty(await h.Conversations.GetMemberIdsAsync(id, default));
    }

    [Fact]
    public async Task Editing_sets_and_clears_fields_by_permission_and_only_channels_can_be_public()
    {
        await using var h = await CreateAsync();
        var (owner, member) = (await UserAsync(h), await UserAsync(h));
        var id = (await h.Conversations.CreateGroupAsync(Guid.CreateVersion7(), owner, "Before", [member], Now, Ctx, default)).Id;
        var edit = new ConversationEdit(FieldChange<string?>.To("After"), FieldChange<string?>.To("About"), default, FieldChange<string?>.To("""{"k":[1,2]}"""), default, default);

        Assert.Equal(ErrorCodes.ForbiddenRole, await RefusedAsync(h, id, new EditConversationCommand(member, edit)));
        var changed = await ChangeAsync(h, id, new EditConversationCommand(owner, edit));
        Assert.Equal(("After", "About", """{"k":[1,2]}"""), (changed.Conversation.Title, changed.Conversation.Description, changed.Conversation.Metadata));
        Assert.Equal(changed.Conversation, await h.Conversations.GetConversationAsync(id, default));

        var cleared = await ChangeAsync(h, id, new EditConversationCommand(owner, new ConversationEdit(FieldChange<string?>.To(null), default, default, FieldChange<string?>.To(null), default, default)));
        Assert.Equal(((string?)null, "About", (string?)null), (cleared.Conversation.Title, cleared.Conversation.Description, cleared.Conversation.Metadata));
        Assert.Equal(ErrorCodes.InvalidFieldValue, await RefusedAsync(h, id, new EditConversationCommand(owner, new ConversationEdit(default, default, default, default, FieldChange<string>.To(ConversationVisibility.Public), default))));

        var archived = await ChangeAsync(h, id, new EditConversationCommand(owner, new ConversationEdit(default, default, default, default, default, FieldChange<string>.To(ConversationStatuses.Archived))));
        Assert.Equal(ConversationStatuses.Archived, archived.Conversation.Status);
        Assert.False((await ChangeAsync(h, id, new EditConversationCommand(owner, new ConversationEdit(default, default, default, default, default, FieldChange<string>.To(ConversationStatuses.Archived))))).ConversationChanged);

        var (direct, a, _) = await DirectAsync(h);
        Assert.Equal(ErrorCodes.ForbiddenRole, await RefusedAsync(h, direct, new EditConversationCommand(a, edit)));
        Assert.Equal(ErrorCodes.ForbiddenRole, await RefusedAsync(h, direct, new LeaveCommand(a)));
    }

    [Fact]
    public async Task Concurrent_joins_never_exceed_the_member_limit()
    {
        await using var h = await CreateAsync();
        var owner = await UserAsync(h);
        var id = (await h.Conversations.CreateAsync(
            new NewConversation(Guid.CreateVersion7(), ConversationTypes.Channel, owner, [], "Open", null, null, null, ConversationVisibility.Public), Now, Ctx, default)).Conversation.Id;
        var users = new List<Guid>();
        for (var i = 0; i < 12; i++)
        {
            users.Add(await UserAsync(h));
        }

        var results = await Task.WhenAll(users.Select(u => h.Conversations.ChangeMembershipAsync(id, new JoinCommand(u, 6), Now, Ctx, default)));
        Assert.Equal(5, results.Count(r => r.Change is not null));
        Assert.All(results.Where(r => r.Change is null), r => Assert.Equal(ErrorCodes.MemberLimitReached, r.Error!.Code));
        Assert.Equal(6, (await h.Conversations.GetMemberIdsAsync(id, default)).Count);
    }

    [Fact]
    public async Task Public_channels_are_found_by_title_prefix_and_paged_and_private_ones_never()
    {
        await using var h = await CreateAsync();
        var owner = await UserAsync(h);
        var tag = "Zq" + Guid.NewGuid().ToString("N")[..8];
        async Task<Guid> ChannelAsync(string title, string visibility) => (await h.Conversations.CreateAsync(
            new NewConversation(Guid.CreateVersion7(), ConversationTypes.Channel, owner, [], title, null, null, null, visibility), Now, Ctx, default)).Conversation.Id;
        var found = new[] { await ChannelAsync(tag + " one", ConversationVisibility.Public), await ChannelAsync(tag.ToUpperInvariant() + " two", ConversationVisibility.Public), await ChannelAsync(tag + "_three", ConversationVisibility.Public) };
        await ChannelAsync(tag + " private", ConversationVisibility.Private);
        await ChannelAsync("x" + tag, ConversationVisibility.Public);

        var first = await h.Conversations.SearchChannelsAsync(tag.ToLowerInvariant(), null, 2, default);
        Assert.Equal(2, first.Items.Count);
        Assert.NotNull(first.Next);
        var second = await h.Conversations.SearchChannelsAsync(tag, first.Next, 2, default);
        Assert.Null(second.Next);
        Assert.Equal(found.Order(), first.Items.Concat(second.Items).Select(c => c.Conversation.Id).Order());
        Assert.All(first.Items, c => Assert.Equal(1, c.MemberCount));

        // LIKE's wildcards in a query are plain characters.
        Assert.Equal([found[2]], (await h.Conversations.SearchChannelsAsync(tag + "_", null, 10, default)).Items.Select(c => c.Conversation.Id));
        Assert.Empty((await h.Conversations.SearchChannelsAsync(tag + "%", null, 10, default)).Items);
    }

    [Fact]
    public async Task Membership_changes_record_their_events_and_a_refusal_records_none()
    {
        await using var h = await CreateAsync();
        var (owner, b, c) = (await UserAsync(h), await UserAsync(h), await UserAsync(h));
        var id = (await h.Conversations.CreateGroupAsync(Guid.CreateVersion7(), owner, "G", [b], Now, Ctx, default)).Id;
        var before = await AllEventsAsync(h);

        await ChangeAsync(h, id, new AddMembersCommand(owner, [c], ParticipantRoles.Moderator, 100));
        await ChangeAsync(h, id, new ChangeRoleCommand(owner, b, ParticipantRoles.Admin));
        await RefusedAsync(h, id, new RemoveMemberCommand(c, b));
        await ChangeAsync(h, id, new RemoveMemberCommand(b, c));
        await ChangeAsync(h, id, new EditConversationCommand(owner, new ConversationEdit(FieldChange<string?>.To("New"), default, default, default, default, default)));
        await ChangeAsync(h, id, new LeaveCommand(owner));

        var events = await AllEventsAsync(h, before[^1].Cursor);
        Assert.Equal(
            [DomainEventTypes.MembersAdded, DomainEventTypes.MemberRoleChanged, DomainEventTypes.MemberRemoved, DomainEventTypes.ConversationUpdated,
             DomainEventTypes.MemberRemoved, DomainEventTypes.MemberRoleChanged],
            events.Select(e => e.Type));
        Assert.All(events, e => Assert.Equal(id.ToString(), e.AggregateId));
        var data = events.Select(e => JsonDocument.Parse(e.Data).RootElement).ToList();
        Assert.Equal(c, data[0].GetProperty("members")[0].GetProperty("userId").GetGuid());
        Assert.Equal(("admin", "member"), (data[1].GetProperty("role").GetString(), data[1].GetProperty("previousRole").GetString()));
        Assert.Equal(("removed", b), (data[2].GetProperty("reason").GetString(), data[2].GetProperty("by").GetGuid()));
        Assert.Equal("New", data[3].GetProperty("title").GetString());
        Assert.Equal(("left", owner), (data[4].GetProperty("reason").GetString(), data[4].GetProperty("userId").GetGuid()));
        Assert.Equal((b, "owner"), (data[5].GetProperty("userId").GetGuid(), data[5].GetProperty("role").GetString()));
    }

    [Fact]
    public async Task An_invite_admits_up_to_its_max_uses_under_concurrency_and_nothing_once_expired_or_revoked()
    {
        await using var h = await CreateAsync();
        var (owner, member) = (await UserAsync(h), await UserAsync(h));
        var id = (await h.Conversations.CreateGroupAsync(Guid.CreateVersion7(), owner, "G", [member], Now, Ctx, default)).Id;
        var code = "c" + Guid.NewGuid().ToString("N");

        Assert.Equal(ErrorCodes.ForbiddenRole, await RefusedAsync(h, id, new CreateInviteCommand(member, code, null, 3)));
        var created = (await ChangeAsync(h, id, new CreateInviteCommand(owner, code, Now.AddHours(1), 3))).Invite!;
        Assert.Equal((code, id, owner, 3, 0), (created.Code, created.ConversationId, created.CreatedBy, created.MaxUses!.Value, created.Uses));
        Assert.Equal(created, await h.Conversations.GetInviteAsync(code, default));

        var joiners = new List<Guid>();
        for (var i = 0; i < 8; i++)
        {
            joiners.Add(await UserAsync(h));
        }

        var results = await Task.WhenAll(joiners.Select(u => h.Conversations.ChangeMembershipAsync(id, new JoinByInviteCommand(u, code, 100), Now, Ctx, default)));
        Assert.Equal(3, results.Count(r => r.Change is not null));
        Assert.All(results.Where(r => r.Change is null), r => Assert.Equal(ErrorCodes.InviteExpired, r.Error!.Code));
        Assert.Equal(5, (await h.Conversations.GetMemberIdsAsync(id, default)).Count);
        Assert.Equal(3, (await h.Conversations.GetInviteAsync(code, default))!.Uses);

        // A member joining again is a no-op even with a used-up code; a stranger with it is refused.
        var admitted = joiners.First(u => results[joiners.IndexOf(u)].Change is not null);
        Assert.Empty((await ChangeAsync(h, id, new JoinByInviteCommand(admitted, code, 100))).Added);

        // Someone who is surely not in: any of the joiners may have been admitted.
        var outsider = await UserAsync(h);
        var expiring = "e" + Guid.NewGuid().ToString("N");
        await ChangeAsync(h, id, new CreateInviteCommand(owner, expiring, Now.AddSeconds(1), null), Now.AddSeconds(-1));
        Assert.Equal(ErrorCodes.InviteExpired, (await h.Conversations.ChangeMembershipAsync(id, new JoinByInviteCommand(outsider, expiring, 100), Now.AddSeconds(2), Ctx, default)).Error!.Code);

        var revoked = "r" + Guid.NewGuid().ToString("N");
        await ChangeAsync(h, id, new CreateInviteCommand(owner, revoked, null, null));
        Assert.Equal(ErrorCodes.ForbiddenRole, await RefusedAsync(h, id, new RevokeInviteCommand(member, revoked)));
        Assert.NotNull((await ChangeAsync(h, id, new RevokeInviteCommand(owner, revoked))).Invite!.RevokedAt);
        Assert.Equal(ErrorCodes.InviteExpired, await RefusedAsync(h, id, new JoinByInviteCommand(outsider, revoked, 100)));
        Assert.Equal(ErrorCodes.InviteNotFound, await RefusedAsync(h, id, new RevokeInviteCommand(owner, "unknown")));
        // A code only opens its own conversation.
        Assert.Equal(ErrorCodes.InviteNotFound, await RefusedAsync(h, (await DirectAsync(h)).Conversation, new JoinByInviteCommand(owner, code, 100)));

        Assert.Equal(new[] { revoked, expiring, code }.Order(), (await h.Conversations.ListInvitesAsync(id, default)).Select(i => i.Code).Order());
        var events = (await AllEventsAsync(h)).Where(e => e.AggregateId == id.ToString()).Select(e => e.Type).ToList();
        Assert.Equal(3, events.Count(t => t == DomainEventTypes.InviteCreated));
        Assert.Equal(1, events.Count(t => t == DomainEventTypes.InviteRevoked));
        Assert.DoesNotContain(code, string.Join(' ', (await AllEventsAsync(h)).Select(e => e.Data)));
    }

    [Fact]
    public async Task A_context_conversation_is_created_once_per_context_and_members_and_messages_keep_the_senders_side()
    {
        await using var h = await CreateAsync();
        var (customer, provider, agent) = (await UserAsync(h), await UserAsync(h), await UserAsync(h));
        var booking = "booking-" + Guid.NewGuid().ToString("N")[..8];
        NewConversation Spec(Guid creator, Guid other) => new(Guid.CreateVersion7(), ConversationTypes.Group, creator, [other], "Booking", null, null, null, ConversationVisibility.Private)
        {
            Context = new ConversationContext(ContextTypes.Booking, booking, """{"slot":"2026-12-24T10:00:00Z"}"""),
            Sides = new Dictionary<Guid, string> { [customer] = MemberSides.Customer, [provider] = MemberSides.Provider },
        };

        // Asked at once from both ends: one conversation.
        var made = await Task.WhenAll(Enumerable.Range(0, 6).Select(i => h.Conversations.CreateAsync(i % 2 == 0 ? Spec(customer, provider) : Spec(provider, customer), Now, Ctx, default)));
        Assert.Single(made, m => m.Created);
        Assert.Single(made.Select(m => m.Conversation.Id).Distinct());
        var id = made[0].Conversation.Id;
        var stored = (await h.Conversations.GetConversationAsync(id, default))!;
        Assert.Equal((ContextTypes.Booking, booking), (stored.Context!.Type, stored.Context.Id));
        Assert.Equal("2026-12-24T10:00:00Z", JsonDocument.Parse(stored.Context.Metadata!).RootElement.GetProperty("slot").GetString());

        // Other members or another booking: another conversation.
        Assert.True((await h.Conversations.CreateAsync(Spec(customer, agent), Now, Ctx, default)).Created);

        Assert.Equal(MemberSides.Provider, (await h.Conversations.GetParticipantAsync(id, provider, default))!.Side);
        await ChangeAsync(h, id, new AddMembersCommand(made.Single(m => m.Created).Conversation.CreatedBy, [agent], ParticipantRoles.Member, 100) { Side = MemberSides.Agent });
        Assert.Equal(MemberSides.Agent, (await h.Conversations.GetParticipantAsync(id, agent, default))!.Side);

        await h.Messages.PersistBatchAsync([Envelopes.New(id, customer, "when?"), Envelopes.New(id, provider, "at ten"), Envelopes.New(id, agent, "noted")], default);
        var page = await h.Messages.GetMessagesAsync(id, new HistoryQuery(null, null, 10), default);
        Assert.Equal([MemberSides.Customer, MemberSides.Provider, MemberSides.Agent], page.Items.Select(m => m.SenderSide));

        // Outside a context nobody has a side.
        var (plain, a, _) = await DirectAsync(h);
        await h.Messages.PersistBatchAsync([Envelopes.New(plain, a)], default);
        Assert.Null((await h.Messages.GetMessagesAsync(plain, new HistoryQuery(null, null, 10), default)).Items.Single().SenderSide);
        var group = await h.Conversations.CreateGroupAsync(Guid.CreateVersion7(), a, "G", [], Now, Ctx, default);
        Assert.Equal(ErrorCodes.InvalidFieldValue, await RefusedAsync(h, group.Id, new AddMembersCommand(a, [agent], ParticipantRoles.Member, 100) { Side = MemberSides.Agent }));
    }
}
