using Parley.Core.Ports;
using Parley.Hosting;
using Parley.Specification;

namespace Parley.Sqlite.Tests;

/// <summary>A fresh directory per test, removed afterwards.</summary>
internal sealed class TempDirectory : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory("parley-test-").FullName;

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
            // A pooled SQLite handle may linger a moment; the OS temp cleaner takes it from here.
        }
    }
}

public sealed class SqliteMessageLogSpecification : MessageLogSpecification
{
    protected override async Task<ILogHarness> CreateAsync(LogOptions options)
    {
        var dir = new TempDirectory();
        return new Harness(dir, options, await OpenAsync(dir, options));
    }

    private static Task<SqliteMessageLog> OpenAsync(TempDirectory dir, LogOptions options) =>
        SqliteMessageLog.OpenAsync(System.IO.Path.Combine(dir.Path, "log.db"), options);

    private sealed class Harness(TempDirectory dir, LogOptions options, SqliteMessageLog log) : ILogHarness
    {
        public IMessageLog Log => log;

        public async Task RestartAsync()
        {
            await log.DisposeAsync();
            log = await OpenAsync(dir, options);
        }

        public async ValueTask DisposeAsync()
        {
            await log.DisposeAsync();
            dir.Dispose();
        }
    }
}

public sealed class SqliteStoreSpecification : MessageStoreSpecification
{
    protected override Task<IStoreHarness> CreateAsync() => SqliteStoreHarness.OpenAsync();
}

public sealed class SqliteReportStoreSpecification : ReportStoreSpecification
{
    protected override Task<IStoreHarness> CreateAsync() => SqliteStoreHarness.OpenAsync();
}

public sealed class SqliteWebhookStoreSpecification : WebhookStoreSpecification
{
    protected override Task<IStoreHarness> CreateAsync() => SqliteStoreHarness.OpenAsync();
}

public sealed class SqliteReadModelStoreSpecification : ReadModelStoreSpecification
{
    protected override Task<IStoreHarness> CreateAsync() => SqliteStoreHarness.OpenAsync();
}

public sealed class SqliteScheduledMessageStoreSpecification : ScheduledMessageStoreSpecification
{
    protected override Task<IStoreHarness> CreateAsync() => SqliteStoreHarness.OpenAsync();
}

public sealed class SqlitePushDeviceStoreSpecification : PushDeviceStoreSpecification
{
    protected override Task<IStoreHarness> CreateAsync() => SqliteStoreHarness.OpenAsync();
}

/// <summary>The push queue in its own file (push.db), as the embedded engine keeps it.</summary>
public sealed class SqlitePushQueueSpecification : PushQueueSpecification
{
    protected override async Task<IPushQueueHarness> CreateAsync()
    {
        var dir = new TempDirectory();
        var harness = new Harness(dir);
        await harness.OpenAsync();
        return harness;
    }

    private sealed class Harness(TempDirectory dir) : IPushQueueHarness
    {
        private SqlitePushQueue? _queue;

        public IPushQueue Queue => _queue!;

        public async Task OpenAsync()
        {
            _queue = new SqlitePushQueue(System.IO.Path.Combine(dir.Path, "push.db"));
            await _queue.MigrateAsync(default);
        }

        public async Task RestartAsync()
        {
            _queue!.Dispose();
            await OpenAsync();
        }

        public ValueTask DisposeAsync()
        {
            _queue?.Dispose();
            dir.Dispose();
            return ValueTask.CompletedTask;
        }
    }
}

/// <summary>Every store over a fresh file in a directory of its own, removed afterwards.</summary>
internal sealed class SqliteStoreHarness(TempDirectory dir, SqliteStores stores) : IStoreHarness
{
    public static async Task<IStoreHarness> OpenAsync()
    {
        var dir = new TempDirectory();
        return new SqliteStoreHarness(dir, await SqliteStores.OpenAsync(System.IO.Path.Combine(dir.Path, "parley.db")));
    }

    public IUserStore Users => stores.Users;

    public ISessionStore Sessions => stores.Sessions;

    public IConversationStore Conversations => stores.Conversations;

    public IMessageStore Messages => stores.Messages;

    public IReceiptStore Receipts => stores.Receipts;

    public IDomainEventStore Events => stores.Events;

    public ISocialStore Social => stores.Social;

    public IPersonalStore Personal => stores.Personal;

    public IReportStore Reports => stores.Reports;

    public IScheduledMessageStore Scheduled => stores.Scheduled;

    public IPushDeviceStore PushDevices => stores.PushDevices;
    public IWebhookStore Webhooks => stores.Webhooks;
    public IReadModelStore ReadModels => stores.ReadModels;

    public async Task RestartAsync()
    {
        var path = stores.Database.Path;
        stores.Dispose();
        stores = await SqliteStores.OpenAsync(path);
    }

    public ValueTask DisposeAsync()
    {
        stores.Dispose();
        dir.Dispose();
        return ValueTask.CompletedTask;
    }
}
