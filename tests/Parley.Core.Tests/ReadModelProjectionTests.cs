using Parley.Core.Events;
using Parley.Core.Persistence;
using Parley.Core.Ports;

namespace Parley.Core.Tests;

public sealed class ReadModelProjectionTests
{
    private static readonly DateTimeOffset At = new(2026, 12, 5, 12, 0, 0, TimeSpan.Zero);

    private static StoredMessage Message(Guid conversation, long sequence, Guid sender, IReadOnlyList<Guid>? mentions = null, Guid? root = null) =>
        new(Guid.CreateVersion7(), conversation, sequence, sender, "text", "hi", null, null, "", 2, Guid.NewGuid(), At.AddSeconds(sequence), At.AddSeconds(sequence))
        {
            Mentions = mentions ?? [],
            ThreadRootId = root,
        };

    private static DomainEvent WithCursor(DomainEvent e, long position) => e with { Cursor = new EventCursor(0, position) };

    [Fact]
    public void Folds_last_activity_unread_mentions_replies_and_reactions_as_the_writers_keep_them()
    {
        var (a, b, c) = (Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid());
        var conversation = new ConversationRecord(Guid.NewGuid(), "group", "g", "active", a, At, At, 0);
        var projection = new ReadModelProjection();
        projection.Apply(ChangeEvents.ConversationCreated(conversation, [(a, "owner"), (b, "member")], EventContext.New()));
        var first = Message(conversation.Id, 1, a, mentions: [b]);
        var reply = Message(conversation.Id, 2, b, root: first.Id);
        projection.Apply(ChangeEvents.MessageStored(first, null));
        projection.Apply(ChangeEvents.MessageStored(reply, null));
        projection.Apply(ChangeEvents.MembersAdded(conversation.Id, [new MemberRecord(c, "member", At)], 2, At, EventContext.New()));
        var third = Message(conversation.Id, 3, a);
        projection.Apply(ChangeEvents.MessageStored(third, null));
        projection.Apply(ChangeEvents.MessageChanged(new StoredChange(Guid.NewGuid(), conversation.Id, 1, "reaction", c, At, first) { ReactionKey = ":+1:", Added = true }, Guid.NewGuid(), At));

        var result = projection.Result();
        Assert.Equal(new ConversationReadModel(third.AcceptedAt, third.Id), result.Conversations[conversation.Id]);
        // b sent seq 2 (read up to it), so only seq 3 is unread; c joined at 2; a sent seq 3.
        Assert.Equal(new MemberReadModel(1, 0), result.Members[(conversation.Id, b)]);
        Assert.Equal(new MemberReadModel(1, 0), result.Members[(conversation.Id, c)]);
        Assert.Equal(new MemberReadModel(0, 0), result.Members[(conversation.Id, a)]);
        Assert.Equal(new MessageReadModel(1, ReactionCountsJson.Format([new ReactionCount(":+1:", 1)])), result.Messages[first.Id]);
        Assert.False(result.Messages.ContainsKey(reply.Id));
    }

    [Fact]
    public void A_message_stored_event_written_before_it_carried_mentions_stops_the_rebuild_naming_its_position()
    {
        var conversation = Guid.NewGuid();
        var legacy = WithCursor(ChangeEvents.MessageStored(Message(conversation, 1, Guid.NewGuid()), null), 42);
        // As version 1 wrote it before the read-model fields: no mentions, no threadRootId.
        legacy = legacy with { Data = legacy.Data.Replace(",\"mentions\":[]", "", StringComparison.Ordinal) };
        Assert.DoesNotContain("mentions", legacy.Data, StringComparison.Ordinal);

        var error = Assert.Throws<ReadModelHistoryException>(() => new ReadModelProjection().Apply(legacy));
        Assert.Equal(new EventCursor(0, 42), error.NewestUnusable);
        Assert.Contains("position 0:42", error.Message, StringComparison.Ordinal);
    }
}
