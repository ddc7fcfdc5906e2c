using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Options;
using Parley.Hosting;
using Parley.Core.Events;
using Parley.Core.Messaging;
using Parley.Core.Membership;
using Parley.Core.Ports;
using Parley.Core.Validation;
using Parley.Specification;

namespace Parley.Sqlite.Tests;

/// <summary>The schema as versioned .sql files: databases made by the earlier inline scripts upgrade in place.</summary>
public sealed class SqliteMigrationTests
{
    /// <summary>The store schema exactly as the inline C# scripts created it (versions 1 and 2) before the .sql files.</summary>
    private const string InlineStoreVersion1 = """
        CREATE TABLE users (
            id TEXT PRIMARY KEY,
            username TEXT NOT NULL UNIQUE,
            display_name TEXT NOT NULL,
            password_hash TEXT NOT NULL,
            created_at INTEGER NOT NULL
        );
        CREATE TABLE refresh_tokens (
            token_hash TEXT PRIMARY KEY,
            user_id TEXT NOT NULL REFERENCES users(id),
            created_at INTEGER NOT NULL,
            expires_at INTEGER NOT NULL,
            used_at INTEGER,
            revoked_at INTEGER
        );
        CREATE INDEX ix_refresh_tokens_user ON refresh_tokens(user_id);
        CREATE TABLE conversations (
            id TEXT PRIMARY KEY,
            type TEXT NOT NULL,
            title TEXT,
            status TEXT NOT NULL,
            direct_key TEXT UNIQUE,
            created_by TEXT NOT NULL REFERENCES users(id),
            created_at INTEGER NOT NULL,
            last_activity_at INTEGER NOT NULL,
            last_sequence INTEGER NOT NULL DEFAULT 0,
            last_message_id TEXT
        );
        CREATE TABLE participants (
            conversation_id TEXT NOT NULL REFERENCES conversations(id),
            user_id TEXT NOT NULL REFERENCES users(id),
            role TEXT NOT NULL,
            joined_at INTEGER NOT NULL,
            last_delivered_seq INTEGER NOT NULL DEFAULT 0,
            last_read_seq INTEGER NOT NULL DEFAULT 0,
            unread_count INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (conversation_id, user_id)
        );
        CREATE INDEX ix_participants_user ON participants(user_id);
        CREATE TABLE messages (
            id TEXT PRIMARY KEY,
            conversation_id TEXT NOT NULL REFERENCES conversations(id),
            sequence INTEGER NOT NULL,
            sender_id TEXT NOT NULL,
            type TEXT NOT NULL,
            content TEXT NOT NULL,
            metadata TEXT,
            client_message_id TEXT,
            idempotency_key TEXT NOT NULL UNIQUE,
            content_hash TEXT NOT NULL,
            size INTEGER NOT NULL,
            correlation_id TEXT NOT NULL,
            accepted_at INTEGER NOT NULL,
            stored_at INTEGER NOT NULL,
            UNIQUE (conversation_id, sequence)
        );
        """;

    private const string InlineStoreVersion2 = """
        CREATE TABLE partition_fences (
            partition INTEGER PRIMARY KEY,
            epoch INTEGER NOT NULL
        );
        """;

    [Fact]
    public async Task A_store_made_by_the_inline_scripts_upgrades_to_the_outbox_and_keeps_its_data()
    {
        using var dir = new TempDirectory();
        var path = Path.Combine(dir.Path, "parley.db");
        var (userA, userB, userC, conversation) = (Guid.CreateVersion7(), Guid.CreateVersion7(), Guid.CreateVersion7(), Guid.CreateVersion7());
        var group = Guid.CreateVersion7();
        var created = DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_000_000);
        await using (var old = new SqliteConnection($"Data Source={path};Pooling=False"))
        {
            await old.OpenAsync();
            await ExecuteAsync(old, "PRAGMA journal_mode=WAL; CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL);");
            await ExecuteAsync(old, InlineStoreVersion1 + "\nINSERT INTO schema_migrations(version, applied_at) VALUES (1, 1);");
            await ExecuteAsync(old, InlineStoreVersion2 + "\nINSERT INTO schema_migrations(version, applied_at) VALUES (2, 2);");
            await ExecuteAsync(old, $"""
                INSERT INTO users VALUES ('{userA}', 'alice', 'Alice', 'hash', {created.ToUnixTimeMilliseconds()});
                INSERT INTO users VALUES ('{userB}', 'bob', 'Bob', 'hash', {created.ToUnixTimeMilliseconds()});
                INSERT INTO users VALUES ('{userC}', 'jalvarez', 'José Álvarez', 'hash', {created.ToUnixTimeMilliseconds()});
                INSERT INTO conversations (id, type, status, direct_key, created_by, created_at, last_activity_at)
                    VALUES ('{conversation}', 'direct', 'active', 'k', '{userA}', 1, 1);
                INSERT INTO participants (conversation_id, user_id, role, joined_at) VALUES ('{conversation}', '{userA}', 'member', 1), ('{conversation}', '{userB}', 'member', 1);
                INSERT INTO conversations (id, type, title, status, created_by, created_at, last_activity_at) VALUES ('{group}', 'group', 'Old team', 'active', '{userA}', 2, 2);
                INSERT INTO participants (conversation_id, user_id, role, joined_at) VALUES ('{group}', '{userA}', 'owner', 2), ('{group}', '{userB}', 'member', 2);
                """);
        }

