using Parley.Core.Messaging;

namespace Parley.Bench.Tests;

/// <summary>The reactions scenario's options and the model its exactness check rests on; the rich history seed's shape.</summary>
public sealed class ReactionsTests
{
    [Fact]
    public void Reactions_default_to_2000_per_second_500_users_4_keys_and_4_devices()
    {
        var options = BenchOptions.Parse(["reactions"]);

        Assert.Equal([2000], options.Rates);
        Assert.Equal(500, options.ReactionUsers);
        Assert.Equal(4, options.ReactionKeys);
        Assert.Equal(4, options.Watchers);
        // Other scenarios keep their own default rates.
        Assert.Equal([1000, 2500, 5000], BenchOptions.Parse(["ingest"]).Rates);
    }

    [Fact]
    public void Reaction_options_are_parsed_and_rate_is_the_same_as_rates()
    {
        var options = BenchOptions.Parse(["reactions", "--rate", "1500", "--users", "200", "--keys", "3", "--watchers", "2", "--engine", "production"]);

        Assert.Equal([1500], options.Rates);
        Assert.Equal((200, 3, 2), (options.ReactionUsers, options.ReactionKeys, options.Watchers));
        Assert.True(BenchOptions.Parse(["history", "--rich"]).Rich);
        Assert.False(BenchOptions.Parse(["history"]).Rich);
    }

    [Theory]
    [InlineData("--users", "1")]
    [InlineData("--users", "1001")]
    [InlineData("--keys", "0")]
    [InlineData("--keys", "9")]
    [InlineData("--watchers", "0")]
    public void Reaction_options_out_of_range_are_refused(string name, string value) =>
        Assert.Throws<ArgumentException>(() => BenchOptions.Parse(["reactions", name, value]));

    [Fact]
    public void Watchers_cannot_outnumber_users() =>
        Assert.Throws<ArgumentException>(() => BenchOptions.Parse(["reactions", "--users", "3", "--watchers", "4"]));

    [Fact]
    public void Every_key_is_one_the_server_accepts() =>
        Assert.All(ReactionModel.Keys, key => Assert.Null(ReactionKeys.Problem(key)));

    [Fact]
    public void Consecutive_requests_go_to_different_users_and_every_pair_comes_round_once_per_cycle()
    {
        var model = new ReactionModel(users: 3, keys: 2);

        var cycle = Enumerable.Range(0, 6).Select(i => model.PairOf(i)).ToList();

        Assert.Equal([(0, 0), (1, 0), (2, 0), (0, 1), (1, 1), (2, 1)], cycle);
        Assert.Equal(model.PairOf(1), model.PairOf(7));
    }

