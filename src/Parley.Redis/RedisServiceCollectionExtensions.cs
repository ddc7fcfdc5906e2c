using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Parley.Core.Ports;
using StackExchange.Redis;
using Parley.Hosting;

namespace Parley.Redis;

public static class RedisServiceCollectionExtensions
{
    /// <summary>
    /// The Redis Streams log, presence, partition leases and realtime bus on <c>Parley:Redis</c>, all on one shared
    /// <see cref="IConnectionMultiplexer"/>. Nothing here connects: <see cref="RedisStarter"/> does, as the host starts,
    /// and fails the start if Redis cannot be reached.
    /// </summary>
    public static IHostApplicationBuilder AddParleyRedis(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddValidatedSettings<RedisOptions>(builder.Configuration, RedisOptions.Section, o => o.Validate());
        services.AddSingleton(sp => new RedisConnection(sp.GetRequiredService<IOptions<RedisOptions>>().Value));
        // For anyone who needs the multiplexer itself once the host has started (resolving it earlier throws).
        services.AddSingleton(sp => sp.GetRequiredService<RedisConnection>().Multiplexer);
        // First among the hosted services, so the connection is there before anything else starts.
        services.AddHostedService<RedisStarter>();
        services.AddSingleton(sp => new RedisMessageLog(
            sp.GetRequiredService<RedisConnection>(),
            sp.GetRequiredService<IOptions<RedisOptions>>().Value,
            sp.GetRequiredService<IOptions<LogOptions>>().Value,
            sp.GetService<TimeProvider>()));
        services.AddSingleton<IMessageLog>(sp => sp.GetRequiredService<RedisMessageLog>());
        services.AddSingleton<ITransientErrorClassifier, RedisTransientErrors>();
        services.AddSingleton<IPresenceStore>(sp => new RedisPresenceStore(sp.GetRequiredService<RedisConnection>(), KeyPrefix(sp)));
        services.AddSingleton<IPartitionLeases>(sp => new RedisPartitionLeases(sp.GetRequiredService<RedisConnection>(), KeyPrefix(sp)));
        services.AddSingleton<IRealtimeBus>(sp => new RedisRealtimeBus(sp.GetRequiredService<RedisConnection>(), KeyPrefix(sp)));
        services.AddSingleton<IPushQueue>(sp => new RedisPushQueue(sp.GetRequiredService<RedisConnection>(), KeyPrefix(sp)));
        services.AddSingleton<IClusterInvalidation>(sp => new RedisClusterInvalidation(sp.GetRequiredService<RedisConnection>(), KeyPrefix(sp)));
        return builder;
    }

    private static string KeyPrefix(IServiceProvider sp) => sp.GetRequiredService<IOptions<RedisOptions>>().Value.KeyPrefix;
}

public sealed class RedisTransientErrors : ITransientErrorClassifier
{
    public bool IsTransient(Exception exception) =>
        exception is StackExchange.Redis.RedisConnectionException or StackExchange.Redis.RedisTimeoutException;
}
