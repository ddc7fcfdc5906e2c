using Parley.Core.Membership;
using Parley.Core.Messaging;
using Parley.Core.Ports;

namespace Parley.Specification;

/// <summary>
/// The read models against the outbox (E1), on every engine: after a randomized workload the live values are what the
/// events say; wiped, a rebuild from the events restores them exactly; a rebuild racing live sends loses none of them.
/// </summary>
public abstract class ReadModelStoreSpecification
{
    protected abstract Task<IStoreHarness> CreateAsync();

    private static DateTimeOffset Now => Envelopes.TruncatedNow();

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public async Task Read_models_wiped_after_a_random_workload_are_rebuilt_from_the_events_equal_to_the_originals(int seed)
    {
        await using var h = await CreateAsync();
        var workload = await Workload.StartAsync(h, new Random(seed));
        await workload.RunAsync(steps: 160);

        var original = await h.ReadModels.ReadAsync(default);
        Assert.NotEmpty(original.Messages);
        Assert.Contains(original.Members.Values, m => m.UnreadCount > 0);
        Assert.Contains(original.Members.Values, m => m.UnreadMentions > 0);
        Assert.Contains(original.Messages.Values, m => m.ReplyCount > 0);
        Assert.Contains(original.Messages.Values, m => m.Reactions is not null);

        // What the writers keep is what the events say, and a check writes nothing.
        var check = await h.ReadModels.RebuildAsync(apply: false, default);
        Assert.Equal(0, check.DriftCount);
        Assert.All(check.Checks, c => Assert.Equal(0, c.Uncovered));
        Assert.Equal(original.Count, check.Checks.Sum(c => c.Examined));
        Assert.False(check.Applied);

        await h.ReadModels.ReplaceAsync(Wiped(original), default);
        var wiped = await h.ReadModels.ReadAsync(default);
        Assert.Empty(wiped.Messages);
        Assert.All(wiped.Members.Values, m => Assert.Equal(default, m));

        var rebuilt = await h.ReadModels.RebuildAsync(apply: true, default);
        Assert.True(rebuilt.Applied);
        Assert.Equal(original.Conversations.Count + original.Members.Count(m => m.Value != default) + original.Messages.Count, rebuilt.DriftCount);
        AssertEqual(original, await h.ReadModels.ReadAsync(default));
        Assert.Equal(0, (await h.ReadModels.RebuildAsync(apply: false, default)).DriftCount);
    }

    [Fact]
    public async Task A_rebuild_racing_live_sends_and_receipts_loses_none_of_their_updates()
    {
        await using var h = await CreateAsync();
        var workload = await Workload.StartAsync(h, new Random(7));
        await workload.RunAsync(steps: 40);
        await h.ReadModels.ReplaceAsync(Wiped(await h.ReadModels.ReadAsync(default)), default);

        var live = workload.RunAsync(steps: 60);
        var rebuilds = Task.Run(async () =>
        {
            for (var i = 0; i < 4; i++)
            {
                await h.ReadModels.RebuildAsync(apply: true, default);
            }
        });
        await Task.WhenAll(live, rebuilds);

        Assert.Equal(0, (await h.ReadModels.RebuildAsync(apply: false, default)).DriftCount);
    }

    /// <summary>Every value zero or null: last activity at the epoch, no last message, no unread, no counters.</summary>
    private static ReadModelSet Wiped(ReadModelSet set) => new(
        set.Conversations.ToDictionary(c => c.Key, _ => new ConversationReadModel(DateTimeOffset.UnixEpoch, null)),
        set.Members.ToDictionary(m => m.Key, _ => default(MemberReadModel)),
        set.Messages.ToDictionary(m => m.Key, _ => default(MessageReadModel)));

    private static void AssertEqual(ReadModelSet expected, ReadModelSet actual)
    {
        Assert.Equal(expected.Conversations.OrderBy(c => c.Key), actual.Conversations.OrderBy(c => c.Key));
        Assert.Equal(expected.Members.OrderBy(m => m.Key), actual.Members.OrderBy(m => m.Key));
        Assert.Equal(expected.Messages.OrderBy(m => m.Key), actual.Messages.OrderBy(m => m.Key));
    }

    /// <summary>
    /// Random sends (replies and mentions among them, sometimes several in one batch), reactions added and removed,
    /// deletes for everyone and for me, read and delivered receipts, members added and removed, in three groups of six users.
    /// </summary>
    private sealed class Workload(IStoreHarness h, Random random, Guid[] users, List<Group> groups)
    {
        private static readonly string[] Keys = [":+1:", ":tada:", ":eyes:"];

