using System.Text;
using Parley.Core.Ports;
using Parley.Server.Contracts;
using Parley.Server.Realtime;

namespace Parley.Server.Tests;

/// <summary>
/// The node bus's group commit: one bus message per publish while the bus is idle, and what is published while a
/// message is on its way goes out together as the next one, in order, with nothing lost or reordered on the way in.
/// </summary>
public sealed class NodeEventFrameTests
{
    /// <summary>Holds every publish until released, and hands what it took to the subscriber as another node would get it.</summary>
    private sealed class GatedBus : IRealtimeBus
    {
        private Action<ReadOnlyMemory<byte>>? _handler;

        public TaskCompletionSource Release { get; set; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public List<byte[]> Published { get; } = [];

        public TaskCompletionSource FirstPublish { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public async ValueTask PublishAsync(ReadOnlyMemory<byte> message, CancellationToken cancellationToken)
        {
            lock (Published)
            {
                Published.Add(message.ToArray());
            }

            FirstPublish.TrySetResult();
            await Release.Task;
            _handler?.Invoke(message.ToArray());
        }

        public void Subscribe(Action<ReadOnlyMemory<byte>> handler) => _handler = handler;

        public event Action? Restored
        {
            add { }
            remove { }
        }
    }

    private static AddressedEvent Typing(int n) =>
        new(new TypingEvent(new TypingView(Guid.NewGuid(), Guid.NewGuid(), true, n)), [Guid.NewGuid()]);

    private static int Order(AddressedEvent e) => (int)((TypingEvent)e.Event).Typing.ExpiresInMs;

    [Fact]
    public async Task Events_published_while_the_bus_is_busy_go_out_as_one_message_in_order()
    {
        var bus = new GatedBus();
        var relay = new NodeEventRelay(bus);
        var received = new List<AddressedEvent>();
        relay.Subscribe(e => received.Add(e));

        var first = relay.PublishAsync(Typing(0), CancellationToken.None);
        await bus.FirstPublish.Task.WaitAsync(TimeSpan.FromSeconds(10));
        var rest = Enumerable.Range(1, 10).Select(n => relay.PublishAsync(Typing(n), CancellationToken.None).AsTask()).ToList();
        bus.Release.TrySetResult();
        await first;
        await Task.WhenAll(rest).WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(2, bus.Published.Count);
        Assert.Equal((byte)'{', bus.Published[0][0]);
        Assert.Equal((byte)'[', bus.Published[1][0]);
        Assert.Equal(Enumerable.Range(0, 11), received.Select(Order));
    }

    [Fact]
    public async Task A_failed_bus_message_fails_every_publish_it_carried_and_the_next_one_goes_out()
    {
        var bus = new FailingOnceBus();
        var relay = new NodeEventRelay(bus);

        await Assert.ThrowsAsync<InvalidOperationException>(() => relay.PublishAsync(Typing(1), CancellationToken.None).AsTask());
        await relay.PublishAsync(Typing(2), CancellationToken.None);

        Assert.Equal(2, bus.Attempts);
    }

    private sealed class FailingOnceBus : IRealtimeBus
    {
        public int Attempts { get; private set; }

        public ValueTask PublishAsync(ReadOnlyMemory<byte> message, CancellationToken cancellationToken) =>
            ++Attempts == 1 ? ValueTask.FromException(new InvalidOperationException("bus down")) : ValueTask.CompletedTask;

        public void Subscribe(Action<ReadOnlyMemory<byte>> handler)
        {
        }

        public event Action? Restored
        {
            add { }
            remove { }
        }
    }

    [Fact]
    public void A_frame_keeps_every_whole_event_and_skips_the_ones_this_version_cannot_use()
    {
        var one = Encoding.UTF8.GetString(NodeEventRelay.Encode(Typing(1)));
        var two = Encoding.UTF8.GetString(NodeEventRelay.Encode(Typing(2)));
        var frame = $$"""[{{one}}, {"event":{"name":"somethingNew"},"userIds":[]} ,{{two}}]""";

        var events = NodeEventRelay.DecodeFrame(Encoding.UTF8.GetBytes(frame));

        Assert.Equal([1, 2], events.Select(Order));
    }

    [Theory]
    [InlineData("[")]
    [InlineData("not json")]
    [InlineData("[{\"event\":")]
    [InlineData("[]")]
    public void A_torn_or_foreign_bus_message_yields_no_event(string message)
    {
        Assert.Empty(NodeEventRelay.DecodeFrame(Encoding.UTF8.GetBytes(message)));
    }

    [Fact]
    public void A_single_event_message_from_a_node_of_the_previous_version_still_decodes()
    {
        var events = NodeEventRelay.DecodeFrame(NodeEventRelay.Encode(Typing(7)));

        Assert.Equal(7, Order(Assert.Single(events)));
    }

    [Fact]
    public void Message_metadata_in_a_frame_of_several_reaches_the_other_node_as_the_same_json_text()
    {
        const string Metadata = """{"e":"\u00e9\u0041","n":123456789012345678901234567890,"s" : [1.0, -0]}""";
        var now = DateTimeOffset.UtcNow;
        var view = new MessageView(Guid.NewGuid(), Guid.NewGuid(), 1, Guid.NewGuid(), "text", "hi", new JsonText(Metadata), null, new string('0', 64), 2, Guid.NewGuid(), now, now);
        var message = Encoding.UTF8.GetString(NodeEventRelay.Encode(new AddressedEvent(new MessageCreatedEvent(view), [Guid.NewGuid()])));
        var typing = Encoding.UTF8.GetString(NodeEventRelay.Encode(Typing(1)));

        var events = NodeEventRelay.DecodeFrame(Encoding.UTF8.GetBytes($"[{typing},{message}]"));

        Assert.Equal(Metadata, Assert.IsType<MessageCreatedEvent>(events[1].Event).Message.Metadata?.Text);
    }
}
