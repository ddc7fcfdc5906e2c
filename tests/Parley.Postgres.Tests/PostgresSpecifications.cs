using Npgsql;
using Parley.Core.Events;
using Parley.Core.Membership;
using Parley.Core.Ports;
using Parley.Core.Validation;
using Parley.Specification;
using Parley.Testing;

namespace Parley.Postgres.Tests;

/// <summary>
/// The store specification against real PostgreSQL, each test in a schema of its own. The server is this class's
/// own (durable), so "restart" can mean what it says: PostgreSQL stopped at once (<c>-m immediate</c>, no checkpoint,
/// connections cut) and started again over the same data, and the store opened anew. Tests of one class run one
/// after the other, so the restart never cuts another test's connections.
/// </summary>
public sealed class PostgresStoreSpecification(DedicatedPostgres server) : MessageStoreSpecification, IClassFixture<DedicatedPostgres>
{
    protected override Task<IStoreHarness> CreateAsync() => OpenHarnessAsync(server);

    /// <summary>Every store in a schema of its own on <paramref name="server"/>, which the harness may restart.</summary>
    internal static async Task<IStoreHarness> OpenHarnessAsync(DedicatedPostgres server)
    {
        var instance = await server.InstanceAsync();
        var harness = new Harness(instance, instance.ConnectionString, "t_" + Guid.NewGuid().ToString("N"));
        await harness.OpenAsync();
        return harness;
    }

    /// <summary>Every store in a schema of its own on the shared throwaway server, which the harness never restarts.</summary>
    internal static async Task<IStoreHarness> OpenSharedHarnessAsync()
    {
        var harness = new Harness(null, await ExternalServers.PostgresAsync(), "t_" + Guid.NewGuid().ToString("N"));
        await harness.OpenAsync();
        return harness;
    }

    internal sealed class Harness(PostgresInstance? server, string connectionString, string schema) : IStoreHarness
    {
        private NpgsqlDataSource? _dataSource;

        public IUserStore Users { get; private set; } = null!;

        public ISessionStore Sessions { get; private set; } = null!;

        public IConversationStore Conversations { get; private set; } = null!;

        public IMessageStore Messages { get; private set; } = null!;

        public IReceiptStore Receipts { get; private set; } = null!;

        public IDomainEventStore Events { get; private set; } = null!;

        public ISocialStore Social { get; private set; } = null!;

        public IPersonalStore Personal { get; private set; } = null!;

        public IReportStore Reports { get; private set; } = null!;

        public IScheduledMessageStore Scheduled { get; private set; } = null!;

        public IPushDeviceStore PushDevices { get; private set; } = null!;
        public IWebhookStore Webhooks { get; private set; } = null!;
        public IReadModelStore ReadModels { get; private set; } = null!;

        public async Task OpenAsync()
        {
            _dataSource = await PostgresDataSources.CreateDataSourceAsync(connectionString, schema, migrate: true, default);
            Users = new PostgresUserStore(_dataSource);
            Sessions = new PostgresSessionStore(_dataSource);
            Conversations = new PostgresConversationStore(_dataSource);
            Messages = new PostgresMessageStore(_dataSource);
            Receipts = new PostgresReceiptStore(_dataSource);
            Events = new PostgresDomainEventStore(_dataSource);
            Social = new PostgresSocialStore(_dataSource);
            Personal = new PostgresPersonalStore(_dataSource);
            Reports = new PostgresReportStore(_dataSource);
            Scheduled = new PostgresScheduledMessageStore(_dataSource);
            PushDevices = new PostgresPushDeviceStore(_dataSource);
            Webhooks = new PostgresWebhookStore(_dataSource);
            ReadModels = new PostgresReadModelStore(_dataSource);
        }

        public async Task RestartAsync()
        {
            if (server is null)
            {
                throw new InvalidOperationException("A harness on the shared server cannot restart it.");
            }

            await _dataSource!.DisposeAsync();
            await server.StopAsync();
            await server.StartAsync();
            await OpenAsync();
        }

        public async ValueTask DisposeAsync()
        {
            await using (var command = _dataSource!.CreateCommand($"DROP SCHEMA {schema} CASCADE"))
            {
                await command.ExecuteNonQueryAsync();
            }

            await _dataSource.DisposeAsync();
        }
    }
}

/// <summary>The report specification on the shared throwaway PostgreSQL (it never restarts it), each test in a schema of its own.</summary>
public sealed class PostgresReportStoreSpecification : ReportStoreSpecification
{
    protected override Task<IStoreHarness> CreateAsync() => PostgresStoreSpecification.OpenSharedHarnessAsync();
}

/// <summary>The webhook specification on the shared throwaway PostgreSQL (it never restarts it), each test in a schema of its own.</summary>
public sealed class PostgresWebhookStoreSpecification : WebhookStoreSpecification
{
    protected override Task<IStoreHarness> CreateAsync() => PostgresStoreSpecification.OpenSharedHarnessAsync();
}

