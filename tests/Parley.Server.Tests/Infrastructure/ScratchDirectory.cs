namespace Parley.Server.Tests.Infrastructure;

/// <summary>A test class's own data directory (keys, SQLite files), removed afterwards as far as possible.</summary>
public abstract class ScratchDirectoryTest(string prefix) : IAsyncLifetime
{
    protected string Data { get; } = Directory.CreateTempSubdirectory(prefix).FullName;

    public virtual Task InitializeAsync() => Task.CompletedTask;

    public virtual Task DisposeAsync()
    {
        try
        {
            Directory.Delete(Data, recursive: true);
        }
        catch (IOException)
        {
            // Best effort: a killed server process may still hold a file for a moment.
        }

        return Task.CompletedTask;
    }
}
