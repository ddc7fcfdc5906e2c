using Parley.Core.Events;
using Parley.Core.Messaging;
using Parley.Core.Ports;

namespace Parley.Specification;

/// <summary>Polls (M9): the poll stored with its message, votes as changes through the persist batch, on every engine.</summary>
public abstract partial class MessageStoreSpecification
{
    private static MessageEnvelope Poll(Guid conversation, Guid sender, bool multiple = false, bool anonymous = false, DateTimeOffset? closesAt = null) =>
        Envelopes.New(conversation, sender, "Where shall we eat?") with
        {
            Type = MessageTypes.Poll,
            Poll = new PollDefinition(["pizza", "sushi", "tacos"], multiple, anonymous, closesAt),
        };

    private static MessageEnvelope Vote(StoredMessage poll, Guid voter, params int[] options) =>
        Envelopes.Change(poll, voter, MessageChangeKinds.Vote) with { OptionIds = options };

    /// <summary>Per-option counts, then the voters: "1,2,1/2".</summary>
    private static string Counts(StoredMessage m) => $"{string.Join(",", m.Poll!.Counts)}/{m.Poll.Voters}";

    [Fact]
    public async Task Votes_replace_the_voters_earlier_choice_keep_counts_and_voters_exact_and_show_each_reader_their_own()
    {
        await using var h = await CreateAsync();
        var (c, a, b) = await DirectAsync(h);
        var poll = (await h.Messages.PersistBatchAsync([Poll(c, a, multiple: true)], default))[0].Message!;
        Assert.Equal(["pizza", "sushi", "tacos"], poll.Poll!.Definition.Options);
        Assert.Equal("0,0,0/0", Counts(poll));

        var results = await h.Messages.PersistBatchAsync(
            [Vote(poll, a, 0), Vote(poll, b, 1, 2), Vote(poll, b, 2, 1), Vote(poll, a, 0, 1)], default);
        Assert.Equal([PersistOutcome.Inserted, PersistOutcome.Inserted, PersistOutcome.Unchanged, PersistOutcome.Inserted], results.Select(r => r.Outcome));
        Assert.Equal([1L, 2L, 3L], results.Where(r => r.Change is not null).Select(r => r.Change!.ChangeSequence));
        Assert.Equal([0, 1], results[3].Change!.OptionIds);

        var stored = (await h.Messages.GetMessageAsync(poll.Id, default))!;
        Assert.Equal("1,2,1/2", Counts(stored));
        Assert.Equal([(a, 0), (a, 1), (b, 1), (b, 2)], (await h.Messages.GetVotesAsync(poll.Id, default)).Select(v => (v.UserId, v.OptionId)).Order());
        var page = await h.Messages.GetMessagesAsync(c, new HistoryQuery(null, null, 10) { Viewer = b }, default);
        Assert.Equal([1, 2], page.Items.Single().MyVotes);

        // Retracted: the voter and their options are gone; a second retraction changes nothing.
        var retract = await h.Messages.PersistBatchAsync([Vote(poll, b), Vote(poll, b)], default);
        Assert.Equal([PersistOutcome.Inserted, PersistOutcome.Unchanged], retract.Select(r => r.Outcome));
        stored = (await h.Messages.GetMessageAsync(poll.Id, default))!;
        Assert.Equal("1,1,0/1", Counts(stored));
        Assert.Empty((await h.Messages.GetMessagesAsync(c, new HistoryQuery(null, null, 10) { Viewer = b }, default)).Items.Single().MyVotes!);
        Assert.Equal([(a, 0), (a, 1)], (await h.Messages.GetVotesAsync(poll.Id, default)).Select(v => (v.UserId, v.OptionId)).Order());

        var changes = await h.Messages.GetChangesAsync(c, 0, 10, default);
        Assert.Equal([[0], [1, 2], [0, 1], []], changes.Select(x => x.OptionIds));
        Assert.All(changes, x => Assert.Equal(x.ActorId, x.VisibleActor));
        Assert.Equal(4, (await AllEventsAsync(h)).Count(e => e.Type == DomainEventTypes.PollVoted));
    }

    [Fact]
    public async Task A_vote_that_does_not_fit_the_poll_or_reaches_it_closed_is_rejected_and_deleting_the_poll_erases_its_votes()
    {
        await using var h = await CreateAsync();
        var (c, a, b) = await DirectAsync(h);
        var closesAt = Envelopes.TruncatedNow().AddMinutes(1);
        var poll = (await h.Messages.PersistBatchAsync([Poll(c, a, anonymous: true, closesAt: closesAt)], default))[0].Message!;
        var text = (await h.Messages.PersistBatchAsync([Envelopes.New(c, a, "no poll")], default))[0].Message!;
        var late = Vote(poll, b, 0) with { AcceptedAt = closesAt };
        var results = await h.Messages.PersistBatchAsync([Vote(poll, b, 0, 1), Vote(poll, b, 3), Vote(text, b, 0), late, Vote(poll, b, 1)], default);
        Assert.Equal([PersistOutcome.Rejected, PersistOutcome.Rejected, PersistOutcome.Rejected, PersistOutcome.Rejected, PersistOutcome.Inserted], results.Select(r => r.Outcome));

        // An anonymous poll's vote names nobody outside the store.
        var vote = results[4].Change!;
        Assert.Equal((b, Guid.Empty), (vote.ActorId, vote.VisibleActor));
        Assert.DoesNotContain(b.ToString(), (await AllEventsAsync(h)).Single(e => e.Type == DomainEventTypes.PollVoted).Data);

        var deleted = await h.Messages.PersistBatchAsync([Envelopes.Change(poll, a, MessageChangeKinds.Delete), Vote(poll, a, 2)], default);
        Assert.Equal([PersistOutcome.Inserted, PersistOutcome.Unchanged], deleted.Select(r => r.Outcome));
        Assert.Null((await h.Messages.GetMessageAsync(poll.Id, default))!.Poll);
        Assert.Empty(await h.Messages.GetVotesAsync(poll.Id, default));
    }
}