/// <summary>The read-model specification on the shared throwaway PostgreSQL, each test in a schema of its own.</summary>
public sealed class PostgresReadModelStoreSpecification : ReadModelStoreSpecification
{
    protected override async Task<IStoreHarness> CreateAsync()
    {
        var harness = new PostgresStoreSpecification.Harness(null, await ExternalServers.PostgresAsync(), "t_" + Guid.NewGuid().ToString("N"));
        await harness.OpenAsync();
        return harness;
    }
}

/// <summary>The scheduled-message specification on a server of its own: it restarts it to prove a schedule survives.</summary>
public sealed class PostgresScheduledMessageStoreSpecification(DedicatedPostgres server) : ScheduledMessageStoreSpecification, IClassFixture<DedicatedPostgres>
{
    protected override Task<IStoreHarness> CreateAsync() => PostgresStoreSpecification.OpenHarnessAsync(server);
}

public sealed class PostgresMigrationTests
{
    [Fact]
    public async Task Migrations_apply_once_and_are_recorded()
    {
        var schema = "t_" + Guid.NewGuid().ToString("N");
        await using var dataSource = NpgsqlDataSource.Create(await ExternalServers.PostgresAsync());
        Assert.Equal(PostgresMigrations.All.Count, await PostgresMigrations.ApplyAsync(dataSource, schema, default));
        Assert.Equal(0, await PostgresMigrations.ApplyAsync(dataSource, schema, default));

        await using var command = dataSource.CreateCommand($"SELECT COUNT(*) FROM {schema}.schema_migrations");
        Assert.Equal((long)PostgresMigrations.All.Count, await command.ExecuteScalarAsync());
        await using var drop = dataSource.CreateCommand($"DROP SCHEMA {schema} CASCADE");
        await drop.ExecuteNonQueryAsync();
    }

    [Fact]
    public async Task Nodes_starting_together_migrate_once()
    {
        var schema = "t_" + Guid.NewGuid().ToString("N");
        await using var dataSource = NpgsqlDataSource.Create(await ExternalServers.PostgresAsync());
        var applied = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => PostgresMigrations.ApplyAsync(dataSource, schema, default)));
        Assert.Equal(PostgresMigrations.All.Count, applied.Sum());
        await using var drop = dataSource.CreateCommand($"DROP SCHEMA {schema} CASCADE");
        await drop.ExecuteNonQueryAsync();
    }
}

/// <summary>A schema made by the release before 005 (migrations 1–4), with users in it, upgraded to the social graph.</summary>
public sealed class PostgresSocialMigrationTests
{
    [Fact]
    public async Task Users_created_before_migration_005_are_found_by_an_accented_or_unaccented_prefix()
    {
        await using var release = await PreviousReleaseSchema.CreateAsync(lastVersion: 4);
        var schema = release.Schema;

        var (alice, jose, caller) = (Guid.CreateVersion7(), Guid.CreateVersion7(), Guid.CreateVersion7());
        await release.ExecuteAsync($"""
            INSERT INTO {schema}.users (id, username, display_name, password_hash, created_at) VALUES
                ('{alice}', 'alice', 'Alice', 'hash', now()), ('{jose}', 'jalvarez', 'José Álvarez', 'hash', now()), ('{caller}', 'caller', 'Caller', 'hash', now());
            """);

        await using var migrated = await release.MigrateAsync();
        var users = new PostgresUserStore(migrated);
        Task<UsernamePage<UserProfile>> SearchAsync(string query) => users.SearchUsersAsync(caller, SearchRules.Parse(query), null, 10, default);
        Assert.Equal(alice, Assert.Single((await SearchAsync("ALI")).Items).Id);
        Assert.Empty((await SearchAsync("jose")).Items);
        Assert.Equal(1, await users.BackfillSearchKeysAsync(100, default));
        Assert.Equal(0, await users.BackfillSearchKeysAsync(100, default));
        Assert.Equal(jose, Assert.Single((await SearchAsync("jose")).Items).Id);
        Assert.Equal(jose, Assert.Single((await SearchAsync("JOSÉ Á")).Items).Id);
    }
}

