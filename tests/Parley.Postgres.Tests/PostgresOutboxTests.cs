using Npgsql;
using Parley.Core.Events;
using Parley.Core.Ports;
using Parley.Testing;

namespace Parley.Postgres.Tests;

/// <summary>
/// PostgreSQL numbers an event when it is inserted, not when it commits, so a later number can commit first. The outbox
/// reader must hold back what could still be overtaken, or a consumer that moves its cursor on skips an event forever.
/// </summary>
public sealed class PostgresOutboxTests : IAsyncLifetime
{
    private readonly string _schema = "t_" + Guid.NewGuid().ToString("N");
    private NpgsqlDataSource _dataSource = null!;

    public async Task InitializeAsync() =>
        _dataSource = await PostgresDataSources.CreateDataSourceAsync(await ExternalServers.PostgresAsync(), _schema, migrate: true, default);

    public async Task DisposeAsync()
    {
        await using (var drop = _dataSource.CreateCommand($"DROP SCHEMA {_schema} CASCADE"))
        {
            await drop.ExecuteNonQueryAsync();
        }

        await _dataSource.DisposeAsync();
    }

    [Fact]
    public async Task An_event_of_a_transaction_still_open_is_withheld_and_a_later_commit_does_not_jump_it()
    {
        var events = new PostgresDomainEventStore(_dataSource);
        var users = new PostgresUserStore(_dataSource);

        // A writer inserts its event (the lower position) and has not committed yet.
        var early = Guid.CreateVersion7();
        await using var open = await _dataSource.OpenConnectionAsync();
        await using var transaction = await open.BeginTransactionAsync();
        await using (var insert = new NpgsqlCommand("""
            INSERT INTO domain_events (id, aggregate_type, aggregate_id, type, version, correlation_id, occurred_at, data)
            VALUES ($1, 'user', 'early', 'user.registered', 1, $1, now(), '{}')
            """, open, transaction))
        {
            insert.Parameters.Add(new() { Value = early });
            await insert.ExecuteNonQueryAsync();
        }

        // Another change commits meanwhile, with the higher position.
        var user = new UserRecord(Guid.CreateVersion7(), "late" + Guid.NewGuid().ToString("N")[..12], "Late", "hash", DateTimeOffset.UtcNow);
        Assert.True(await users.CreateUserAsync(user, EventContext.New(), default));

        // Handing out the committed one now would let a consumer's cursor pass the open one's position.
        Assert.Empty(await events.ReadAsync(EventCursor.Start, 100, default));

        await transaction.CommitAsync();

        // Other tests' transactions on the shared server may hold the horizon back for a moment: wait, with a deadline.
        var deadline = DateTime.UtcNow.AddSeconds(30);
        IReadOnlyList<DomainEvent> read;
        while ((read = await events.ReadAsync(EventCursor.Start, 100, default)).Count < 2 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }

        Assert.Equal(["early", user.Id.ToString()], read.Select(e => e.AggregateId));
        Assert.Equal(early, read[0].Id);
        Assert.True(read[0].Cursor < read[1].Cursor);
        Assert.Empty(await events.ReadAsync(read[^1].Cursor, 100, default));
    }
}
