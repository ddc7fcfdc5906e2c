using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Parley.Core.Ports;
using Parley.Hosting;

namespace Parley.Sqlite;

public static class SqliteServiceCollectionExtensions
{
    /// <summary>
    /// The embedded engine: the store in {DataDirectory}/parley.db (one <see cref="SqliteDatabase"/>, so one write gate,
    /// shared by every store concern) the durable log in {DataDirectory}/log.db and the push queue in {DataDirectory}/push.db. Nothing is opened here or in a
    /// constructor: <see cref="SqliteStartup"/>, registered first, migrates both files as the host starts.
    /// </summary>
    public static IHostApplicationBuilder AddParleySqlite(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddHostedService<SqliteStartup>();
        services.AddSingleton(sp => new SqliteDatabase(Path.Combine(sp.GetRequiredService<IOptions<ParleyOptions>>().Value.ResolvedDataDirectory, "parley.db")));
        services.AddSingleton(sp => new SqliteUserStore(sp.GetRequiredService<SqliteDatabase>()));
        services.AddSingleton(sp => new SqliteSessionStore(sp.GetRequiredService<SqliteDatabase>()));
        services.AddSingleton(sp => new SqliteConversationStore(sp.GetRequiredService<SqliteDatabase>()));
        services.AddSingleton(sp => new SqliteMessageStore(sp.GetRequiredService<SqliteDatabase>(), sp.GetService<TimeProvider>()));
        services.AddSingleton(sp => new SqliteReceiptStore(sp.GetRequiredService<SqliteDatabase>(), sp.GetService<TimeProvider>()));
        services.AddSingleton(sp => new SqliteDomainEventStore(sp.GetRequiredService<SqliteDatabase>(), sp.GetService<TimeProvider>()));
        services.AddSingleton<IUserStore>(sp => sp.GetRequiredService<SqliteUserStore>());
        services.AddSingleton<ISessionStore>(sp => sp.GetRequiredService<SqliteSessionStore>());
        services.AddSingleton<IConversationStore>(sp => sp.GetRequiredService<SqliteConversationStore>());
        services.AddSingleton<IMessageStore>(sp => sp.GetRequiredService<SqliteMessageStore>());
        services.AddSingleton<IReceiptStore>(sp => sp.GetRequiredService<SqliteReceiptStore>());
        services.AddSingleton<IDomainEventStore>(sp => sp.GetRequiredService<SqliteDomainEventStore>());
        services.AddSingleton<ISocialStore>(sp => new SqliteSocialStore(sp.GetRequiredService<SqliteDatabase>()));
        services.AddSingleton<IPersonalStore>(sp => new SqlitePersonalStore(sp.GetRequiredService<SqliteDatabase>()));
        services.AddSingleton<IReportStore>(sp => new SqliteReportStore(sp.GetRequiredService<SqliteDatabase>()));
        services.AddSingleton<IScheduledMessageStore>(sp => new SqliteScheduledMessageStore(sp.GetRequiredService<SqliteDatabase>()));
        services.AddSingleton(sp => new SqliteWebhookStore(sp.GetRequiredService<SqliteDatabase>()));
        services.AddSingleton<IWebhookStore>(sp => sp.GetRequiredService<SqliteWebhookStore>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IDeadLetterKind, SqliteWebhookStore>(sp => sp.GetRequiredService<SqliteWebhookStore>()));
        services.AddSingleton<IReadModelStore>(sp => new SqliteReadModelStore(sp.GetRequiredService<SqliteDatabase>()));
        services.AddSingleton<IReconciliationStore>(sp => new SqliteReconciliationStore(sp.GetRequiredService<SqliteDatabase>()));
        services.AddSingleton(sp =>
        {
            var dir = sp.GetRequiredService<IOptions<ParleyOptions>>().Value.ResolvedDataDirectory;
            return new SqliteMessageLog(Path.Combine(dir, "log.db"), sp.GetRequiredService<IOptions<LogOptions>>().Value, sp.GetService<TimeProvider>());
        });
        services.AddSingleton<IMessageLog>(sp => sp.GetRequiredService<SqliteMessageLog>());
        services.AddSingleton(sp => new SqlitePushQueue(Path.Combine(sp.GetRequiredService<IOptions<ParleyOptions>>().Value.ResolvedDataDirectory, "push.db")));
        services.AddSingleton<IPushQueue>(sp => sp.GetRequiredService<SqlitePushQueue>());
        services.AddSingleton<IPushDeviceStore>(sp => new SqlitePushDeviceStore(sp.GetRequiredService<SqliteDatabase>()));
        services.AddSingleton<ITransientErrorClassifier, SqliteTransientErrors>();
        return builder;
    }
}

/// <summary>SQLITE_BUSY and SQLITE_LOCKED: another writer holds the file for longer than the busy timeout.</summary>
public sealed class SqliteTransientErrors : ITransientErrorClassifier
{
    public bool IsTransient(Exception exception) =>
        exception is Microsoft.Data.Sqlite.SqliteException { SqliteErrorCode: 5 or 6 };
}
