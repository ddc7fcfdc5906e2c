using Parley.Core.Ports;

namespace Parley.Specification;

/// <summary>What every <see cref="IPresenceStore"/> must do (M12): written once, run in-process and on Redis.</summary>
public abstract class PresenceStoreSpecification
{
    /// <summary>A fresh, empty store (Redis: its own key prefix).</summary>
    protected abstract Task<IPresenceStore> CreateAsync();

    private static readonly DateTimeOffset Now = DateTimeOffset.UtcNow;

    [Fact]
    public async Task The_first_device_brings_a_user_online_and_only_the_last_one_leaving_takes_them_offline()
    {
        var store = await CreateAsync();
        var user = Guid.NewGuid();

        Assert.True(await store.ConnectedAsync(user, "phone", Now.AddSeconds(30), default));
        Assert.False(await store.ConnectedAsync(user, "laptop", Now.AddSeconds(30), default));
        Assert.Equal(2, (await store.GetAsync([user], default))[0].Connections);

        Assert.False(await store.DisconnectedAsync(user, "phone", Now, default));
        Assert.True(await store.DisconnectedAsync(user, "laptop", Now, default));
        Assert.False(await store.DisconnectedAsync(user, "laptop", Now, default)); // already gone: no second "offline"

        var presence = (await store.GetAsync([user], default))[0];
        Assert.False(presence.Online);
        Assert.Equal(0, presence.Connections);
        Assert.NotNull(presence.LastSeenAt);
    }

    [Fact]
    public async Task Connections_whose_node_stops_refreshing_lapse_and_the_user_goes_offline_exactly_once()
    {
        var store = await CreateAsync();
        var (alive, dead) = (Guid.NewGuid(), Guid.NewGuid());
        await store.ConnectedAsync(alive, "a1", Now.AddSeconds(2), default);
        await store.ConnectedAsync(dead, "d1", Now.AddSeconds(2), default);

        await store.RefreshAsync([(alive, "a1")], Now.AddSeconds(60), default); // only the live node heartbeats
        var offline = await store.ExpireAsync(Now.AddSeconds(5), default);
        var again = await store.ExpireAsync(Now.AddSeconds(6), default);

        Assert.Equal([dead], offline);
        Assert.Empty(again);
        var presence = await store.GetAsync([alive, dead], default);
        Assert.True(presence[0].Online);
        Assert.False(presence[1].Online);
    }

    [Fact]
    public async Task A_user_never_seen_is_offline_with_no_last_seen()
    {
        var store = await CreateAsync();
        var presence = Assert.Single(await store.GetAsync([Guid.NewGuid()], default));
        Assert.Equal((false, 0, (DateTimeOffset?)null), (presence.Online, presence.Connections, presence.LastSeenAt));
    }
}
