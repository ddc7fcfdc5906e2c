namespace Parley.Server.Tests.Infrastructure;

/// <summary>Condition waits with a deadline that fail the test when the deadline passes, naming what never happened.</summary>
public static class Eventually
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(30);

    /// <summary>Polls <paramref name="condition"/> until it holds; fails with <paramref name="what"/> at the deadline.</summary>
    public static async Task TrueAsync(Func<bool> condition, string what, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? DefaultTimeout);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"Timed out after {(timeout ?? DefaultTimeout).TotalSeconds:0.#} s waiting for: {what}");
            await Task.Delay(20); // the polling interval of a deadline-bounded wait, not a sleep standing in for the condition
        }
    }

    /// <summary>Polls an asynchronous condition until it holds; fails with <paramref name="what"/> at the deadline.</summary>
    public static async Task TrueAsync(Func<Task<bool>> condition, string what, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? DefaultTimeout);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"Timed out after {(timeout ?? DefaultTimeout).TotalSeconds:0.#} s waiting for: {what}");
            await Task.Delay(50); // polling interval, see above
        }
    }
}