        using var stores = await SqliteStores.OpenAsync(path);

        Assert.Equal(SqliteMigrations.Store.Select(m => (long)m.Version).ToList(), await VersionsAsync(stores.Database));
        Assert.Equal(new UserRecord(userA, "alice", "Alice", "hash", created), await stores.Users.GetUserAsync(userA, default));

        // Users from before 005 are found by display name: plain ASCII names folded by the migration, the rest by the
        // backfill the server runs at start (idempotent).
        Task<UsernamePage<UserProfile>> SearchAsync(string query) => stores.Users.SearchUsersAsync(userB, SearchRules.Parse(query), null, 10, default);
        Assert.Equal(userA, Assert.Single((await SearchAsync("ALI")).Items).Id);
        Assert.Empty((await SearchAsync("jose")).Items);
        Assert.Equal(1, await stores.Users.BackfillSearchKeysAsync(100, default));
        Assert.Equal(0, await stores.Users.BackfillSearchKeysAsync(100, default));
        Assert.Equal(userC, Assert.Single((await SearchAsync("jose")).Items).Id);
        Assert.Equal(userC, Assert.Single((await SearchAsync("JOSÉ Á")).Items).Id);
        var stored = await stores.Messages.PersistBatchAsync([Envelopes.New(conversation, userA, "after the upgrade")], [], default);
        Assert.Equal(1, Assert.Single(stored).Message!.Sequence);
        var events = await stores.Events.ReadAsync(EventCursor.Start, 10, default);
        Assert.Equal(DomainEventTypes.MessageStored, Assert.Single(events).Type);
        Assert.Equal(new EventCursor(0, 1), events[0].Cursor);
        Assert.Null(stored[0].Message!.SenderSide);

