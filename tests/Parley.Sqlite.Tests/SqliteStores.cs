namespace Parley.Sqlite.Tests;

/// <summary>Every store concern over one migrated file, as AddParleySqlite wires them (one database, one write gate).</summary>
internal sealed class SqliteStores : IDisposable
{
    private SqliteStores(SqliteDatabase database, TimeProvider? time)
    {
        Database = database;
        Users = new SqliteUserStore(database);
        Sessions = new SqliteSessionStore(database);
        Conversations = new SqliteConversationStore(database);
        Messages = new SqliteMessageStore(database, time);
        Receipts = new SqliteReceiptStore(database, time);
        Events = new SqliteDomainEventStore(database, time);
        Social = new SqliteSocialStore(database);
        Personal = new SqlitePersonalStore(database);
        Reports = new SqliteReportStore(database);
        Scheduled = new SqliteScheduledMessageStore(database);
        PushDevices = new SqlitePushDeviceStore(database);
        Webhooks = new SqliteWebhookStore(database);
        ReadModels = new SqliteReadModelStore(database);
    }

    public SqliteDatabase Database { get; }

    public SqliteUserStore Users { get; }

    public SqliteSessionStore Sessions { get; }

    public SqliteConversationStore Conversations { get; }

    public SqliteMessageStore Messages { get; }

    public SqliteReceiptStore Receipts { get; }

    public SqliteDomainEventStore Events { get; }

    public SqliteSocialStore Social { get; }

    public SqlitePersonalStore Personal { get; }

    public SqliteReportStore Reports { get; }
    public SqliteScheduledMessageStore Scheduled { get; }

    public SqlitePushDeviceStore PushDevices { get; }
    public SqliteWebhookStore Webhooks { get; }
    public SqliteReadModelStore ReadModels { get; }

    public static async Task<SqliteStores> OpenAsync(string path, TimeProvider? time = null)
    {
        var database = new SqliteDatabase(path);
        try
        {
            await database.MigrateAsync(SqliteMigrations.Store, default);
            return new SqliteStores(database, time);
        }
        catch
        {
            database.Dispose();
            throw;
        }
    }

    public void Dispose() => Database.Dispose();
}
