using Microsoft.Extensions.DependencyInjection.Extensions;
using Parley.Core.Ports;
using Parley.Hosting;
using Parley.Postgres;
using Parley.Redis;
using Parley.Sqlite;

namespace Parley.Server.Embedded;

public static class EngineServiceCollectionExtensions
{
    /// <summary>
    /// The engine named by <c>Parley:Engine</c>: SQLite store and log (Embedded), or PostgreSQL store and Redis Streams
    /// log (Production). Ports an engine does not provide get the in-process implementations.
    /// </summary>
    public static WebApplicationBuilder AddParleyEngine(this WebApplicationBuilder builder)
    {
        var engine = builder.Configuration[$"{ParleyOptions.Section}:{nameof(ParleyOptions.Engine)}"] ?? Engines.Embedded;
        if (string.Equals(engine, Engines.Embedded, StringComparison.OrdinalIgnoreCase))
        {
            builder.AddParleySqlite();
        }
        else if (string.Equals(engine, Engines.Production, StringComparison.OrdinalIgnoreCase))
        {
            // The log first: its starter connects before the store's migrates, so an unreachable Redis (what the
            // ingress needs) is the error reported when both are down.
            builder.AddParleyRedis();
            builder.AddParleyPostgres();
        }

        // The production engine spans nodes and brings its own; the embedded engine is one node, so in-process ones do.
        builder.Services.TryAddSingleton<IPartitionLeases, InProcessPartitionLeases>();
        builder.Services.TryAddSingleton<IPresenceStore, InMemoryPresenceStore>();
        builder.Services.TryAddSingleton<IRealtimeBus, SingleNodeBus>();
        builder.Services.TryAddSingleton<IClusterInvalidation, SingleNodeInvalidation>();
        return builder;
    }
}