        // Conversations from before 006–009 are private, without details, context, sides or settings, and are managed
        // like new ones.
        var upgraded = (await stores.Conversations.GetConversationAsync(group, default))!;
        Assert.Equal(("Old team", ConversationVisibility.Private, (ConversationContext?)null, (string?)null), (upgraded.Title, upgraded.Visibility, upgraded.Context, upgraded.Description));
        var bob = (await stores.Conversations.GetParticipantAsync(group, userB, default))!;
        Assert.Equal((MemberSettings.None, (string?)null), (bob.Settings, bob.Side));
        var added = await stores.Conversations.ChangeMembershipAsync(group, new AddMembersCommand(userA, [userC], ParticipantRoles.Admin, 100), DateTimeOffset.UtcNow, EventContext.New(userA), default);
        Assert.Equal(userC, Assert.Single(added.Require().Added).UserId);
        var left = (await stores.Conversations.ChangeMembershipAsync(group, new LeaveCommand(userA), DateTimeOffset.UtcNow, EventContext.New(userA), default)).Require();
        Assert.Equal([(userC, ParticipantRoles.Owner)], left.RoleChanges);
        var list = await stores.Conversations.ListConversationsAsync(userB, ConversationListFilter.All, null, 10, default);
        Assert.Equal(new[] { conversation, group }.Order(), list.Items.Select(i => i.Conversation.Id).Order());
    }

    [Fact]
    public async Task Migrating_again_applies_nothing_and_the_embedded_scripts_are_numbered_from_one()
    {
        Assert.Equal([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16], SqliteMigrations.Store.Select(m => m.Version));
        Assert.Equal(["001_initial", "002_partition_fences", "003_domain_events", "004_user_profile", "005_social", "006_conversation_details", "007_member_settings", "008_invites", "009_conversation_context", "010_bookmarks_drafts", "011_message_changes", "012_reports", "013_scheduled_messages", "014_push_devices", "015_webhooks", "016_reconciliation_runs"], SqliteMigrations.Store.Select(m => m.Name));
        Assert.Equal([1, 2], SqliteMigrations.Log.Select(m => m.Version));
        Assert.Equal([1], SqliteMigrations.Push.Select(m => m.Version));

        using var dir = new TempDirectory();
        using var database = new SqliteDatabase(Path.Combine(dir.Path, "parley.db"));
        Assert.Equal(SqliteMigrations.Store.Count, await database.MigrateAsync(SqliteMigrations.Store, default));
        Assert.Equal(0, await database.MigrateAsync(SqliteMigrations.Store, default));
        Assert.Equal(SqliteMigrations.Store.Select(m => (long)m.Version).ToList(), await VersionsAsync(database));
        // Migration is where the file is switched to WAL now that the constructor no longer opens it.
        Assert.Equal("wal", await database.ReadAsync(async connection =>
        {
            await using var command = SqliteDatabase.Command(connection, "PRAGMA journal_mode");
            return (string)(await command.ExecuteScalarAsync())!;
        }, default));
    }

    [Fact]
    public async Task Constructing_the_engine_touches_nothing_on_disk_until_it_is_migrated()
    {
        using var dir = new TempDirectory();
        var data = Path.Combine(dir.Path, "not-yet");

        using (new SqliteDatabase(Path.Combine(data, "parley.db")))
        {
            await using var log = new SqliteMessageLog(Path.Combine(data, "log.db"), new LogOptions { Partitions = 4 });
            Assert.False(Directory.Exists(data), "a constructor created the data directory");
            await log.MigrateAsync(default);
        }

        Assert.True(File.Exists(Path.Combine(data, "log.db")));
        Assert.False(File.Exists(Path.Combine(data, "parley.db")));
    }

    [Fact]
    public async Task Start_up_fails_with_a_message_naming_the_data_directory_setting_when_the_directory_is_unusable()
    {
        using var dir = new TempDirectory();
        // A regular file where the data directory should be: no directory can be created there, whoever runs the test.
        var data = Path.Combine(dir.Path, "occupied");
        await File.WriteAllTextAsync(data, "not a directory");
        using var store = new SqliteDatabase(Path.Combine(data, "parley.db"));
        await using var log = new SqliteMessageLog(Path.Combine(data, "log.db"), new LogOptions());
        using var push = new SqlitePushQueue(Path.Combine(data, "push.db"));
        var startup = new SqliteStartup(store, log, push, Options.Create(new ParleyOptions { DataDirectory = data }));

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => startup.StartingAsync(default));

        Assert.Contains("Parley:DataDirectory", error.Message, StringComparison.Ordinal);
        Assert.Contains(data, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Start_up_migrates_the_store_the_log_and_the_push_queue_before_anything_else_runs()
    {
        using var dir = new TempDirectory();
        using var store = new SqliteDatabase(Path.Combine(dir.Path, "parley.db"));
        await using var log = new SqliteMessageLog(Path.Combine(dir.Path, "log.db"), new LogOptions { Partitions = 2 });
        using var push = new SqlitePushQueue(Path.Combine(dir.Path, "push.db"));
        await new SqliteStartup(store, log, push, Options.Create(new ParleyOptions { DataDirectory = dir.Path })).StartingAsync(default);
        Assert.Equal(0, await push.CountAsync(default));

        Assert.Equal(SqliteMigrations.Store.Select(m => (long)m.Version).ToList(), await VersionsAsync(store));
        Assert.Equal(2, (await log.GetLagAsync(default)).Count);
    }

    [Fact]
    public async Task A_log_reopened_with_another_partition_count_is_refused_at_migration()
    {
        using var dir = new TempDirectory();
        var path = Path.Combine(dir.Path, "log.db");
        await (await SqliteMessageLog.OpenAsync(path, new LogOptions { Partitions = 4 })).DisposeAsync();

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => SqliteMessageLog.OpenAsync(path, new LogOptions { Partitions = 8 }));

        Assert.Contains("Parley:Log:Partitions", error.Message, StringComparison.Ordinal);
    }

    private static async Task<List<long>> VersionsAsync(SqliteDatabase database) =>
        await database.ReadAsync(async connection =>
        {
            var versions = new List<long>();
            await using var command = SqliteDatabase.Command(connection, "SELECT version FROM schema_migrations ORDER BY version");
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                versions.Add(reader.GetInt64(0));
            }

            return versions;
        }, default);

    private static async Task ExecuteAsync(SqliteConnection connection, string sql)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync();
    }
}
