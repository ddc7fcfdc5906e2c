using Parley.Core.Events;
using Parley.Core.Membership;
using Parley.Core.Messaging;
using Parley.Core.Ports;

namespace Parley.Specification;

/// <summary>What every store engine must do: accounts, conversations, idempotent persistence, history and receipts.</summary>
public abstract partial class MessageStoreSpecification
{
    protected abstract Task<IStoreHarness> CreateAsync();

    internal static DateTimeOffset Now => Envelopes.TruncatedNow();

    internal static EventContext Ctx => EventContext.New();

    internal static async Task<Guid> UserAsync(IStoreHarness h, string? name = null)
    {
        var user = new UserRecord(Guid.CreateVersion7(), name ?? "u" + Guid.NewGuid().ToString("N")[..12], "User", "hash", Now);
        Assert.True(await h.Users.CreateUserAsync(user, Ctx, default));
        return user.Id;
    }

    internal static async Task<(Guid Conversation, Guid A, Guid B)> DirectAsync(IStoreHarness h)
    {
        var a = await UserAsync(h);
        var b = await UserAsync(h);
        var (c, _) = await h.Conversations.GetOrCreateDirectAsync(Guid.CreateVersion7(), a, b, Now, Ctx, default);
        return (c.Id, a, b);
    }

    [Fact]
    public async Task A_profile_change_sets_and_clears_fields_and_an_email_is_unique_whatever_its_case()
    {
        await using var h = await CreateAsync();
        var a = await UserAsync(h);
        var b = await UserAsync(h);
        var mail = "Mixed." + a.ToString("N")[..10] + "@Example.com";

        var changed = await h.Users.ChangeProfileAsync(a, new ProfileChange("Ann Lee", true, "https://cdn.example.com/a.png", true, mail), Now, Ctx, default);
        Assert.Equal(ProfileChangeOutcome.Updated, changed.Outcome);
        var stored = await h.Users.GetUserAsync(a, default);
        Assert.Equal(("Ann Lee", "https://cdn.example.com/a.png", mail), (stored!.DisplayName, stored.AvatarUrl, stored.Email));

        // Another account cannot take the address in another case; the refused change writes nothing.
        var taken = await h.Users.ChangeProfileAsync(b, new ProfileChange("Bob", false, null, true, mail.ToUpperInvariant()), Now, Ctx, default);
        Assert.Equal(ProfileChangeOutcome.EmailTaken, taken.Outcome);
        Assert.Equal("User", (await h.Users.GetUserAsync(b, default))!.DisplayName);

        // The owner may re-enter it in another case; absent fields stay, null clears.
        Assert.Equal(ProfileChangeOutcome.Updated, (await h.Users.ChangeProfileAsync(a, new ProfileChange(null, false, null, true, mail.ToLowerInvariant()), Now, Ctx, default)).Outcome);
        var cleared = (await h.Users.ChangeProfileAsync(a, new ProfileChange(null, true, null, true, null), Now, Ctx, default)).User!;
        Assert.Equal(("Ann Lee", (string?)null, (string?)null), (cleared.DisplayName, cleared.AvatarUrl, cleared.Email));
        Assert.Equal(ProfileChangeOutcome.Updated, (await h.Users.ChangeProfileAsync(b, new ProfileChange(null, false, null, true, mail), Now, Ctx, default)).Outcome);
        Assert.Equal(ProfileChangeOutcome.NotFound, (await h.Users.ChangeProfileAsync(Guid.NewGuid(), new ProfileChange("X", false, null, false, null), Now, Ctx, default)).Outcome);
    }

    [Fact]
    public async Task Usernames_are_unique_and_users_can_be_found()
    {
        await using var h = await CreateAsync();
        var name = "n" + Guid.NewGuid().ToString("N")[..12];
        var id = await UserAsync(h, name);

        Assert.False(await h.Users.CreateUserAsync(new UserRecord(Guid.CreateVersion7(), name, "Other", "x", Now), Ctx, default));
        Assert.Equal(id, (await h.Users.FindByUsernameAsync(name, default))?.Id);
        Assert.Equal(name, (await h.Users.GetUserAsync(id, default))?.Username);
        Assert.Null(await h.Users.GetUserAsync(Guid.NewGuid(), default));
        var unknown = Guid.NewGuid();
        Assert.Equal([id], await h.Users.ExistingUsersAsync([id, unknown], default));
    }

