using System.Text;
using System.Text.Json;
using Parley.Server.Contracts;
using Parley.Server.Realtime;

namespace Parley.Server.Tests;

/// <summary>The closed realtime event hierarchy through the node bus's source-generated serializer.</summary>
public sealed class RealtimeEventTests
{
    private static readonly DateTimeOffset At = new(2026, 11, 29, 23, 0, 0, TimeSpan.Zero);

    private static MessageView Message(string? metadata) =>
        new(Guid.NewGuid(), Guid.NewGuid(), 7, Guid.NewGuid(), "text", "héllo 😀", JsonText.From(metadata), "client-1", new string('a', 64), 9, Guid.NewGuid(), At, At.AddMilliseconds(3));

    public static TheoryData<RealtimeEvent> Events() => [.. All()];

    private static RealtimeEvent[] All() =>
    [
        new MessageCreatedEvent(Message("""{"n":123456789012345678901234567890,"x":1e400,"s":"\u00e9"}""")),
        new MessageCreatedEvent(Message(null)),
        new ReceiptEvent(new ReceiptView(Guid.NewGuid(), Guid.NewGuid(), "read", 5, 6, 5, 2)),
        new TypingEvent(new TypingView(Guid.NewGuid(), Guid.NewGuid(), true, 10_000)),
        new PresenceEvent(new PresenceView(Guid.NewGuid(), false, At)),
        new PresenceEvent(new PresenceView(Guid.NewGuid(), true, null)),
        new UnreadTotalEvent(new UnreadTotalView(12, 3)),
        new DisconnectingEvent(new DisconnectingView(RealtimeErrors.SlowConsumer, "reconnect")),
        new FriendRequestEvent(FriendRequest("pending", new SocialUserView(Guid.NewGuid(), "ann", "Ánn", null, At))),
        new FriendRequestAcceptedEvent(FriendRequest("accepted", new SocialUserView(Guid.NewGuid(), "bob", "Bob", "https://cdn.example.com/b.png", At))),
        new FriendRequestDeclinedEvent(FriendRequest("declined", null)),
        new FriendRequestCancelledEvent(FriendRequest("cancelled", null)),
        new FriendRemovedEvent(new FriendRemovedView(Guid.NewGuid())),
        new ConversationSettingsChangedEvent(new ConversationSettingsView(Guid.NewGuid(), true, At, true, false)),
        new ConversationSettingsChangedEvent(new ConversationSettingsView(Guid.NewGuid(), false, null, false, true)),
        new MemberAddedEvent(new MemberAddedView(Guid.NewGuid(), [new MemberView(Guid.NewGuid(), "member"), new MemberView(Guid.NewGuid(), "admin")], 250, Guid.NewGuid())),
        new DraftUpdatedEvent(new DraftView(Guid.NewGuid(), "hälf", JsonText.From("""{"replyTo":3}"""), At, false)),
        new DraftUpdatedEvent(new DraftView(Guid.NewGuid(), null, null, At, true)),
        new MemberRemovedEvent(new MemberRemovedView(Guid.NewGuid(), Guid.NewGuid(), "left", Guid.NewGuid())),
        new MemberRoleChangedEvent(new MemberRoleChangedView(Guid.NewGuid(), Guid.NewGuid(), "owner", Guid.NewGuid())),
        new MembershipChangedEvent(new MembershipChangedView(Guid.NewGuid(), Guid.NewGuid(), false, null, "removed", Guid.NewGuid())),
        new MessageCreatedEvent(Message(null) with
        {
            ReplyTo = new ReplyPreviewView(Guid.NewGuid(), Guid.NewGuid(), "the quéstion", false), ThreadRootId = Guid.NewGuid(), ReplyCount = 2, EditCount = 1, EditedAt = At,
            Reactions = [new ReactionCountView(":ok:", 2), new ReactionCountView("👍🏽", 1)], MyReactions = ["👍🏽"],
        }),
        new MessageEditedEvent(new MessageEditedView(Guid.NewGuid(), Guid.NewGuid(), 4, 9, "edïted", new string('a', 64), 7, 2, At, Guid.NewGuid(), "typo", false)),
        new MessageDeletedEvent(new MessageDeletedView(Guid.NewGuid(), Guid.NewGuid(), 4, 10, At, Guid.NewGuid())),
        new ReactionChangedEvent(new ReactionChangedView(Guid.NewGuid(), Guid.NewGuid(), 4, 11, "👍🏽", Guid.NewGuid(), true, 3, At)),
        new MessageHiddenEvent(new HiddenView(Guid.NewGuid(), Guid.NewGuid(), 5)),
        new MessagePinnedEvent(new MessagePinnedView(Guid.NewGuid(), Guid.NewGuid(), 4, 12, false, Guid.NewGuid(), At)),
        new PollUpdatedEvent(new PollUpdatedView(Guid.NewGuid(), Guid.NewGuid(), 4, 13, [2, 0, 1], 3, At) { UserId = Guid.NewGuid(), OptionIds = [0, 2] }),
        new MessageDeletedEvent(new MessageDeletedView(Guid.NewGuid(), Guid.NewGuid(), 4, 14, At, Guid.Empty)),
        new MessageCreatedEvent(Message(null) with
        {
            Poll = new PollView([new PollOptionView(0, "pizza", 2), new PollOptionView(1, "süshi", 0)], true, false, At, 2) { MyVotes = [0] }, ExpiresAt = At,
        }),
        new ScheduledMessageUpdatedEvent(new ScheduledMessageView(Guid.NewGuid(), Guid.NewGuid(), At, "sent", At.AddHours(-1), "text", "lätér", JsonText.From("""{"k":1e400}"""), "c-9")
        {
            ReplyTo = Guid.NewGuid(), MessageId = Guid.NewGuid(),
        }),
        new ScheduledMessageUpdatedEvent(new ScheduledMessageView(Guid.NewGuid(), Guid.NewGuid(), At, "failed", At, "text", "x", null, null) { FailureReason = "NOT_CONVERSATION_MEMBER" }),
        new ConversationUpdatedEvent(new ConversationDetailsView(Guid.NewGuid(), "channel", "Ops", null, "https://cdn.example.com/c.png", JsonText.From("""{"k":1e400}"""),
            "public", "archived", At, 12, new ContextView("BOOKING", "4711", JsonText.From("""{"at":"10:00"}""")))),
    ];

