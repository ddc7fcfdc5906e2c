using Microsoft.Extensions.Hosting;

namespace Parley.Redis;

/// <summary>
/// Connects the node's Redis connection and prepares the log (partition count check, consumer groups) as the host
/// starts: in <see cref="StartingAsync"/>, so before any hosted service's StartAsync uses Redis. A failure stops the
/// start with a message naming the setting to fix.
/// </summary>
public sealed class RedisStarter(RedisConnection connection, RedisMessageLog log) : IHostedLifecycleService
{
    public async Task StartingAsync(CancellationToken cancellationToken)
    {
        await connection.ConnectAsync(cancellationToken);
        await log.InitializeAsync();
    }

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
