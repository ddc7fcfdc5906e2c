using System.Text.Json;
using Parley.Core.Events;
using Parley.Core.Ports;
using Parley.Core.Validation;

namespace Parley.Specification;

/// <summary>User search (M2), friend requests, friendships and blocks (M3): the same outcomes on every store engine.</summary>
public abstract partial class MessageStoreSpecification
{
    private static async Task<Guid> PersonAsync(IStoreHarness h, string username, string displayName)
    {
        var user = new UserRecord(Guid.CreateVersion7(), username, displayName, "hash", Now);
        Assert.True(await h.Users.CreateUserAsync(user, Ctx, default));
        return user.Id;
    }

    private static async Task<List<string>> FoundAsync(IStoreHarness h, Guid caller, string query, int limit = 50) =>
        [.. (await h.Users.SearchUsersAsync(caller, SearchRules.Parse(query), null, limit, default)).Items.Select(u => u.Username)];

    private static FriendRequestRecord Request(Guid from, Guid to) => new(Guid.CreateVersion7(), from, to, Now);

    private static async Task<IReadOnlyList<FriendRequestEntry>> RequestsAsync(IStoreHarness h, Guid user, FriendRequestDirection direction) =>
        (await h.Social.ListFriendRequestsAsync(user, direction, null, 100, default)).Items;

    private static async Task<IReadOnlyList<FriendEntry>> FriendsOfAsync(IStoreHarness h, Guid user) => (await h.Social.ListFriendsAsync(user, null, 100, default)).Items;

    private static async Task<IReadOnlyList<BlockEntry>> BlocksOfAsync(IStoreHarness h, Guid user) => (await h.Social.ListBlocksAsync(user, null, 100, default)).Items;

    [Fact]
    public async Task Search_finds_username_and_display_name_prefixes_whatever_the_case_and_accents_and_an_exact_email()
    {
        await using var h = await CreateAsync();
        var me = await PersonAsync(h, "me_user", "José Mine");
        await PersonAsync(h, "jose_r", "José Ramírez");
        await PersonAsync(h, "fifi", "Josefa");
        await PersonAsync(h, "ramon", "Ramón");
        var anna = await PersonAsync(h, "anna", "Ánna Lee");

        Assert.Equal(["fifi", "jose_r"], await FoundAsync(h, me, "jose"));
        Assert.Equal(["fifi", "jose_r"], await FoundAsync(h, me, "JOSÉ"));
        Assert.Equal(["jose_r"], await FoundAsync(h, me, "Jose_"));
        Assert.Equal(["ramon"], await FoundAsync(h, me, "ram"));
        Assert.Equal(["anna"], await FoundAsync(h, me, "ánn"));
        Assert.Empty(await FoundAsync(h, me, "lee"));

        // The caller is never in their own results.
        Assert.Equal(["fifi", "jose_r", "me_user"], await FoundAsync(h, anna, "jos"));
        Assert.Empty(await FoundAsync(h, me, "me_"));

        // An exact address finds its owner and only that result carries it; a prefix of it finds nothing.
        const string mail = "Anna.Lee@Example.com";
        await h.Users.ChangeProfileAsync(anna, new ProfileChange(null, false, null, true, mail), Now, Ctx, default);
        var byEmail = Assert.Single((await h.Users.SearchUsersAsync(me, SearchRules.Parse("anna.lee@EXAMPLE.com"), null, 10, default)).Items);
        Assert.Equal((anna, mail), (byEmail.Id, byEmail.Email));
        Assert.Null(Assert.Single((await h.Users.SearchUsersAsync(me, SearchRules.Parse("anna"), null, 10, default)).Items).Email);
        Assert.Empty(await FoundAsync(h, me, "anna.lee@example"));

        // A changed display name is found by its new fold.
        await h.Users.ChangeProfileAsync(anna, new ProfileChange("Zoë", false, null, false, null), Now, Ctx, default);
        Assert.Equal(["anna"], await FoundAsync(h, me, "zoe"));
        Assert.Equal(0, await h.Users.BackfillSearchKeysAsync(100, default));
    }

