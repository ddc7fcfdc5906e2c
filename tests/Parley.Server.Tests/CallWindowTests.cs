using Parley.Server.Realtime;

namespace Parley.Server.Tests;

/// <summary>The per-connection fixed window behind the typing rate limit.</summary>
public sealed class CallWindowTests
{
    private static readonly DateTimeOffset Start = new(2026, 11, 29, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Calls_up_to_the_limit_pass_and_the_next_is_refused_until_the_window_ends()
    {
        var window = new CallWindow(TimeSpan.FromSeconds(10));
        for (var i = 0; i < 3; i++)
        {
            Assert.True(window.TryCount(Start.AddSeconds(i), 3, out _));
        }

        Assert.False(window.TryCount(Start.AddSeconds(4), 3, out var retryAfter));
        Assert.Equal(TimeSpan.FromSeconds(6), retryAfter);
        Assert.True(window.TryCount(Start.AddSeconds(10), 3, out _));
    }

    [Fact]
    public void Refused_calls_count_too()
    {
        var window = new CallWindow(TimeSpan.FromSeconds(10));
        Assert.True(window.TryCount(Start, 1, out _));
        Assert.False(window.TryCount(Start.AddSeconds(9), 1, out _));

        // A new window starts with the first call at or after its end, not at a fixed grid.
        Assert.True(window.TryCount(Start.AddSeconds(10), 1, out _));
        Assert.False(window.TryCount(Start.AddSeconds(19), 1, out var retryAfter));
        Assert.Equal(TimeSpan.FromSeconds(1), retryAfter);
    }
}