    private static FriendRequestView FriendRequest(string status, SocialUserView? user) => new(Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid(), status, At, user);

    [Theory]
    [MemberData(nameof(Events))]
    public void Every_event_comes_back_from_the_node_bus_as_the_same_event(RealtimeEvent realtimeEvent)
    {
        var sent = new AddressedEvent(realtimeEvent, [Guid.NewGuid(), Guid.NewGuid()], Guid.NewGuid());

        var received = NodeEventRelay.Decode(NodeEventRelay.Encode(sent));

        Assert.NotNull(received);
        Assert.Equal(sent.UserIds, received.UserIds);
        Assert.Equal(sent.ExceptUser, received.ExceptUser);
        Assert.Equal(realtimeEvent.GetType(), received.Event.GetType());
        Assert.Equal(realtimeEvent.Name, received.Event.Name);
        // Records compare by value; MessageView's metadata is a JsonText record, so this also compares its text. A list
        // inside a record compares by reference, so those payloads compare as their JSON.
        if (realtimeEvent.Payload is MemberAddedView or MessageView { Reactions: not null } or MessageView { Poll: not null } or PollUpdatedView)
        {
            Assert.Equal(JsonSerializer.Serialize(realtimeEvent.Payload), JsonSerializer.Serialize(received.Event.Payload));
        }
        else
        {
            Assert.Equal(realtimeEvent.Payload, received.Event.Payload);
        }
    }

    [Fact]
    public void An_event_without_an_excepted_user_comes_back_without_one()
    {
        var sent = new AddressedEvent(new TypingEvent(new TypingView(Guid.NewGuid(), Guid.NewGuid(), false, 0)), [Guid.NewGuid()]);

        Assert.Null(NodeEventRelay.Decode(NodeEventRelay.Encode(sent))!.ExceptUser);
    }

    [Fact]
    public void The_event_name_on_the_bus_is_the_hub_event_name()
    {
        foreach (var realtimeEvent in All())
        {
            using var frame = JsonDocument.Parse(NodeEventRelay.Encode(new AddressedEvent(realtimeEvent, [Guid.NewGuid()])));
            Assert.Equal(realtimeEvent.Name, frame.RootElement.GetProperty("event").GetProperty("name").GetString());
        }
    }

    [Fact]
    public void Stored_metadata_that_is_not_json_crosses_the_bus_unchanged()
    {
        // Metadata is written as stored, never parsed; a value that is not JSON must still leave a readable frame.
        var sent = new AddressedEvent(new MessageCreatedEvent(Message("""{"unterminated": [1, 2""")), [Guid.NewGuid()]);

        var received = Assert.IsType<MessageCreatedEvent>(NodeEventRelay.Decode(NodeEventRelay.Encode(sent))!.Event);

        Assert.Equal("""{"unterminated": [1, 2""", received.Message.Metadata?.Text);
    }

    [Theory]
    [InlineData("""{"event":{"name":"somethingNew","x":1},"userIds":[],"exceptUser":null}""")]
    [InlineData("""{"event":{"name":"typing"},"userIds":[],"exceptUser":null}""")]
    [InlineData("""{"event":{"name":"typing","typing":null},"userIds":[],"exceptUser":null}""")]
    [InlineData("""{"userIds":[],"exceptUser":null}""")]
    [InlineData("""not json""")]
    [InlineData("""[]""")]
    public void A_frame_that_is_not_a_whole_event_of_this_version_is_dropped(string frame)
    {
        Assert.Null(NodeEventRelay.Decode(Encoding.UTF8.GetBytes(frame)));
    }

    [Fact]
    public void A_frame_from_the_bus_with_a_known_event_decodes()
    {
        // The same shape as the rejected ones above, made whole: the drops are about the content, not the format.
        var user = Guid.NewGuid();
        var conversation = Guid.NewGuid();
        var frame = $$$"""{"event":{"name":"typing","typing":{"conversationId":"{{{conversation}}}","userId":"{{{user}}}","isTyping":true,"expiresInMs":5}},"userIds":["{{{user}}}"],"exceptUser":null}""";

        var received = NodeEventRelay.Decode(Encoding.UTF8.GetBytes(frame));

        Assert.Equal(new TypingEvent(new TypingView(conversation, user, true, 5)), received?.Event);
    }
}