    [Fact]
    public async Task Search_pages_by_username_with_a_cursor()
    {
        await using var h = await CreateAsync();
        var me = await UserAsync(h);
        foreach (var n in new[] { 3, 1, 5, 2, 4 })
        {
            await PersonAsync(h, $"page{n}", $"Page {n}");
        }

        var pages = new List<List<string>>();
        UsernameCursor? cursor = null;
        do
        {
            var page = await h.Users.SearchUsersAsync(me, SearchRules.Parse("page"), cursor, 2, default);
            pages.Add([.. page.Items.Select(u => u.Username)]);
            cursor = page.Next is null ? null : UsernameCursor.TryDecode(page.Next.Encode());
        }
        while (cursor is not null);

        Assert.Equal([["page1", "page2"], ["page3", "page4"], ["page5"]], pages);
    }

    [Fact]
    public async Task Friends_blocks_and_requests_page_by_username()
    {
        await using var h = await CreateAsync();
        var me = await UserAsync(h);
        var names = new[] { "pc", "pa", "pe", "pb", "pd" };
        foreach (var name in names)
        {
            var other = await PersonAsync(h, name, name.ToUpperInvariant());
            await h.Social.SendFriendRequestAsync(Request(other, me), Ctx, default);
            var friend = await PersonAsync(h, "f" + name, name);
            await h.Social.SendFriendRequestAsync(Request(friend, me), Ctx, default);
            await h.Social.SendFriendRequestAsync(Request(me, friend), Ctx, default);
            await h.Social.BlockAsync(me, await PersonAsync(h, "b" + name, name), Now, Ctx, default);
        }

        async Task<List<List<string>>> WalkAsync<T>(Func<UsernameCursor?, Task<UsernamePage<T>>> page, Func<T, string> username)
        {
            var pages = new List<List<string>>();
            UsernameCursor? cursor = null;
            do
            {
                var next = await page(cursor);
                pages.Add([.. next.Items.Select(username)]);
                cursor = next.Next;
            }
            while (cursor is not null);
            return pages;
        }

        List<List<string>> Expected(string prefix) => [[prefix + "pa", prefix + "pb"], [prefix + "pc", prefix + "pd"], [prefix + "pe"]];
        Assert.Equal(Expected(""), await WalkAsync(c => h.Social.ListFriendRequestsAsync(me, FriendRequestDirection.Incoming, c, 2, default), e => e.Other.Username));
        Assert.Equal(Expected("f"), await WalkAsync(c => h.Social.ListFriendsAsync(me, c, 2, default), e => e.User.Username));
        Assert.Equal(Expected("b"), await WalkAsync(c => h.Social.ListBlocksAsync(me, c, 2, default), e => e.User.Username));
    }

    [Fact]
    public async Task Blocked_pairs_do_not_find_each_other_either_way()
    {
        await using var h = await CreateAsync();
        var a = await PersonAsync(h, "alpha", "Alpha");
        var b = await PersonAsync(h, "alfred", "Alfred");
        var c = await PersonAsync(h, "carol", "Carol");

        Assert.Equal(BlockOutcome.Blocked, (await h.Social.BlockAsync(a, b, Now, Ctx, default)).Outcome);
        Assert.Empty(await FoundAsync(h, a, "al"));
        Assert.Empty(await FoundAsync(h, b, "al"));
        Assert.Equal(["alfred", "alpha"], await FoundAsync(h, c, "al"));

        Assert.True(await h.Social.UnblockAsync(a, b, Now, Ctx, default));
        Assert.Equal(["alfred"], await FoundAsync(h, a, "al"));
        Assert.Equal(["alpha"], await FoundAsync(h, b, "al"));
    }

