using Parley.Core.Ports;
using StackExchange.Redis;

namespace Parley.Redis;

/// <summary>
/// Realtime events between nodes over one Redis pub/sub channel. Each message starts with the publishing node's
/// id so a node skips its own. Pub/sub is fire-and-forget: what is published while a node is cut off is lost to it,
/// which is why devices recover by sequence and <see cref="Restored"/> triggers a catch-up.
/// </summary>
public sealed class RedisRealtimeBus : IRealtimeBus
{
    private readonly RedisConnection _connection;
    private readonly RedisChannel _channel;
    private readonly byte[] _node = Guid.NewGuid().ToByteArray();

    public RedisRealtimeBus(IConnectionMultiplexer redis, string keyPrefix)
        : this(RedisConnection.Of(redis), keyPrefix)
    {
    }

    public RedisRealtimeBus(RedisConnection connection, string keyPrefix)
    {
        _connection = connection;
        _channel = RedisChannel.Literal($"{keyPrefix}:realtime");
        connection.OnConnected(redis => redis.ConnectionRestored += (_, e) =>
        {
            if (e.ConnectionType == ConnectionType.Subscription)
            {
                Restored?.Invoke();
            }
        });
    }

    public event Action? Restored;

    public async ValueTask PublishAsync(ReadOnlyMemory<byte> message, CancellationToken cancellationToken)
    {
        var framed = new byte[_node.Length + message.Length];
        _node.CopyTo(framed, 0);
        message.CopyTo(framed.AsMemory(_node.Length));
        await _connection.Multiplexer.GetSubscriber().PublishAsync(_channel, framed);
    }

    public void Subscribe(Action<ReadOnlyMemory<byte>> handler) =>
        _connection.Multiplexer.GetSubscriber().Subscribe(_channel).OnMessage(message =>
        {
            var bytes = (byte[])message.Message!;
            if (bytes.Length >= _node.Length && !bytes.AsSpan(0, _node.Length).SequenceEqual(_node))
            {
                handler(bytes.AsMemory(_node.Length));
            }
        });
}
