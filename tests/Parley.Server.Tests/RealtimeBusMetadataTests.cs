using Parley.Core.Ports;
using Parley.Server.Contracts;
using Parley.Server.Realtime;

namespace Parley.Server.Tests;

/// <summary>Issue 11: a message event that crosses to another node carries the metadata's JSON text unchanged.</summary>
public sealed class RealtimeBusMetadataTests
{
    private sealed class LoopbackBus : IRealtimeBus
    {
        private Action<ReadOnlyMemory<byte>>? _handler;

        public ValueTask PublishAsync(ReadOnlyMemory<byte> message, CancellationToken cancellationToken)
        {
            _handler?.Invoke(message.ToArray());
            return ValueTask.CompletedTask;
        }

        public void Subscribe(Action<ReadOnlyMemory<byte>> handler) => _handler = handler;

        public event Action? Restored
        {
            add { }
            remove { }
        }
    }

    [Theory]
    [InlineData("""{"a":1e400,"e":"\u00e9\u0041","n":123456789012345678901234567890, "s" : [1.0, -0],"k":"\u0000"}""")]
    [InlineData("""{}""")]
    [InlineData("""{"😀":"\ud83d\ude00","q":"\"\\\/"}""")]
    public async Task Metadata_crosses_the_node_bus_as_the_same_json_text(string metadata)
    {
        var bus = new NodeEventRelay(new LoopbackBus());
        AddressedEvent? received = null;
        bus.Subscribe(e => received = e);
        var now = DateTimeOffset.UtcNow;
        var view = new MessageView(Guid.NewGuid(), Guid.NewGuid(), 1, Guid.NewGuid(), "text", "hi", new JsonText(metadata), null, new string('0', 64), 2, Guid.NewGuid(), now, now);

        await bus.PublishAsync(new AddressedEvent(new MessageCreatedEvent(view), [Guid.NewGuid()]), CancellationToken.None);

        var message = Assert.IsType<MessageCreatedEvent>(received?.Event).Message;
        Assert.Equal(metadata, message.Metadata?.Text);
    }
}