    [Fact]
    public async Task A_friend_request_is_sent_once_resolved_only_by_the_right_user_and_makes_a_friendship()
    {
        await using var h = await CreateAsync();
        var a = await PersonAsync(h, "ann", "Ann");
        var b = await PersonAsync(h, "bob", "Bob");
        var stranger = await UserAsync(h);

        var sent = await h.Social.SendFriendRequestAsync(Request(a, b), Ctx, default);
        Assert.Equal(FriendRequestOutcome.Created, sent.Outcome);
        var again = await h.Social.SendFriendRequestAsync(Request(a, b), Ctx, default);
        Assert.Equal((FriendRequestOutcome.AlreadyPending, sent.Request), (again.Outcome, again.Request));
        Assert.Equal(FriendRequestOutcome.UserNotFound, (await h.Social.SendFriendRequestAsync(Request(a, Guid.NewGuid()), Ctx, default)).Outcome);

        var incoming = Assert.Single(await RequestsAsync(h, b, FriendRequestDirection.Incoming));
        Assert.Equal((sent.Request, "ann"), (incoming.Request, incoming.Other.Username));
        Assert.Equal("bob", Assert.Single(await RequestsAsync(h, a, FriendRequestDirection.Outgoing)).Other.Username);
        Assert.Empty(await RequestsAsync(h, a, FriendRequestDirection.Incoming));

        // Only the recipient accepts or declines, only the sender cancels; anyone else finds nothing.
        var id = sent.Request!.Id;
        Assert.Null(await h.Social.ResolveFriendRequestAsync(id, a, FriendRequestAction.Accept, Now, Ctx, default));
        Assert.Null(await h.Social.ResolveFriendRequestAsync(id, b, FriendRequestAction.Cancel, Now, Ctx, default));
        Assert.Null(await h.Social.ResolveFriendRequestAsync(id, stranger, FriendRequestAction.Decline, Now, Ctx, default));
        Assert.Null(await h.Social.ResolveFriendRequestAsync(Guid.NewGuid(), b, FriendRequestAction.Accept, Now, Ctx, default));
        Assert.Equal(sent.Request, await h.Social.ResolveFriendRequestAsync(id, b, FriendRequestAction.Accept, Now, Ctx, default));
        Assert.Null(await h.Social.ResolveFriendRequestAsync(id, b, FriendRequestAction.Accept, Now, Ctx, default));

        Assert.True(await h.Social.AreFriendsAsync(b, a, default));
        Assert.Equal("bob", Assert.Single(await FriendsOfAsync(h, a)).User.Username);
        Assert.Equal("ann", Assert.Single(await FriendsOfAsync(h, b)).User.Username);
        Assert.Empty(await RequestsAsync(h, b, FriendRequestDirection.Incoming));
        Assert.Equal(FriendRequestOutcome.AlreadyFriends, (await h.Social.SendFriendRequestAsync(Request(b, a), Ctx, default)).Outcome);

        Assert.True(await h.Social.RemoveFriendAsync(b, a, Now, Ctx, default));
        Assert.False(await h.Social.RemoveFriendAsync(a, b, Now, Ctx, default));
        Assert.Empty(await FriendsOfAsync(h, a));

        // Asking someone who already asked you accepts their request.
        var theirs = await h.Social.SendFriendRequestAsync(Request(b, a), Ctx, default);
        var mine = await h.Social.SendFriendRequestAsync(Request(a, b), Ctx, default);
        Assert.Equal((FriendRequestOutcome.AcceptedTheirs, theirs.Request), (mine.Outcome, mine.Request));
        Assert.True(await h.Social.AreFriendsAsync(a, b, default));

        // Declined and cancelled requests are gone, and the pair can start again.
        await h.Social.RemoveFriendAsync(a, b, Now, Ctx, default);
        var declined = (await h.Social.SendFriendRequestAsync(Request(a, b), Ctx, default)).Request!;
        Assert.Equal(declined, await h.Social.ResolveFriendRequestAsync(declined.Id, b, FriendRequestAction.Decline, Now, Ctx, default));
        var cancelled = (await h.Social.SendFriendRequestAsync(Request(a, b), Ctx, default)).Request!;
        Assert.NotEqual(declined.Id, cancelled.Id);
        Assert.Equal(cancelled, await h.Social.ResolveFriendRequestAsync(cancelled.Id, a, FriendRequestAction.Cancel, Now, Ctx, default));
        Assert.False(await h.Social.AreFriendsAsync(a, b, default));
        Assert.Empty(await RequestsAsync(h, a, FriendRequestDirection.Outgoing));
    }