    [Fact]
    public async Task Each_request_flips_its_pair_and_the_counts_are_what_the_acknowledged_requests_leave()
    {
        var model = new ReactionModel(users: 2, keys: 2);
        var sent = new List<(int User, string Key, bool Add)>();
        Task<ReactionOutcome> Send(int user, string key, bool add)
        {
            sent.Add((user, key, add));
            return Task.FromResult(ReactionOutcome.Applied);
        }

        // Pairs in order (0,k0) (1,k0) (0,k1) (1,k1); five requests: pair (0,k0) twice, so added then removed.
        for (var i = 0; i < 5; i++)
        {
            Assert.True(await model.RunAsync(i, Send));
        }

        Assert.Equal((0, ReactionModel.Keys[0], true), sent[0]);
        Assert.Equal((0, ReactionModel.Keys[0], false), sent[4]);
        Assert.Equal(new Dictionary<string, int> { [ReactionModel.Keys[0]] = 1, [ReactionModel.Keys[1]] = 2 }, model.ExpectedCounts());
        Assert.Equal(5, model.Applied);
        Assert.Equal([ReactionModel.Keys[1]], model.KeysOf(0));
        Assert.Equal([ReactionModel.Keys[0], ReactionModel.Keys[1]], model.KeysOf(1).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task A_refused_request_changes_nothing_and_an_unknown_one_is_counted_as_such()
    {
        var model = new ReactionModel(users: 1, keys: 1);

        Assert.False(await model.RunAsync(0, (_, _, _) => Task.FromResult(ReactionOutcome.Refused)));
        Assert.False(await model.RunAsync(1, (_, _, _) => Task.FromResult(ReactionOutcome.Unknown)));
        await Assert.ThrowsAsync<HttpRequestException>(() => model.RunAsync(2, (_, _, _) => throw new HttpRequestException("gone")));

        Assert.Equal(0, model.ExpectedCounts()[ReactionModel.Keys[0]]);
        Assert.Equal((0, 1, 2), (model.Applied, model.Refused, model.Unknown));
        Assert.Equal(0, model.LastAckAt);

        // The pair's turn was released each time: the next request still runs, and it is an add.
        var added = false;
        Assert.True(await model.RunAsync(3, (_, _, add) => Task.FromResult((added = add) ? ReactionOutcome.Applied : ReactionOutcome.Refused)));
        Assert.True(added);
        Assert.True(model.LastAckAt > 0);
    }

    [Fact]
    public async Task A_pair_s_next_request_is_not_sent_before_the_previous_one_is_answered()
    {
        var model = new ReactionModel(users: 1, keys: 1);
        var firstAnswer = new TaskCompletionSource<ReactionOutcome>(TaskCreationOptions.RunContinuationsAsynchronously);
        var secondSent = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);

        var first = model.RunAsync(0, (_, _, _) => firstAnswer.Task);
        var second = model.RunAsync(1, (_, _, add) =>
        {
            secondSent.SetResult(add);
            return Task.FromResult(ReactionOutcome.Applied);
        });

        Assert.False(secondSent.Task.IsCompleted);
        firstAnswer.SetResult(ReactionOutcome.Applied);
        await Task.WhenAll(first, second);

        // The second saw the first's add and removed it.
        Assert.False(await secondSent.Task);
        Assert.Equal(0, model.ExpectedCounts()[ReactionModel.Keys[0]]);
    }

    [Fact]
    public void Differences_name_every_key_whose_count_differs_and_treat_an_absent_key_as_zero()
    {
        var expected = new Dictionary<string, int> { [":heart:"] = 2, [":tada:"] = 0 };

        Assert.Empty(ReactionModel.Differences(expected, new Dictionary<string, int> { [":heart:"] = 2 }));
        Assert.Equal([":heart:: expected 2, got 1"], ReactionModel.Differences(expected, new Dictionary<string, int> { [":heart:"] = 1 }));
        Assert.Equal([":fire:: not in the model, got 1"], ReactionModel.Differences(expected, new Dictionary<string, int> { [":heart:"] = 2, [":fire:"] = 1 }));
    }

    [Fact]
    public void The_rich_history_seed_makes_most_messages_replies_with_reactions_each_after_its_message()
    {
        var conversation = Guid.NewGuid();
        Guid[] members = [Guid.NewGuid(), Guid.NewGuid()];
        var recent = new List<Guid>();

        var batch = HistoryScenario.RichBatch(conversation, members, 0, 1000, recent);
        var next = HistoryScenario.RichBatch(conversation, members, 1000, 1000, recent);

        var sends = batch.Where(e => !e.IsChange).ToList();
        var reactions = batch.Where(e => e.Kind == MessageChangeKinds.Reaction).ToList();
        Assert.Equal(1000, sends.Count);
        Assert.InRange(sends.Count(s => s.ReplyTo is not null), 700, 800);
        Assert.Equal(800, reactions.Select(r => r.TargetId).Distinct().Count());
        Assert.All(reactions, r => Assert.True(batch.FindIndex(e => e.MessageId == r.TargetId) < batch.IndexOf(r)));
        Assert.All(reactions, r => Assert.Null(ReactionKeys.Problem(r.ReactionKey!)));
        // One reaction per user and key and message, or the store would count fewer than the seed meant.
        Assert.Equal(reactions.Count, reactions.Select(r => (r.TargetId, r.SenderId, r.ReactionKey)).Distinct().Count());
        // Replies name earlier messages, across batches too.
        var ids = batch.Concat(next).Where(e => !e.IsChange).Select(e => e.MessageId).ToList();
        Assert.All(next.Where(e => e.ReplyTo is not null), e => Assert.True(ids.IndexOf(e.ReplyTo!.Value) < ids.IndexOf(e.MessageId)));
        Assert.Contains(next, e => e.ReplyTo is { } r && batch.Any(b => b.MessageId == r));
        Assert.Equal(batch.Count, batch.Select(e => e.IdempotencyKey).Distinct().Count());
    }
}
