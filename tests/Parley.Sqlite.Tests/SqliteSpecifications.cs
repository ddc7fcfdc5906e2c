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
    protected override Task<ILogHarness> CreateAsync(LogOptions options) => Task.FromResult<ILogHarness>(new Harness(options));

    private sealed class Harness : ILogHarness
    {
        private readonly TempDirectory _dir = new();
        private readonly LogOptions _options;
        private SqliteMessageLog _log;

        public Harness(LogOptions options)
        {
            _options = options;
            _log = Open();
        }

        public IMessageLog Log => _log;

        private SqliteMessageLog Open() => new(System.IO.Path.Combine(_dir.Path, "log.db"), _options);

        public async Task RestartAsync()
        {
            await _log.DisposeAsync();
            _log = Open();
        }

        public async ValueTask DisposeAsync()
        {
            await _log.DisposeAsync();
            _dir.Dispose();
        }
    }
}

public sealed class SqliteStoreSpecification : MessageStoreSpecification
{
    protected override Task<IStoreHarness> CreateAsync() => Task.FromResult<IStoreHarness>(new Harness());

    private sealed class Harness : IStoreHarness
    {
        private readonly TempDirectory _dir = new();
        private SqliteStore _store;

        public Harness() => _store = Open();

        public IUserStore Users => _store;

        public IConversationStore Conversations => _store;

        public IMessageStore Messages => _store;

        private SqliteStore Open() => new(System.IO.Path.Combine(_dir.Path, "parley.db"));

        public Task RestartAsync()
        {
            _store.Dispose();
            _store = Open();
            return Task.CompletedTask;
        }

        public ValueTask DisposeAsync()
        {
            _store.Dispose();
            _dir.Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