    [Fact]
    public async Task Two_users_asking_each_other_at_once_end_as_one_friendship_with_no_request_left()
    {
        await using var h = await CreateAsync();
        for (var round = 0; round < 10; round++)
        {
            var a = await UserAsync(h);
            var b = await UserAsync(h);
            var results = await Task.WhenAll(
                Task.Run(() => h.Social.SendFriendRequestAsync(Request(a, b), Ctx, default)),
                Task.Run(() => h.Social.SendFriendRequestAsync(Request(b, a), Ctx, default)));

            Assert.Equal([FriendRequestOutcome.Created, FriendRequestOutcome.AcceptedTheirs], results.Select(r => r.Outcome).Order());
            Assert.Equal(results[0].Request, results[1].Request);
            Assert.True(await h.Social.AreFriendsAsync(a, b, default));
            Assert.Single(await FriendsOfAsync(h, a));
            Assert.Empty(await RequestsAsync(h, a, FriendRequestDirection.Incoming));
            Assert.Empty(await RequestsAsync(h, a, FriendRequestDirection.Outgoing));
        }
    }

    [Fact]
    public async Task A_block_removes_the_friendship_and_the_pending_request_and_stops_requests_both_ways()
    {
        await using var h = await CreateAsync();
        var a = await PersonAsync(h, "ann", "Ann");
        var b = await PersonAsync(h, "bob", "Bob");
        var c = await PersonAsync(h, "cid", "Cid");
        await h.Social.SendFriendRequestAsync(Request(a, b), Ctx, default);
        await h.Social.SendFriendRequestAsync(Request(b, a), Ctx, default);
        var pending = (await h.Social.SendFriendRequestAsync(Request(c, a), Ctx, default)).Request!;

        var friendBlocked = await h.Social.BlockAsync(b, a, Now, Ctx, default);
        Assert.Equal((BlockOutcome.Blocked, true, (FriendRequestRecord?)null), (friendBlocked.Outcome, friendBlocked.FriendshipRemoved, friendBlocked.RequestRemoved));
        var requesterBlocked = await h.Social.BlockAsync(a, c, Now, Ctx, default);
        Assert.Equal((BlockOutcome.Blocked, false, pending), (requesterBlocked.Outcome, requesterBlocked.FriendshipRemoved, requesterBlocked.RequestRemoved));

        Assert.False(await h.Social.AreFriendsAsync(a, b, default));
        Assert.Empty(await FriendsOfAsync(h, a));
        Assert.Empty(await RequestsAsync(h, a, FriendRequestDirection.Incoming));
        Assert.Null(await h.Social.ResolveFriendRequestAsync(pending.Id, a, FriendRequestAction.Accept, Now, Ctx, default));
        foreach (var (from, to) in new[] { (a, b), (b, a), (a, c), (c, a) })
        {
            Assert.True(await h.Social.IsBlockedAsync(from, to, default));
            Assert.Equal(FriendRequestOutcome.Blocked, (await h.Social.SendFriendRequestAsync(Request(from, to), Ctx, default)).Outcome);
        }

        Assert.False(await h.Social.IsBlockedAsync(b, c, default));
        var again = await h.Social.BlockAsync(b, a, Now.AddMinutes(1), Ctx, default);
        Assert.Equal((BlockOutcome.AlreadyBlocked, friendBlocked.BlockedAt), (again.Outcome, again.BlockedAt));
        Assert.Equal(BlockOutcome.UserNotFound, (await h.Social.BlockAsync(a, Guid.NewGuid(), Now, Ctx, default)).Outcome);
        Assert.Equal("ann", Assert.Single(await BlocksOfAsync(h, b)).User.Username);
        Assert.Empty(await BlocksOfAsync(h, c));

        // Blocked both ways: one side lifting theirs leaves the other's in force.
        await h.Social.BlockAsync(a, b, Now, Ctx, default);
        Assert.True(await h.Social.UnblockAsync(b, a, Now, Ctx, default));
        Assert.False(await h.Social.UnblockAsync(b, a, Now, Ctx, default));
        Assert.True(await h.Social.IsBlockedAsync(b, a, default));
        Assert.True(await h.Social.UnblockAsync(a, b, Now, Ctx, default));
        Assert.False(await h.Social.IsBlockedAsync(b, a, default));
        Assert.Equal(FriendRequestOutcome.Created, (await h.Social.SendFriendRequestAsync(Request(b, a), Ctx, default)).Outcome);
    }

