using System.Collections.Concurrent;
using Parley.Core.Ports;
using StackExchange.Redis;

namespace Parley.Redis;

/// <summary>
/// Cache invalidations between nodes over a Redis pub/sub channel of their own, answered. PUBLISH returns how many
/// subscribers received the message — one per node, this one included — so the sender knows how many answers to wait
/// for without keeping a list of nodes; each other node answers on the same channel after it dropped its entries.
/// Frames are 49 bytes: kind, sender node, request id, and the key (an invalidation) or the asking node (an answer).
/// </summary>
public sealed class RedisClusterInvalidation(RedisConnection connection, string keyPrefix) : IClusterInvalidation
{
    private const byte Invalidate = 1;
    private const byte Answer = 2;
    private const int FrameLength = 49;

    private readonly RedisChannel _channel = RedisChannel.Literal($"{keyPrefix}:invalidate");
    private readonly Guid _node = Guid.NewGuid();
    private readonly ConcurrentDictionary<Guid, Pending> _pending = new();
    private readonly Lock _gate = new();
    private Action<Guid>? _handler;
    private Task? _subscribed;

    public async Task<bool> InvalidateAsync(Guid key, TimeSpan timeout, CancellationToken cancellationToken)
    {
        await SubscribedAsync();
        var request = Guid.NewGuid();
        var pending = new Pending();
        _pending[request] = pending;
        try
        {
            var receivers = await connection.Multiplexer.GetSubscriber().PublishAsync(_channel, Frame(Invalidate, request, key));
            if (pending.Expect(receivers - 1))
            {
                return true;
            }

            try
            {
                await pending.Done.WaitAsync(timeout, cancellationToken);
                return true;
            }
            catch (TimeoutException)
            {
                return false;
            }
        }
        finally
        {
            _pending.TryRemove(request, out _);
        }
    }

    public void Subscribe(Action<Guid> handler)
    {
        lock (_gate)
        {
            _handler += handler;
        }

        _ = SubscribedAsync();
    }

    /// <summary>The subscription, made again if an earlier attempt failed (Redis unreachable then), not cached as failed.</summary>
    private Task SubscribedAsync()
    {
        lock (_gate)
        {
            if (_subscribed is null || _subscribed.IsFaulted || _subscribed.IsCanceled)
            {
                _subscribed = SubscribeAsync();
            }

            return _subscribed;
        }
    }

    private async Task SubscribeAsync()
    {
        var queue = await connection.Multiplexer.GetSubscriber().SubscribeAsync(_channel);
        queue.OnMessage(message =>
        {
            var bytes = (byte[]?)message.Message;
            if (bytes is not { Length: FrameLength })
            {
                return;
            }

            var sender = new Guid(bytes.AsSpan(1, 16));
            var request = new Guid(bytes.AsSpan(17, 16));
            var subject = new Guid(bytes.AsSpan(33, 16));
            if (sender == _node)
            {
                return;
            }

            if (bytes[0] == Invalidate)
            {
                Volatile.Read(ref _handler)?.Invoke(subject);
                _ = connection.Multiplexer.GetSubscriber().PublishAsync(_channel, Frame(Answer, request, sender), CommandFlags.FireAndForget);
            }
            else if (bytes[0] == Answer && subject == _node && _pending.TryGetValue(request, out var pending))
            {
                pending.Answered();
            }
        });
    }

    private byte[] Frame(byte kind, Guid request, Guid subject)
    {
        var frame = new byte[FrameLength];
        frame[0] = kind;
        _node.TryWriteBytes(frame.AsSpan(1, 16));
        request.TryWriteBytes(frame.AsSpan(17, 16));
        subject.TryWriteBytes(frame.AsSpan(33, 16));
        return frame;
    }

    /// <summary>Answers may arrive before PUBLISH has said how many to expect: both orders complete it.</summary>
    private sealed class Pending
    {
        private readonly TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly Lock _gate = new();
        private long _answers;
        private long? _expected;

        public Task Done => _done.Task;

        /// <summary>True when that many answers are already in.</summary>
        public bool Expect(long expected)
        {
            lock (_gate)
            {
                _expected = expected;
                return Check();
            }
        }

        public void Answered()
        {
            lock (_gate)
            {
                _answers++;
                Check();
            }
        }

        private bool Check()
        {
            if (_expected is { } expected && _answers >= expected)
            {
                _done.TrySetResult();
                return true;
            }

            return false;
        }
    }
}
