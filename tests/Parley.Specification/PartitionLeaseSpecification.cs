using Parley.Core.Ports;

namespace Parley.Specification;

/// <summary>What every <see cref="IPartitionLeases"/> must do (D3): written once, run in-process and on Redis.</summary>
public abstract class PartitionLeaseSpecification
{
    /// <summary>A fresh lease table (Redis: its own key prefix).</summary>
    protected abstract Task<IPartitionLeases> CreateAsync();

    private static readonly TimeSpan Long = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task A_held_lease_is_refused_to_other_nodes_and_renewed_for_its_holder_under_the_same_epoch()
    {
        var leases = await CreateAsync();
        var epoch = await leases.TryHoldAsync(3, "a", Long, default);
        Assert.NotNull(epoch);
        Assert.Null(await leases.TryHoldAsync(3, "b", Long, default));
        Assert.Equal(epoch, await leases.TryHoldAsync(3, "a", Long, default));
        Assert.NotNull(await leases.TryHoldAsync(4, "b", Long, default)); // partitions are independent
    }

    [Fact]
    public async Task A_lease_its_holder_stops_renewing_lapses_and_the_next_holder_gets_a_higher_epoch()
    {
        var leases = await CreateAsync();
        var first = (await leases.TryHoldAsync(0, "a", TimeSpan.FromMilliseconds(300), default))!.Value;
        // "b" asks until the lapsed lease is its, within a deadline: no guess at how long expiry takes.
        long? second = null;
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while ((second = await leases.TryHoldAsync(0, "b", Long, default)) is null)
        {
            Assert.True(DateTime.UtcNow < deadline, "the lapsed lease was not granted to the next holder within 30 s");
            await Task.Delay(50); // polling interval
        }

        Assert.True(second > first, $"epoch {second} after {first}");
        Assert.Null(await leases.TryHoldAsync(0, "a", Long, default)); // the old holder cannot take it back
    }

    [Fact]
    public async Task A_released_lease_is_free_at_once_but_only_its_holder_with_its_epoch_can_release_it()
    {
        var leases = await CreateAsync();
        var epoch = (await leases.TryHoldAsync(1, "a", Long, default))!.Value;
        await leases.ReleaseAsync(1, "b", epoch, default);
        await leases.ReleaseAsync(1, "a", epoch - 1, default);
        Assert.Null(await leases.TryHoldAsync(1, "b", Long, default));

        await leases.ReleaseAsync(1, "a", epoch, default);
        var next = await leases.TryHoldAsync(1, "b", Long, default);
        Assert.True(next > epoch);
    }

    [Fact]
    public async Task Heartbeats_count_live_nodes_and_a_node_that_stops_beating_or_leaves_is_no_longer_counted()
    {
        var leases = await CreateAsync();
        var now = DateTimeOffset.UtcNow;
        Assert.Equal(1, await leases.HeartbeatAsync("a", now, TimeSpan.FromSeconds(1), default));
        Assert.Equal(2, await leases.HeartbeatAsync("b", now, Long, default));
        Assert.Equal(3, await leases.HeartbeatAsync("c", now, Long, default));
        Assert.Equal(3, await leases.HeartbeatAsync("c", now, Long, default)); // beating again is not another node

        Assert.Equal(2, await leases.HeartbeatAsync("b", now.AddSeconds(2), Long, default)); // a's beat lapsed
        await leases.LeaveAsync("c", default);
        Assert.Equal(1, await leases.HeartbeatAsync("b", now.AddSeconds(2), Long, default));
    }
}