    [Fact]
    public async Task Every_social_change_records_exactly_one_domain_event_and_a_refused_one_none()
    {
        await using var h = await CreateAsync();
        var a = await UserAsync(h);
        var b = await UserAsync(h);
        var c = await UserAsync(h);
        var before = (await AllEventsAsync(h)).Count;

        var first = (await h.Social.SendFriendRequestAsync(Request(a, b), Ctx, default)).Request!;
        await h.Social.SendFriendRequestAsync(Request(a, b), Ctx, default);
        await h.Social.ResolveFriendRequestAsync(first.Id, a, FriendRequestAction.Accept, Now, Ctx, default);
        await h.Social.SendFriendRequestAsync(Request(b, a), Ctx, default);
        await h.Social.SendFriendRequestAsync(Request(b, a), Ctx, default);
        await h.Social.RemoveFriendAsync(a, b, Now, Ctx, default);
        await h.Social.RemoveFriendAsync(a, b, Now, Ctx, default);
        var declined = (await h.Social.SendFriendRequestAsync(Request(a, b), Ctx, default)).Request!;
        await h.Social.ResolveFriendRequestAsync(declined.Id, b, FriendRequestAction.Decline, Now, Ctx, default);
        var cancelled = (await h.Social.SendFriendRequestAsync(Request(a, b), Ctx, default)).Request!;
        await h.Social.ResolveFriendRequestAsync(cancelled.Id, a, FriendRequestAction.Cancel, Now, Ctx, default);
        var removedByBlock = (await h.Social.SendFriendRequestAsync(Request(c, a), Ctx, default)).Request!;
        await h.Social.BlockAsync(a, c, Now, Ctx, default);
        await h.Social.BlockAsync(a, c, Now, Ctx, default);
        await h.Social.SendFriendRequestAsync(Request(c, a), Ctx, default);
        await h.Social.UnblockAsync(a, c, Now, Ctx, default);
        await h.Social.UnblockAsync(a, c, Now, Ctx, default);

        var events = (await AllEventsAsync(h)).Skip(before).ToList();
        Assert.Equal(
            [DomainEventTypes.FriendRequested, DomainEventTypes.FriendAccepted, DomainEventTypes.FriendRemoved, DomainEventTypes.FriendRequested,
                DomainEventTypes.FriendDeclined, DomainEventTypes.FriendRequested, DomainEventTypes.FriendCancelled, DomainEventTypes.FriendRequested,
                DomainEventTypes.UserBlocked, DomainEventTypes.UserUnblocked],
            events.Select(e => e.Type));
        Assert.All(events, e => Assert.Contains(e.Type, DomainEventTypes.All));
        Assert.Equal([a, b, a, a, b, a, a, c, a, a], events.Select(e => e.UserId!.Value));
        Assert.Equal(first.Id, JsonDocument.Parse(events[0].Data).RootElement.GetProperty("requestId").GetGuid());
        // The request b sent while a's was pending was a's accepted: its event names a's request.
        Assert.Equal(first.Id, JsonDocument.Parse(events[1].Data).RootElement.GetProperty("requestId").GetGuid());
        var blocked = JsonDocument.Parse(events[8].Data).RootElement;
        Assert.Equal((c, removedByBlock.Id, false), (blocked.GetProperty("blockedId").GetGuid(), blocked.GetProperty("requestRemoved").GetGuid(), blocked.GetProperty("friendshipRemoved").GetBoolean()));
    }
}