    [Fact]
    public async Task A_refresh_token_works_once_and_its_reuse_revokes_the_family()
    {
        await using var h = await CreateAsync();
        var user = await UserAsync(h);
        var now = Now;
        await h.Sessions.AddRefreshTokenAsync(new RefreshTokenRecord("a-" + Guid.NewGuid(), user, now, now.AddDays(1)) with { TokenHash = "first" + user }, Ctx, default);

        var rotated = await h.Sessions.RotateRefreshTokenAsync("first" + user, new RefreshTokenRecord("second" + user, Guid.Empty, now, now.AddDays(1)), now, Ctx, default);
        Assert.Equal(user, rotated);

        // The first token again: refused, and the token it was exchanged for dies with it.
        Assert.Null(await h.Sessions.RotateRefreshTokenAsync("first" + user, new RefreshTokenRecord("third" + user, Guid.Empty, now, now.AddDays(1)), now, Ctx, default));
        Assert.Null(await h.Sessions.RotateRefreshTokenAsync("second" + user, new RefreshTokenRecord("fourth" + user, Guid.Empty, now, now.AddDays(1)), now, Ctx, default));
    }

    [Fact]
    public async Task Expired_and_revoked_refresh_tokens_are_refused()
    {
        await using var h = await CreateAsync();
        var user = await UserAsync(h);
        var now = Now;
        await h.Sessions.AddRefreshTokenAsync(new RefreshTokenRecord("old" + user, user, now.AddDays(-2), now.AddDays(-1)), Ctx, default);
        await h.Sessions.AddRefreshTokenAsync(new RefreshTokenRecord("live" + user, user, now, now.AddDays(1)), Ctx, default);

        Assert.Null(await h.Sessions.RotateRefreshTokenAsync("old" + user, new RefreshTokenRecord("x" + user, Guid.Empty, now, now.AddDays(1)), now, Ctx, default));
        Assert.False(await h.Sessions.RevokeRefreshTokenAsync("live" + user, Guid.NewGuid(), now, Ctx, default));
        Assert.True(await h.Sessions.RevokeRefreshTokenAsync("live" + user, user, now, Ctx, default));
        Assert.Null(await h.Sessions.RotateRefreshTokenAsync("live" + user, new RefreshTokenRecord("y" + user, Guid.Empty, now, now.AddDays(1)), now, Ctx, default));
    }

    [Fact]
    public async Task There_is_exactly_one_direct_conversation_per_pair()
    {
        await using var h = await CreateAsync();
        var a = await UserAsync(h);
        var b = await UserAsync(h);

        var (first, created) = await h.Conversations.GetOrCreateDirectAsync(Guid.CreateVersion7(), a, b, Now, Ctx, default);
        var (second, createdAgain) = await h.Conversations.GetOrCreateDirectAsync(Guid.CreateVersion7(), b, a, Now, Ctx, default);

        Assert.True(created);
        Assert.False(createdAgain);
        Assert.Equal(first.Id, second.Id);
        Assert.Equal(ConversationTypes.Direct, second.Type);
        Assert.Equal(new[] { a, b }.Order(), (await h.Conversations.GetMemberIdsAsync(first.Id, default)).Order());
    }

    [Fact]
    public async Task A_group_makes_its_creator_owner_and_the_rest_members()
    {
        await using var h = await CreateAsync();
        var owner = await UserAsync(h);
        var others = new[] { await UserAsync(h), await UserAsync(h) };

        var group = await h.Conversations.CreateGroupAsync(Guid.CreateVersion7(), owner, "Team", [.. others, owner], Now, Ctx, default);

        Assert.Equal("Team", (await h.Conversations.GetConversationAsync(group.Id, default))?.Title);
        Assert.Equal(ParticipantRoles.Owner, (await h.Conversations.GetParticipantAsync(group.Id, owner, default))?.Role);
        Assert.Equal(ParticipantRoles.Member, (await h.Conversations.GetParticipantAsync(group.Id, others[0], default))?.Role);
        Assert.Equal(3, (await h.Conversations.GetMemberIdsAsync(group.Id, default)).Count);
        Assert.Null(await h.Conversations.GetParticipantAsync(group.Id, Guid.NewGuid(), default));
        Assert.Null(await h.Conversations.GetConversationAsync(Guid.NewGuid(), default));
    }

