using Microsoft.Extensions.DependencyInjection;
using Parley.Core.Ports;
using Parley.Server.Pipeline;
using Parley.Server.Tests.Infrastructure;

namespace Parley.Server.Tests;

/// <summary>D3: nodes sharing Redis and PostgreSQL split the log partitions by lease; each partition has one writer.</summary>
public sealed class PartitionOwnershipTests
{
    private static IReadOnlyList<int> Held(TestServer node) => node.Services.GetRequiredService<PartitionOwnership>().HeldPartitions;

    [Fact]
    public async Task Two_nodes_split_the_partitions_store_causally_ordered_sends_in_order_and_a_stopping_node_hands_its_share_over()
    {
        var settings = await TestEngines.SettingsAsync(TestEngines.Production);
        var shared = Directory.CreateTempSubdirectory("parley-leases-").FullName;
        var a = await TestServer.StartAsync(settings, shared);
        var aStopped = false;
        await using var b = await TestServer.StartAsync(settings, shared);
        try
        {
            // Each node settles on its share: 8 and 8, disjoint, together all 16. A wait that times out fails.
            await Eventually.TrueAsync(() => Held(a).Count == 8 && Held(b).Count == 8, "an 8/8 split of the 16 partitions");
            var (heldByA, heldByB) = (Held(a), Held(b));
            Assert.Empty(heldByA.Intersect(heldByB));
            Assert.Equal(Enumerable.Range(0, 16), heldByA.Concat(heldByB).Order());

            // Each send waits for its 202 before the next goes to the other node: the sender's order is the only
            // order there is, and each conversation must keep it, although either node may have accepted a message.
            using var viaA = a.Client();
            using var viaB = b.Client();
            var (me, peer) = (await viaA.SignUpAsync(), await viaA.SignUpAsync());
            var conversations = new List<Guid>();
            for (var i = 0; i < 4; i++)
            {
                conversations.Add((await viaA.GroupAsync(me, $"g{i}", peer.UserId)).Id);
            }

            for (var n = 0; n < 60; n++)
            {
                await (n % 2 == 0 ? viaA : viaB).SendAsync(me, conversations[n % 4], $"m{n}");
            }

            foreach (var (conversation, i) in conversations.Select((c, i) => (c, i)))
            {
                var stored = await viaB.WaitForStoredAsync(me, conversation, 15);
                Assert.Equal(Enumerable.Range(0, 15).Select(k => $"m{(k * 4) + i}"), stored.OrderBy(m => m.Sequence).Select(m => m.Content));
            }

            // A graceful stop releases the leases at once; the survivor does not wait out the TTL.
            await a.DisposeStoppedAsync();
            aStopped = true;
            await Eventually.TrueAsync(() => Held(b).Count == 16, "the survivor to hold all 16 partitions", TimeSpan.FromSeconds(10));
            Assert.Equal(Enumerable.Range(0, 16), Held(b).Order());
            await viaB.SendAsync(me, conversations[0], "after");
            Assert.Equal("after", (await viaB.WaitForStoredAsync(me, conversations[0], 16)).MaxBy(m => m.Sequence)?.Content);
        }
        finally
        {
            if (!aStopped)
            {
                await a.DisposeStoppedAsync();
            }
        }
    }

    [Theory]
    [InlineData(TestEngines.Embedded)]
    [InlineData(TestEngines.Production)]
    public async Task A_node_fenced_off_a_partition_writes_nothing_under_its_old_epoch_and_stores_the_batch_once_under_a_new_one(string engine)
    {
        await using var server = await TestServer.StartAsync(await TestEngines.SettingsAsync(engine));
        var ownership = server.Services.GetRequiredService<PartitionOwnership>();
        using var client = server.Client();
        var (me, peer) = (await client.SignUpAsync(), await client.SignUpAsync());
        var conversation = (await client.DirectAsync(me, peer.UserId)).Id;
        var first = await client.SendAsync(me, conversation, "before");
        await client.WaitForStoredAsync(me, conversation, 1);
        var epoch = ownership.Current(first.Partition)!.Epoch;

        // What a successor's first write leaves behind: the store has seen a newer epoch than this node holds.
        await server.Services.GetRequiredService<IMessageStore>().PersistBatchAsync([], new PartitionFence(first.Partition, epoch + 1), default);
        await client.SendAsync(me, conversation, "after");

        var stored = await client.WaitForStoredAsync(me, conversation, 2);
        Assert.Equal(["before", "after"], stored.OrderBy(m => m.Sequence).Select(m => m.Content));
        Assert.True(ownership.Current(first.Partition)?.Epoch > epoch);

        // A marker in the same partition is stored after anything the fenced batch could still have written.
        await client.SendAsync(me, conversation, "marker");
        await client.WaitForStoredAsync(me, conversation, 3);
        Assert.Equal(["before", "after", "marker"], (await client.AllMessagesAsync(me, conversation)).OrderBy(m => m.Sequence).Select(m => m.Content));
    }
}
