using Parley.Core.Messaging;
using Parley.Core.Ports;

namespace Parley.Specification;

/// <summary>Disappearing messages (M8): the expiry each message is stored with, and the due list the expiry worker reads, on every engine.</summary>
public abstract partial class MessageStoreSpecification
{
    [Fact]
    public async Task A_message_expires_at_the_sooner_of_its_own_expiry_and_the_conversation_ttl_and_is_due_until_deleted()
    {
        await using var h = await CreateAsync();
        var (c, a, b) = await DirectAsync(h);
        var at = Envelopes.TruncatedNow();
        var plain = Envelopes.New(c, a, "stays", at: at);
        var own = Envelopes.New(c, a, "own expiry", at: at) with { ExpiresAt = at.AddSeconds(30) };
        await h.Messages.PersistBatchAsync([plain, own], default);

        // A TTL of 10 s: sooner than a sender's 30 s, later than a sender's 5 s.
        var ttl = await ChangeAsync(h, c, new EditConversationCommand(b, new ConversationEdit(default, default, default, default, default, default, FieldChange<int?>.To(10))));
        Assert.Equal(10, ttl.Conversation.MessageTtlSeconds);
        Assert.Equal(10, (await h.Conversations.GetConversationAsync(c, default))!.MessageTtlSeconds);
        var capped = Envelopes.New(c, b, "capped by the ttl", at: at) with { ExpiresAt = at.AddSeconds(30) };
        var sooner = Envelopes.New(c, b, "sooner than the ttl", at: at) with { ExpiresAt = at.AddSeconds(5) };
        var byTtl = Envelopes.New(c, b, "ttl only", at: at);
        await h.Messages.PersistBatchAsync([capped, sooner, byTtl], default);

        async Task<DateTimeOffset?> ExpiryOf(MessageEnvelope e) => (await h.Messages.GetMessageAsync(e.MessageId, default))!.ExpiresAt;
        Assert.Null(await ExpiryOf(plain));
        Assert.Equal(at.AddSeconds(30), await ExpiryOf(own));
        Assert.Equal(at.AddSeconds(10), await ExpiryOf(capped));
        Assert.Equal(at.AddSeconds(5), await ExpiryOf(sooner));
        Assert.Equal(at.AddSeconds(10), await ExpiryOf(byTtl));
        Assert.Equal(at.AddSeconds(10), (await h.Messages.GetMessagesAsync(c, new HistoryQuery(null, null, 10), default)).Items.Single(m => m.Id == byTtl.MessageId).ExpiresAt);

        Assert.Empty(await h.Messages.GetExpiredAsync(at.AddSeconds(4), 10, default));
        // Soonest first (the two due at the same time in either order), and only what is due.
        var dueAt10 = await h.Messages.GetExpiredAsync(at.AddSeconds(10), 10, default);
        Assert.Equal(sooner.MessageId, dueAt10[0].MessageId);
        Assert.Equal(new[] { capped.MessageId, byTtl.MessageId }.Order(), dueAt10.Skip(1).Select(d => d.MessageId).Order());
        Assert.Single(await h.Messages.GetExpiredAsync(at.AddSeconds(10), 1, default));
        var due = (await h.Messages.GetExpiredAsync(at.AddSeconds(60), 10, default)).ToDictionary(d => d.MessageId);
        Assert.Equal(4, due.Count);
        Assert.Equal((c, at.AddSeconds(5)), (due[sooner.MessageId].ConversationId, due[sooner.MessageId].ExpiresAt));

        // Deleted (by the expiry worker's delete, or anyone's): no longer due, and its tombstone keeps no expiry.
        var stored = (await h.Messages.GetMessageAsync(sooner.MessageId, default))!;
        var deleted = await h.Messages.PersistBatchAsync([Envelopes.Change(stored, ServerActors.Expiry, MessageChangeKinds.Delete, clientChangeId: "expiry")], default);
        Assert.Equal(PersistOutcome.Inserted, deleted[0].Outcome);
        Assert.Equal(ServerActors.Expiry, deleted[0].Message!.DeletedBy);
        Assert.Null(await ExpiryOf(sooner));
        Assert.DoesNotContain(sooner.MessageId, (await h.Messages.GetExpiredAsync(at.AddSeconds(60), 10, default)).Select(d => d.MessageId));
        // Appended again by another pass or node: the same key, applied once.
        var again = await h.Messages.PersistBatchAsync([Envelopes.Change(stored, ServerActors.Expiry, MessageChangeKinds.Delete, clientChangeId: "expiry")], default);
        Assert.Equal(PersistOutcome.Duplicate, again[0].Outcome);

        // Turned off: messages sent from now on do not expire; those sent before keep their expiry.
        await ChangeAsync(h, c, new EditConversationCommand(a, new ConversationEdit(default, default, default, default, default, default, FieldChange<int?>.To(null))));
        var after = Envelopes.New(c, a, "after");
        await h.Messages.PersistBatchAsync([after], default);
        Assert.Null(await ExpiryOf(after));
        Assert.Equal(at.AddSeconds(10), await ExpiryOf(byTtl));
    }
}
