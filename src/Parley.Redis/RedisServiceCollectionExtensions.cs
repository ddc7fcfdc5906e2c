using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Parley.Core.Ports;
using Parley.Hosting;

namespace Parley.Redis;

public static class RedisServiceCollectionExtensions
{
    /// <summary>The Redis Streams log on <c>Parley:Redis</c>. Connecting fails the start if Redis cannot be reached.</summary>
    public static IHostApplicationBuilder AddParleyRedis(this IHostApplicationBuilder builder)
    {
        builder.Services.AddValidatedSettings<RedisOptions>(builder.Configuration, RedisOptions.Section, o => o.Validate());
        builder.Services.AddSingleton(sp => RedisMessageLog.ConnectAsync(
            sp.GetRequiredService<IOptions<RedisOptions>>().Value,
            sp.GetRequiredService<IOptions<LogOptions>>().Value,
            sp.GetService<TimeProvider>()).GetAwaiter().GetResult());
        builder.Services.AddSingleton<IMessageLog>(sp => sp.GetRequiredService<RedisMessageLog>());
        builder.Services.AddSingleton<ITransientErrorClassifier, RedisTransientErrors>();
        builder.Services.AddSingleton<IPresenceStore>(sp => new RedisPresenceStore(
            sp.GetRequiredService<RedisMessageLog>().Connection, sp.GetRequiredService<IOptions<RedisOptions>>().Value.KeyPrefix));
        builder.Services.AddSingleton<IPartitionLeases>(sp => new RedisPartitionLeases(
            sp.GetRequiredService<RedisMessageLog>().Connection, sp.GetRequiredService<IOptions<RedisOptions>>().Value.KeyPrefix));
        builder.Services.AddSingleton<IRealtimeBus>(sp => new RedisRealtimeBus(
            sp.GetRequiredService<RedisMessageLog>().Connection, sp.GetRequiredService<IOptions<RedisOptions>>().Value.KeyPrefix));
        return builder;
    }
}

public sealed class RedisTransientErrors : ITransientErrorClassifier
{
    public bool IsTransient(Exception exception) =>
        exception is StackExchange.Redis.RedisConnectionException or StackExchange.Redis.RedisTimeoutException;
}