        public static async Task<Workload> StartAsync(IStoreHarness h, Random random)
        {
            var users = new Guid[6];
            for (var i = 0; i < users.Length; i++)
            {
                users[i] = await MessageStoreSpecification.UserAsync(h);
            }

            var groups = new List<Group>();
            for (var g = 0; g < 3; g++)
            {
                var owner = users[g];
                var members = users.Where(u => u != owner).Take(2 + g).ToList();
                var created = await h.Conversations.CreateGroupAsync(Guid.CreateVersion7(), owner, $"g{g}", members, Now, MessageStoreSpecification.Ctx, default);
                groups.Add(new Group(created.Id, owner, [owner, .. members]));
            }

            return new Workload(h, random, users, groups);
        }

        public async Task RunAsync(int steps)
        {
            for (var i = 0; i < steps; i++)
            {
                var group = groups[random.Next(groups.Count)];
                var member = group.Members[random.Next(group.Members.Count)];
                switch (random.Next(10))
                {
                    case < 4:
                        await SendAsync(group, random.Next(1, 4));
                        break;
                    case 4 or 5 when group.Messages.Count > 0:
                        var target = Pick(group);
                        var envelope = Envelopes.Change(target, member, MessageChangeKinds.Reaction, key: Keys[random.Next(Keys.Length)], added: random.Next(3) > 0);
                        await PersistAsync(group, [envelope]);
                        break;
                    case 6 when group.Messages.Count > 0:
                        var deleted = Pick(group);
                        await PersistAsync(group, [Envelopes.Change(deleted, deleted.SenderId, MessageChangeKinds.Delete)]);
                        break;
                    case 7:
                        var kind = random.Next(3) > 0 ? ReceiptKind.Read : ReceiptKind.Delivered;
                        await h.Receipts.AdvanceReceiptAsync(group.Id, member, kind, Math.Max(0, group.Messages.Count - random.Next(0, 5)), MessageStoreSpecification.Ctx, default);
                        break;
                    case 8 when group.Messages.Count > 0:
                        await h.Personal.HideMessageAsync(member, Pick(group), Now, MessageStoreSpecification.Ctx, default);
                        break;
                    default:
                        await ChangeMembershipAsync(group);
                        break;
                }
            }
        }

        private async Task SendAsync(Group group, int count)
        {
            var batch = new List<MessageEnvelope>();
            for (var i = 0; i < count; i++)
            {
                var sender = group.Members[random.Next(group.Members.Count)];
                var envelope = Envelopes.New(group.Id, sender, $"m{random.Next()}");
                if (group.Messages.Count > 0 && random.Next(3) == 0)
                {
                    envelope = envelope with { ReplyTo = Pick(group).Id };
                }

                if (random.Next(3) == 0)
                {
                    envelope = envelope with { Mentions = [.. group.Members.Where(m => m != sender && random.Next(2) == 0)] };
                }

                batch.Add(envelope);
            }

            await PersistAsync(group, batch);
        }

        private async Task PersistAsync(Group group, IReadOnlyList<MessageEnvelope> batch)
        {
            foreach (var result in await h.Messages.PersistBatchAsync(batch, default))
            {
                Assert.NotEqual(PersistOutcome.Rejected, result.Outcome);
                if (!result.Envelope.IsChange && result.Outcome == PersistOutcome.Inserted)
                {
                    group.Messages.Add(result.Message!);
                }
            }
        }

        /// <summary>Add a user who is not in (at the last sequence), or remove one who is (never the owner).</summary>
        private async Task ChangeMembershipAsync(Group group)
        {
            var outside = users.Where(u => !group.Members.Contains(u)).ToList();
            if (outside.Count > 0 && (random.Next(2) == 0 || group.Members.Count <= 2))
            {
                var user = outside[random.Next(outside.Count)];
                var added = await h.Conversations.ChangeMembershipAsync(group.Id, new AddMembersCommand(group.Owner, [user], ParticipantRoles.Member, 100), Now,
                    MessageStoreSpecification.Ctx, default);
                Assert.Null(added.Error);
                group.Members.Add(user);
                return;
            }

            var removable = group.Members.Where(m => m != group.Owner).ToList();
            var removed = removable[random.Next(removable.Count)];
            var result = await h.Conversations.ChangeMembershipAsync(group.Id, new RemoveMemberCommand(group.Owner, removed), Now, MessageStoreSpecification.Ctx, default);
            Assert.Null(result.Error);
            group.Members.Remove(removed);
        }

        private StoredMessage Pick(Group group) => group.Messages[random.Next(group.Messages.Count)];
    }

    private sealed record Group(Guid Id, Guid Owner, List<Guid> Members)
    {
        public List<StoredMessage> Messages { get; } = [];
    }
}