    [Fact]
    public async Task Persisting_assigns_strictly_increasing_sequences_without_gaps()
    {
        await using var h = await CreateAsync();
        var (c, a, b) = await DirectAsync(h);
        var batch = Enumerable.Range(0, 10).Select(i => Envelopes.New(c, i % 2 == 0 ? a : b, $"m{i}")).ToList();

        var results = await h.Messages.PersistBatchAsync(batch, default);

        Assert.All(results, r => Assert.Equal(PersistOutcome.Inserted, r.Outcome));
        Assert.Equal(Enumerable.Range(1, 10).Select(i => (long)i), results.Select(r => r.Message!.Sequence));
        Assert.All(results, r => Assert.Equal(new[] { a, b }.Order(), r.MemberIds.Order()));
        var more = await h.Messages.PersistBatchAsync([Envelopes.New(c, a, "next")], default);
        Assert.Equal(11, more[0].Message!.Sequence);
        Assert.Equal(11, (await h.Conversations.GetConversationAsync(c, default))?.LastSequence);
    }

    [Fact]
    public async Task A_batch_under_an_older_lease_epoch_than_the_store_has_seen_writes_nothing()
    {
        await using var h = await CreateAsync();
        var (c, a, _) = await DirectAsync(h);
        var partition = Random.Shared.Next(0, 1024);
        Assert.Equal(PersistOutcome.Inserted, (await h.Messages.PersistBatchAsync([Envelopes.New(c, a, "under 5")], new PartitionFence(partition, 5), default))[0].Outcome);
        Assert.Equal(PersistOutcome.Inserted, (await h.Messages.PersistBatchAsync([Envelopes.New(c, a, "5 again")], new PartitionFence(partition, 5), default))[0].Outcome);

        var stale = Envelopes.New(c, a, "under 4");
        var fenced = await Assert.ThrowsAsync<PartitionFencedException>(() => h.Messages.PersistBatchAsync([stale], new PartitionFence(partition, 4), default));
        Assert.Equal((partition, 4L), (fenced.Partition, fenced.Epoch));

        Assert.Null(await h.Messages.GetMessageAsync(stale.MessageId, default));
        Assert.Equal(2, (await h.Conversations.GetConversationAsync(c, default))?.LastSequence);
        Assert.Equal(PersistOutcome.Inserted, (await h.Messages.PersistBatchAsync([Envelopes.New(c, a, "under 6")], new PartitionFence(partition, 6), default))[0].Outcome);
        Assert.Equal(PersistOutcome.Inserted, (await h.Messages.PersistBatchAsync([Envelopes.New(c, a, "other partition")], new PartitionFence(partition + 1, 1), default))[0].Outcome);
        await Assert.ThrowsAsync<PartitionFencedException>(() => h.Messages.PersistBatchAsync([Envelopes.New(c, a)], new PartitionFence(partition, 5), default));
    }

    [Fact]
    public async Task A_group_of_partitions_batches_commits_together_and_one_stale_fence_writes_none_of_it()
    {
        await using var h = await CreateAsync();
        var (c1, a, _) = await DirectAsync(h);
        var (c2, b, _) = await DirectAsync(h);
        var p = Random.Shared.Next(0, 1000);
        await h.Messages.PersistBatchAsync([Envelopes.New(c1, a, "first")], new PartitionFence(p + 2, 7), default);

        // Listed out of partition order on purpose: the store takes them in order whatever the caller passes.
        var group = await h.Messages.PersistBatchAsync(
            [Envelopes.New(c2, b, "one"), Envelopes.New(c1, a, "two"), Envelopes.New(c2, b, "three")],
            [new PartitionFence(p + 2, 7), new PartitionFence(p, 1)], default);
        Assert.Equal([1L, 2L, 2L], group.Select(r => r.Message!.Sequence));

        var lost = Envelopes.New(c2, b, "under a lost lease");
        var fenced = await Assert.ThrowsAsync<PartitionFencedException>(() => h.Messages.PersistBatchAsync(
            [Envelopes.New(c1, a, "fine alone"), lost], [new PartitionFence(p + 2, 8), new PartitionFence(p + 1, 1), new PartitionFence(p, 0)], default));
        Assert.Equal((p, 0L), (fenced.Partition, fenced.Epoch));
        Assert.Null(await h.Messages.GetMessageAsync(lost.MessageId, default));
        Assert.Equal(2, (await h.Conversations.GetConversationAsync(c1, default))?.LastSequence);
        Assert.Equal(2, (await h.Conversations.GetConversationAsync(c2, default))?.LastSequence);

        // Nothing of the refused group moved a fence either: epoch 7 still writes on its partition.
        Assert.Equal(PersistOutcome.Inserted, (await h.Messages.PersistBatchAsync([Envelopes.New(c1, a, "still 7")], new PartitionFence(p + 2, 7), default))[0].Outcome);
    }

