using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Parley.Core.Ports;
using Parley.Hosting;

namespace Parley.Sqlite;

public static class SqliteServiceCollectionExtensions
{
    /// <summary>
    /// The embedded engine: the store in {DataDirectory}/parley.db and the durable log in {DataDirectory}/log.db.
    /// </summary>
    public static IHostApplicationBuilder AddParleySqlite(this IHostApplicationBuilder builder)
    {
        builder.Services.AddSingleton(sp =>
        {
            var dir = sp.GetRequiredService<IOptions<ParleyOptions>>().Value.ResolvedDataDirectory;
            return new SqliteStore(Path.Combine(dir, "parley.db"), sp.GetService<TimeProvider>());
        });
        builder.Services.AddSingleton<IUserStore>(sp => sp.GetRequiredService<SqliteStore>());
        builder.Services.AddSingleton<IConversationStore>(sp => sp.GetRequiredService<SqliteStore>());
        builder.Services.AddSingleton<IMessageStore>(sp => sp.GetRequiredService<SqliteStore>());
        builder.Services.AddSingleton(sp =>
        {
            var dir = sp.GetRequiredService<IOptions<ParleyOptions>>().Value.ResolvedDataDirectory;
            return new SqliteMessageLog(Path.Combine(dir, "log.db"), sp.GetRequiredService<IOptions<LogOptions>>().Value, sp.GetService<TimeProvider>());
        });
        builder.Services.AddSingleton<IMessageLog>(sp => sp.GetRequiredService<SqliteMessageLog>());
        builder.Services.AddSingleton<ITransientErrorClassifier, SqliteTransientErrors>();
        return builder;
    }
}

/// <summary>SQLITE_BUSY and SQLITE_LOCKED: another writer holds the file for longer than the busy timeout.</summary>
public sealed class SqliteTransientErrors : ITransientErrorClassifier
{
    public bool IsTransient(Exception exception) =>
        exception is Microsoft.Data.Sqlite.SqliteException { SqliteErrorCode: 5 or 6 };
}
