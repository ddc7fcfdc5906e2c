using System.Collections.Concurrent;

namespace Parley.Hosting;

/// <summary>
/// A fixed number of sends in flight, each on its own: a dispatcher (push, webhooks) claims only as much work as it has
/// free slots for and starts each send without waiting for the others, so one receiver that holds a call holds one slot,
/// not the whole batch it was claimed with.
/// </summary>
public sealed class SendingSlots(int capacity) : IDisposable
{
    private readonly ConcurrentDictionary<Guid, Task> _running = new();
    private readonly SemaphoreSlim _freed = new(0);

    public int Free => Math.Max(0, capacity - _running.Count);

    /// <summary>Starts <paramref name="send"/> in a slot; the slot is free again when it ends, however it ends.</summary>
    public void Start(Func<Task> send)
    {
        var key = Guid.NewGuid();
        _running[key] = Task.Run(async () =>
        {
            try
            {
                await send();
            }
            finally
            {
                _running.TryRemove(key, out _);
                _freed.Release();
            }
        }, CancellationToken.None);
    }

    /// <summary>Waits until a slot frees up or <paramref name="timeout"/> passes.</summary>
    public Task WaitAsync(TimeSpan timeout, CancellationToken cancellationToken) => _freed.WaitAsync(timeout, cancellationToken);

    /// <summary>Waits for the sends in flight (graceful shutdown); each is bounded by its own timeout.</summary>
    public Task DrainAsync(CancellationToken cancellationToken) =>
        Task.WhenAll(_running.Values).WaitAsync(cancellationToken).ContinueWith(_ => { }, CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default);

    public void Dispose() => _freed.Dispose();
}