    [Fact]
    public async Task A_replayed_envelope_is_a_duplicate_and_creates_no_second_row()
    {
        await using var h = await CreateAsync();
        var (c, a, _) = await DirectAsync(h);
        var e = Envelopes.New(c, a);
        await h.Messages.PersistBatchAsync([e], default);

        var replay = await h.Messages.PersistBatchAsync([e, e with { MessageId = Guid.CreateVersion7() }], default);

        Assert.All(replay, r => Assert.Equal(PersistOutcome.Duplicate, r.Outcome));
        var page = await h.Messages.GetMessagesAsync(c, new HistoryQuery(null, null, 50), default);
        Assert.Equal(e.MessageId, Assert.Single(page.Items).Id);
        Assert.Equal(e.MessageId, (await h.Messages.FindByIdempotencyKeyAsync(e.IdempotencyKey, default))?.Id);
    }

    [Fact]
    public async Task Ids_by_idempotency_keys_answer_the_stored_keys_of_a_batch_and_leave_out_the_rest()
    {
        await using var h = await CreateAsync();
        var (c, a, _) = await DirectAsync(h);
        var (first, second) = (Envelopes.New(c, a), Envelopes.New(c, a));
        await h.Messages.PersistBatchAsync([first, second], default);

        var found = await h.Messages.FindIdsByIdempotencyKeysAsync([first.IdempotencyKey, second.IdempotencyKey, "k:never-stored", first.IdempotencyKey], default);

        Assert.Equal(2, found.Count);
        Assert.Equal(first.MessageId, found[first.IdempotencyKey]);
        Assert.Equal(second.MessageId, found[second.IdempotencyKey]);
        Assert.Empty(await h.Messages.FindIdsByIdempotencyKeysAsync([], default));
    }

    [Fact]
    public async Task A_message_for_a_missing_conversation_is_rejected_without_failing_the_batch()
    {
        await using var h = await CreateAsync();
        var (c, a, _) = await DirectAsync(h);

        var results = await h.Messages.PersistBatchAsync([Envelopes.New(Guid.NewGuid(), a), Envelopes.New(c, a)], default);

        Assert.Equal(PersistOutcome.Rejected, results[0].Outcome);
        Assert.NotNull(results[0].RejectReason);
        Assert.Equal(PersistOutcome.Inserted, results[1].Outcome);
    }

    [Fact]
    public async Task Stored_messages_keep_every_field()
    {
        await using var h = await CreateAsync();
        var (c, a, _) = await DirectAsync(h);
        var e = Envelopes.New(c, a, "héllo") with { Metadata = """{"k":[1,2]}""", Type = MessageTypes.Location };

        await h.Messages.PersistBatchAsync([e], default);
        var m = await h.Messages.GetMessageAsync(e.MessageId, default);

        Assert.NotNull(m);
        Assert.Equal((e.ConversationId, e.SenderId, e.Content, e.Type, e.ClientMessageId, e.CorrelationId, e.AcceptedAt),
            (m.ConversationId, m.SenderId, m.Content, m.Type, m.ClientMessageId, m.CorrelationId, m.AcceptedAt));
        Assert.Equal("""{"k":[1,2]}""", m.Metadata?.Replace(" ", "", StringComparison.Ordinal));
        Assert.Equal(IdempotencyKeys.ContentHash("héllo"), m.ContentHash);
        Assert.Equal(6, m.Size);
    }

    [Fact]
    public async Task Unread_counts_grow_for_the_other_members_and_sending_reads_the_conversation()
    {
        await using var h = await CreateAsync();
        var (c, a, b) = await DirectAsync(h);

        await h.Messages.PersistBatchAsync([Envelopes.New(c, a), Envelopes.New(c, a)], default);
        Assert.Equal(0, (await h.Conversations.GetParticipantAsync(c, a, default))?.UnreadCount);
        Assert.Equal(2, (await h.Conversations.GetParticipantAsync(c, b, default))?.UnreadCount);

        // Replying means b has seen everything before the reply.
        await h.Messages.PersistBatchAsync([Envelopes.New(c, b)], default);
        var bAfter = await h.Conversations.GetParticipantAsync(c, b, default);
        Assert.Equal(0, bAfter?.UnreadCount);
        Assert.Equal(new ReceiptWatermarks(3, 3), bAfter?.Watermarks);
        Assert.Equal(1, (await h.Conversations.GetParticipantAsync(c, a, default))?.UnreadCount);
    }