/// <summary>A schema made by the release before 005 (migrations 1–4), with conversations and messages, upgraded to 006–009.</summary>
public sealed class PostgresConversationMigrationTests
{
    [Fact]
    public async Task Conversations_and_messages_from_before_the_upgrade_stay_readable_and_are_managed_like_new_ones()
    {
        await using var release = await PreviousReleaseSchema.CreateAsync(lastVersion: 4);
        var schema = release.Schema;

        var (a, b, c, group) = (Guid.CreateVersion7(), Guid.CreateVersion7(), Guid.CreateVersion7(), Guid.CreateVersion7());
        await release.ExecuteAsync($"""
            SET search_path TO {schema};
            INSERT INTO users (id, username, display_name, password_hash, created_at) VALUES
                ('{a}', 'ann', 'Ann', 'hash', now()), ('{b}', 'bob', 'Bob', 'hash', now()), ('{c}', 'cy', 'Cy', 'hash', now());
            INSERT INTO conversations (id, type, title, status, created_by, created_at, last_activity_at, last_sequence)
                VALUES ('{group}', 'group', 'Old team', 'active', '{a}', now(), now(), 1);
            INSERT INTO participants (conversation_id, user_id, role, joined_at, unread_count) VALUES ('{group}', '{a}', 'owner', now(), 0), ('{group}', '{b}', 'member', now(), 1);
            INSERT INTO messages (id, conversation_id, sequence, sender_id, type, content, idempotency_key, content_hash, size, correlation_id, accepted_at, stored_at)
                VALUES ('{Guid.CreateVersion7()}', '{group}', 1, '{a}', 'text', 'before', 'k-{group}', '{new string('0', 64)}', 6, '{Guid.NewGuid()}', now(), now());
            """);

        await using var migrated = await release.MigrateAsync();
        var conversations = new PostgresConversationStore(migrated);
        var messages = new PostgresMessageStore(migrated);
        var old = (await conversations.GetConversationAsync(group, default))!;
        Assert.Equal(("Old team", ConversationVisibility.Private, (ConversationContext?)null), (old.Title, old.Visibility, old.Context));
        var bob = (await conversations.GetParticipantAsync(group, b, default))!;
        Assert.Equal((MemberSettings.None, (string?)null, 1L), (bob.Settings, bob.Side, bob.UnreadCount));
        var history = await messages.GetMessagesAsync(group, new HistoryQuery(null, null, 10), default);
        Assert.Equal(("before", (string?)null), (Assert.Single(history.Items).Content, history.Items[0].SenderSide));

        Assert.Single((await conversations.ChangeMembershipAsync(group, new AddMembersCommand(a, [c], ParticipantRoles.Admin, 100), DateTimeOffset.UtcNow, EventContext.New(a), default)).Require().Added);
        Assert.Equal([(c, ParticipantRoles.Owner)], (await conversations.ChangeMembershipAsync(group, new LeaveCommand(a), DateTimeOffset.UtcNow, EventContext.New(a), default)).Require().RoleChanges);
        var stored = await messages.PersistBatchAsync([Envelopes.New(group, b, "after")], [], default);
        Assert.Equal(2, Assert.Single(stored).Message!.Sequence);
    }
}

/// <summary>A schema of its own as a release that had migrations up to a version left it; dropped afterwards.</summary>
internal sealed class PreviousReleaseSchema : IAsyncDisposable
{
    private readonly NpgsqlDataSource _dataSource;

    private PreviousReleaseSchema(NpgsqlDataSource dataSource, string schema) => (_dataSource, Schema) = (dataSource, schema);

    public string Schema { get; }

    public static async Task<PreviousReleaseSchema> CreateAsync(int lastVersion)
    {
        var old = new PreviousReleaseSchema(NpgsqlDataSource.Create(await ExternalServers.PostgresAsync()), "t_" + Guid.NewGuid().ToString("N"));
        await old.ExecuteAsync($"CREATE SCHEMA {old.Schema}; CREATE TABLE {old.Schema}.schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now());");
        foreach (var (version, name, sql) in PostgresMigrations.All.Where(m => m.Version <= lastVersion))
        {
            await old.ExecuteAsync($"SET search_path TO {old.Schema};\n{sql}\nINSERT INTO {old.Schema}.schema_migrations (version, name) VALUES ({version}, '{name}');");
        }

        return old;
    }

    public async Task ExecuteAsync(string sql)
    {
        await using var command = _dataSource.CreateCommand(sql);
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>The schema opened as the current release opens it: migrated to the latest version.</summary>
    public async Task<NpgsqlDataSource> MigrateAsync() =>
        await PostgresDataSources.CreateDataSourceAsync(await ExternalServers.PostgresAsync(), Schema, migrate: true, default);

    public async ValueTask DisposeAsync()
    {
        await ExecuteAsync($"DROP SCHEMA {Schema} CASCADE");
        await _dataSource.DisposeAsync();
    }
}

/// <summary>One durable PostgreSQL for a test class that restarts it.</summary>
public sealed class DedicatedPostgres : IAsyncLifetime
{
    private readonly Lazy<Task<PostgresInstance>> _instance = new(ExternalServers.StartDedicatedPostgresAsync);

    public Task<PostgresInstance> InstanceAsync() => _instance.Value;

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        if (_instance.IsValueCreated)
        {
            await (await _instance.Value).DisposeAsync();
        }
    }
}

/// <summary>The push device specification on the shared throwaway PostgreSQL, each test in a schema of its own.</summary>
public sealed class PostgresPushDeviceStoreSpecification : PushDeviceStoreSpecification
{
    protected override async Task<IStoreHarness> CreateAsync()
    {
        var harness = new PostgresStoreSpecification.Harness(null, await ExternalServers.PostgresAsync(), "t_" + Guid.NewGuid().ToString("N"));
        await harness.OpenAsync();
        return harness;
    }
}
