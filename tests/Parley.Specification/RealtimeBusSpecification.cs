using System.Collections.Concurrent;
using System.Text;
using Parley.Core.Ports;

namespace Parley.Specification;

/// <summary>
/// What every <see cref="IRealtimeBus"/> promises on one node, written once: the in-process bus (one node, nothing to
/// carry) and Redis run it. <see cref="MultiNodeRealtimeBusSpecification"/> adds what a bus between nodes promises.
/// </summary>
public abstract class RealtimeBusSpecification
{
    /// <summary><paramref name="count"/> nodes sharing one bus (a single-node bus supports one).</summary>
    protected abstract Task<IReadOnlyList<IRealtimeBus>> CreateNodesAsync(int count);

    /// <summary>
    /// Returns once everything published before the call has reached <paramref name="node"/>'s subscribers, if it
    /// was going to: a positive marker, so "nothing arrived" is decided without a sleep.
    /// </summary>
    protected abstract Task DrainAsync(IRealtimeBus node);

    protected static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task A_node_never_receives_what_it_published_itself()
    {
        var node = (await CreateNodesAsync(1))[0];
        var received = Record(node);

        for (var i = 0; i < 20; i++)
        {
            await node.PublishAsync(Bytes($"own {i}"), default);
        }

        await DrainAsync(node);
        Assert.DoesNotContain(received, m => m.StartsWith("own", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Publishing_an_empty_or_a_large_message_completes()
    {
        var node = (await CreateNodesAsync(1))[0];

        await node.PublishAsync(ReadOnlyMemory<byte>.Empty, default).AsTask().WaitAsync(Deadline);
        await node.PublishAsync(new byte[256 * 1024], default).AsTask().WaitAsync(Deadline);
    }

    protected static ReadOnlyMemory<byte> Bytes(string text) => Encoding.UTF8.GetBytes(text);

    /// <summary>Subscribes a recorder: every message the node's subscribers get, in arrival order.</summary>
    protected static ConcurrentQueue<string> Record(IRealtimeBus node)
    {
        var received = new ConcurrentQueue<string>();
        node.Subscribe(bytes => received.Enqueue(Encoding.UTF8.GetString(bytes.Span)));
        return received;
    }

    protected static async Task UntilAsync(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + Deadline;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"Timed out waiting for: {what}");
            await Task.Delay(10); // polling interval of a deadline-bounded wait
        }
    }
}

/// <summary>What a bus between nodes promises (D3): fan-out to every other node, per-publisher order, a restored subscription.</summary>
public abstract class MultiNodeRealtimeBusSpecification : RealtimeBusSpecification
{
    /// <summary>Cuts <paramref name="node"/>'s connection to the bus the way a network break would; the bus reconnects by itself.</summary>
    protected abstract Task BreakAsync(IRealtimeBus node);

    /// <summary>Stops <paramref name="node"/> for good (its process going away).</summary>
    protected abstract Task StopAsync(IRealtimeBus node);

    [Fact]
    public async Task A_publication_reaches_every_subscriber_on_every_other_node_once()
    {
        var nodes = await CreateNodesAsync(3);
        var first = nodes.Select(Record).ToList();
        var second = nodes.Select(Record).ToList(); // two subscribers on each node

        await nodes[0].PublishAsync(Bytes("hello"), default);
        await nodes[0].PublishAsync(Bytes("marker"), default);

        foreach (var received in first.Skip(1).Concat(second.Skip(1)))
        {
            await UntilAsync(() => received.Contains("marker"), "the marker on every other node");
            Assert.Equal(["hello", "marker"], received);
        }

        await DrainAsync(nodes[0]);
        Assert.DoesNotContain(first[0].Concat(second[0]), m => m is "hello" or "marker");
    }

    [Fact]
    public async Task Each_publishers_messages_arrive_in_the_order_it_published_them()
    {
        var nodes = await CreateNodesAsync(3);
        var received = Record(nodes[2]);

        async Task PublishAsync(IRealtimeBus node, string name)
        {
            for (var i = 0; i < 200; i++)
            {
                await node.PublishAsync(Bytes($"{name} {i}"), default);
            }
        }

        await Task.WhenAll(PublishAsync(nodes[0], "a"), PublishAsync(nodes[1], "b"));

        await UntilAsync(() => received.Count >= 400, "400 messages on the third node");
        Assert.Equal(Enumerable.Range(0, 200).Select(i => $"a {i}"), received.Where(m => m[0] == 'a'));
        Assert.Equal(Enumerable.Range(0, 200).Select(i => $"b {i}"), received.Where(m => m[0] == 'b'));
    }

    [Fact]
    public async Task After_a_break_the_node_raises_restored_and_receives_again()
    {
        var nodes = await CreateNodesAsync(2);
        var received = Record(nodes[1]);
        var restored = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        nodes[1].Restored += () => restored.TrySetResult();

        await BreakAsync(nodes[1]);
        await restored.Task.WaitAsync(Deadline);

        // Restored means the subscription is back: what is published from now on arrives (earlier may be lost).
        await UntilAsync(() =>
        {
            _ = nodes[0].PublishAsync(Bytes("after the break"), default);
            return received.Contains("after the break");
        }, "a message published after Restored");
    }

    [Fact]
    public async Task A_stopped_node_does_not_hold_up_the_others()
    {
        var nodes = await CreateNodesAsync(3);
        var received = Record(nodes[2]);
        await StopAsync(nodes[1]);

        await nodes[0].PublishAsync(Bytes("still here"), default).AsTask().WaitAsync(Deadline);

        await UntilAsync(() => received.Contains("still here"), "the message on the live node");
    }
}