    [Fact]
    public async Task History_pages_by_sequence_in_both_directions()
    {
        await using var h = await CreateAsync();
        var (c, a, _) = await DirectAsync(h);
        await h.Messages.PersistBatchAsync(Enumerable.Range(0, 25).Select(i => Envelopes.New(c, a, $"m{i}")).ToList(), default);

        var newest = await h.Messages.GetMessagesAsync(c, new HistoryQuery(null, null, 10), default);
        Assert.Equal(Seq(16, 25), newest.Items.Select(m => m.Sequence));
        Assert.True(newest.HasMore);

        var older = await h.Messages.GetMessagesAsync(c, new HistoryQuery(16, null, 10), default);
        Assert.Equal(Seq(6, 15), older.Items.Select(m => m.Sequence));
        var oldest = await h.Messages.GetMessagesAsync(c, new HistoryQuery(6, null, 10), default);
        Assert.Equal(Seq(1, 5), oldest.Items.Select(m => m.Sequence));
        Assert.False(oldest.HasMore);

        var since = await h.Messages.GetMessagesAsync(c, new HistoryQuery(null, 20, 3), default);
        Assert.Equal(Seq(21, 23), since.Items.Select(m => m.Sequence));
        Assert.True(since.HasMore);
        var tail = await h.Messages.GetMessagesAsync(c, new HistoryQuery(null, 23, 10), default);
        Assert.Equal(Seq(24, 25), tail.Items.Select(m => m.Sequence));
        Assert.False(tail.HasMore);

        var window = await h.Messages.GetMessagesAsync(c, new HistoryQuery(10, 5, 50), default);
        Assert.Equal(Seq(6, 9), window.Items.Select(m => m.Sequence));
        Assert.Empty((await h.Messages.GetMessagesAsync(Guid.NewGuid(), new HistoryQuery(null, null, 10), default)).Items);

        static IEnumerable<long> Seq(long from, long to) => Enumerable.Range((int)from, (int)(to - from + 1)).Select(i => (long)i);
    }

    [Fact]
    public async Task Receipts_are_monotonic_capped_and_read_implies_delivered()
    {
        await using var h = await CreateAsync();
        var (c, a, b) = await DirectAsync(h);
        await h.Messages.PersistBatchAsync(Enumerable.Range(0, 5).Select(_ => Envelopes.New(c, a)).ToList(), default);

        var delivered = await h.Receipts.AdvanceReceiptAsync(c, b, ReceiptKind.Delivered, 3, Ctx, default);
        Assert.True(delivered!.Advanced);
        Assert.Equal(new ReceiptWatermarks(3, 0), delivered.Watermarks);

        var backwards = await h.Receipts.AdvanceReceiptAsync(c, b, ReceiptKind.Delivered, 2, Ctx, default);
        Assert.False(backwards!.Advanced);
        Assert.Equal(new ReceiptWatermarks(3, 0), backwards.Watermarks);

        var read = await h.Receipts.AdvanceReceiptAsync(c, b, ReceiptKind.Read, 4, Ctx, default);
        Assert.Equal(new ReceiptWatermarks(4, 4), read!.Watermarks);
        Assert.Equal(1, read.UnreadCount);

        var beyond = await h.Receipts.AdvanceReceiptAsync(c, b, ReceiptKind.Read, 1000, Ctx, default);
        Assert.Equal(new ReceiptWatermarks(5, 5), beyond!.Watermarks);
        Assert.Equal(0, beyond.UnreadCount);
        Assert.False((await h.Receipts.AdvanceReceiptAsync(c, b, ReceiptKind.Read, 5, Ctx, default))!.Advanced);

        Assert.Null(await h.Receipts.AdvanceReceiptAsync(c, Guid.NewGuid(), ReceiptKind.Read, 1, Ctx, default));
    }

    [Fact]
    public async Task Message_status_aggregates_the_recipients_watermarks()
    {
        await using var h = await CreateAsync();
        var owner = await UserAsync(h);
        var x = await UserAsync(h);
        var y = await UserAsync(h);
        var g = await h.Conversations.CreateGroupAsync(Guid.CreateVersion7(), owner, null, [x, y], Now, Ctx, default);
        var e = Envelopes.New(g.Id, owner);
        await h.Messages.PersistBatchAsync([e], default);

        Assert.Equal(MessageState.Sent, (await h.Messages.GetMessageStatusAsync(e.MessageId, default))!.State);
        await h.Receipts.AdvanceReceiptAsync(g.Id, x, ReceiptKind.Delivered, 1, Ctx, default);
        var partial = await h.Messages.GetMessageStatusAsync(e.MessageId, default);
        Assert.Equal((2, 1, 0, MessageState.Sent), (partial!.RecipientCount, partial.DeliveredCount, partial.ReadCount, partial.State));
        await h.Receipts.AdvanceReceiptAsync(g.Id, y, ReceiptKind.Delivered, 1, Ctx, default);
        Assert.Equal(MessageState.Delivered, (await h.Messages.GetMessageStatusAsync(e.MessageId, default))!.State);
        await h.Receipts.AdvanceReceiptAsync(g.Id, x, ReceiptKind.Read, 1, Ctx, default);
        await h.Receipts.AdvanceReceiptAsync(g.Id, y, ReceiptKind.Read, 1, Ctx, default);
        Assert.Equal(MessageState.Read, (await h.Messages.GetMessageStatusAsync(e.MessageId, default))!.State);
        Assert.Null(await h.Messages.GetMessageStatusAsync(Guid.NewGuid(), default));
    }

    [Fact]
    public async Task Conversations_are_listed_by_last_activity_with_unread_and_last_message()
    {
        await using var h = await CreateAsync();
        var me = await UserAsync(h);
        var ids = new List<Guid>();
        for (var i = 0; i < 5; i++)
        {
            var other = await UserAsync(h);
            var (c, _) = await h.Conversations.GetOrCreateDirectAsync(Guid.CreateVersion7(), me, other, Now.AddMinutes(-10 + i), Ctx, default);
            ids.Add(c.Id);
        }

        // Activity in the oldest conversation moves it to the top.
        var e = Envelopes.New(ids[0], Guid.Empty, "latest", at: Now.AddMinutes(1)) with { SenderId = (await h.Conversations.GetMemberIdsAsync(ids[0], default)).First(m => m != me) };
        await h.Messages.PersistBatchAsync([e], default);

        var first = await h.Conversations.ListConversationsAsync(me, ConversationListFilter.All, null, 3, default);
        Assert.Equal([ids[0], ids[4], ids[3]], first.Items.Select(s => s.Conversation.Id));
        Assert.Equal(1, first.Items[0].UnreadCount);
        Assert.Equal("latest", first.Items[0].LastMessage?.Content);
        Assert.Null(first.Items[1].LastMessage);
        Assert.Equal(2, first.Items[0].MemberIds.Count);
        Assert.NotNull(first.Next);

        var second = await h.Conversations.ListConversationsAsync(me, ConversationListFilter.All, first.Next, 3, default);
        Assert.Equal([ids[2], ids[1]], second.Items.Select(s => s.Conversation.Id));
        Assert.Null(second.Next);
    }

    [Fact]
    public async Task Sequences_are_independent_per_conversation_within_one_batch()
    {
        await using var h = await CreateAsync();
        var (c1, a, _) = await DirectAsync(h);
        var (c2, x, _) = await DirectAsync(h);

        var results = await h.Messages.PersistBatchAsync([Envelopes.New(c1, a), Envelopes.New(c2, x), Envelopes.New(c1, a), Envelopes.New(c2, x)], default);

        Assert.Equal(new long[] { 1, 1, 2, 2 }, results.Select(r => r.Message!.Sequence));
    }

    [Fact]
    public async Task Everything_survives_a_restart()
    {
        await using var h = await CreateAsync();
        var (c, a, b) = await DirectAsync(h);
        var e = Envelopes.New(c, a);
        await h.Messages.PersistBatchAsync([e], default);
        await h.Receipts.AdvanceReceiptAsync(c, b, ReceiptKind.Delivered, 1, Ctx, default);

        await h.RestartAsync();

        Assert.Equal(e.MessageId, (await h.Messages.GetMessageAsync(e.MessageId, default))?.Id);
        Assert.Equal(1, (await h.Conversations.GetParticipantAsync(c, b, default))?.Watermarks.Delivered);
        Assert.Equal(PersistOutcome.Duplicate, (await h.Messages.PersistBatchAsync([e], default))[0].Outcome);
        Assert.Equal(2, (await h.Messages.PersistBatchAsync([Envelopes.New(c, b)], default))[0].Message?.Sequence);
    }
}
