using System.Diagnostics.Metrics;
using System.Net;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Options;
using Parley.Core.Ports;
using Parley.Server.Tests.Infrastructure;

namespace Parley.Server.Tests;

public sealed class EmbeddedReconciliationTests(EmbeddedModerationServer fixture) : ReconciliationTests(fixture.Server, fixture.Admin), IClassFixture<EmbeddedModerationServer>;

public sealed class ProductionReconciliationTests(ProductionModerationServer fixture) : ReconciliationTests(fixture.Server, fixture.Admin), IClassFixture<ProductionModerationServer>;

/// <summary>Reconciliation on servers of their own: settings refused at start, the scheduled run, a dead letter (a poison store).</summary>
public sealed class ReconciliationOwnServerTests
{
    [Theory]
    [InlineData("Interval", "-00:00:01")]
    [InlineData("PendingThreshold", "00:00:00")]
    [InlineData("Samples", "-1")]
    public async Task A_bad_reconciliation_setting_stops_the_start_and_names_the_setting(string setting, string value)
    {
        var error = await Assert.ThrowsAsync<OptionsValidationException>(() =>
            TestServer.StartAsync(new Dictionary<string, string?> { [$"Parley:Reconciliation:{setting}"] = value }));
        Assert.Contains($"Parley:Reconciliation:{setting}", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_dead_lettered_message_the_store_never_got_is_reported_as_log_vs_store_drift()
    {
        var name = "adm" + Guid.NewGuid().ToString("N")[..16];
        await using var server = await TestServer.StartAsync(new Dictionary<string, string?> { ["Parley:Admins:0"] = name },
            services: s => s.AddSingleton<IMessageStore>(sp => new PoisonStore(sp.GetRequiredService<Parley.Sqlite.SqliteMessageStore>())));
        using var client = server.Client();
        using (var register = await client.SendRawAsync(HttpMethod.Post, "/api/v1/auth/register", null, JsonSerializer.Serialize(new { username = name, password = "correct horse" })))
        {
            Assert.Equal(HttpStatusCode.Created, register.StatusCode);
        }

        var admin = await client.LoginAsync(name, "correct horse");
        var someone = await client.SignUpAsync();
        var direct = (await client.DirectAsync(someone, admin.UserId)).Id;
        var poison = (await client.SendAsync(someone, direct, "poison")).MessageId;
        var log = server.Services.GetRequiredService<IMessageLog>();
        await Eventually.TrueAsync(async () => (await log.ListDeadLettersAsync(10, default)).Any(d => d.MessageId == poison), "the poison message to be dead-lettered");

        var run = await ReconciliationTests.ReconcileAsync(client, admin, null);
        var check = run.GetProperty("checks").EnumerateArray().Single(c => c.GetProperty("name").GetString() == "log_vs_store");
        Assert.Equal(1, check.GetProperty("drift").GetInt64());
        Assert.StartsWith($"message {poison}: dead-lettered (", check.GetProperty("samples")[0].GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_scheduled_run_comes_every_interval_and_repairs_the_read_models_it_finds_drifted()
    {
        await using var server = await TestServer.StartAsync(new Dictionary<string, string?> { ["Parley:Reconciliation:Interval"] = "00:00:01", ["Parley:Reconciliation:Repair"] = "true" });
        using var client = server.Client();
        var (a, b) = (await client.SignUpAsync(), await client.SignUpAsync());
        var direct = (await client.DirectAsync(a, b.UserId)).Id;
        await client.SendAsync(a, direct, "hello");
        await client.WaitForStoredAsync(b, direct, 1);
        var readModels = server.Services.GetRequiredService<IReadModelStore>();
        var original = (await readModels.ReadAsync(default)).Members[(direct, b.UserId)];
        Assert.Equal(new MemberReadModel(1, 0), original);

        // Test-only damage straight in the store; no request asks for a run.
        await readModels.ReplaceAsync(new ReadModelSet(new Dictionary<Guid, ConversationReadModel>(),
            new Dictionary<(Guid, Guid), MemberReadModel> { [(direct, b.UserId)] = new(40, 0) }, new Dictionary<Guid, MessageReadModel>()), default);
        await Eventually.TrueAsync(async () => (await readModels.ReadAsync(default)).Members[(direct, b.UserId)] == original, "a scheduled run to repair the unread count");
        Assert.Contains((await client.Http.GetStringAsync("/metrics")).Split('\n'), l => l.StartsWith("reconciliation_runs_total", StringComparison.Ordinal));
    }
}

/// <summary>
/// The read models rebuilt and reconciled end to end (issue 16, E1 and E4), on both engine sets: drift put straight into
/// the store is reported by a run, repaired by a run with repair (and by a rebuild), and exported as metrics; only server
/// admins may do any of it.
/// </summary>
public abstract class ReconciliationTests(TestServer server, Session admin)
{
    private readonly ParleyClient _client = server.Client();

    private IReadModelStore ReadModels => server.Services.GetRequiredService<IReadModelStore>();

    /// <summary>A group with traffic: three messages from a, the first read by b; returns the group and the read models once stored.</summary>
    private async Task<(Guid Group, Session Reader, ReadModelSet Original)> TrafficAsync()
    {
        var (a, b) = (await _client.SignUpAsync(), await _client.SignUpAsync());
        var group = (await _client.GroupAsync(a, "reconcile", b.UserId)).Id;
        for (var i = 0; i < 3; i++)
        {
            await _client.SendAsync(a, group, $"m{i}");
        }

        await _client.WaitForStoredAsync(b, group, 3);
        await _client.ReadAsync(b, group, 1);
        return (group, b, await ReadModels.ReadAsync(default));
    }

    /// <summary>Test-only damage straight in the store: b's unread count and the group's last activity made wrong.</summary>
    private async Task DriftAsync(Guid group, Guid reader, ReadModelSet original)
    {
        await ReadModels.ReplaceAsync(new ReadModelSet(
            new Dictionary<Guid, ConversationReadModel> { [group] = original.Conversations[group] with { LastActivityAt = DateTimeOffset.UnixEpoch } },
            new Dictionary<(Guid, Guid), MemberReadModel> { [(group, reader)] = new(99, 7) },
            new Dictionary<Guid, MessageReadModel>()), default);
    }

    private Task<JsonElement> RunAsync(object? body) => ReconcileAsync(_client, admin, body);

    /// <summary>Starts a run as <paramref name="admin"/>, checks the 202, and waits (with a deadline) for the run to complete.</summary>
    internal static async Task<JsonElement> ReconcileAsync(ParleyClient client, Session admin, object? body)
    {
        using var response = await client.SendRawAsync(HttpMethod.Post, "/api/v1/admin/reconcile", admin, body is null ? null : JsonSerializer.Serialize(body));
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var started = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("running", started.GetProperty("status").GetString());
        var runId = started.GetProperty("runId").GetGuid();
        Assert.EndsWith($"/api/v1/admin/reconcile/{runId}", response.Headers.Location!.ToString(), StringComparison.Ordinal);
        JsonElement run = default;
        await Eventually.TrueAsync(async () =>
        {
            run = await client.OkAsync<JsonElement>(HttpMethod.Get, $"/api/v1/admin/reconcile/{runId}", admin);
            return run.GetProperty("status").GetString() != "running";
        }, $"reconciliation run {runId} to finish");
        Assert.Equal("completed", run.GetProperty("status").GetString());
        return run;
    }

    /// <summary>
    /// This server's reconciliation_drift for <paramref name="check"/>, observed through its own meter factory: the other
    /// in-process servers of the test run export the same meter name, so /metrics here can show their series too.
    /// </summary>
    private long? DriftGauge(string check)
    {
        using var collector = new MetricCollector<long>(server.Services.GetRequiredService<IMeterFactory>(), Parley.Server.Hosting.Telemetry.ReconciliationMeter, "reconciliation_drift");
        collector.RecordObservableInstruments();
        return collector.GetMeasurementSnapshot().LastOrDefault(m => Equals(m.Tags["check"], check))?.Value;
    }

    private static JsonElement Check(JsonElement run, string name) => run.GetProperty("checks").EnumerateArray().Single(c => c.GetProperty("name").GetString() == name);

    [Fact]
    public async Task Drift_put_in_the_store_is_reported_then_repaired_by_a_run_with_repair_and_exported_as_metrics()
    {
        var (group, reader, original) = await TrafficAsync();
        await DriftAsync(group, reader.UserId, original);

        var report = await RunAsync(new { repair = false });
        Assert.False(report.GetProperty("repair").GetBoolean());
        var readModels = Check(report, "read_models");
        Assert.Equal(2, readModels.GetProperty("drift").GetInt64());
        Assert.Equal(0, readModels.GetProperty("repaired").GetInt64());
        var samples = readModels.GetProperty("samples").EnumerateArray().Select(s => s.GetString()!).ToList();
        Assert.Contains(samples, s => s.StartsWith($"members {group}/{reader.UserId}: unread 99, mentions 7 -> unread 2, mentions 0", StringComparison.Ordinal));
        Assert.Contains(samples, s => s.StartsWith($"conversations {group}: lastActivityAt 1970", StringComparison.Ordinal));
        // The recount of the rows sees the same unread count, and the rest of the store is whole.
        var counters = Check(report, "counters");
        Assert.Equal(1, counters.GetProperty("drift").GetInt64());
        Assert.Contains(counters.GetProperty("samples").EnumerateArray(), s => s.GetString() == $"member {group}/{reader.UserId}: unread_count 99, recounted 2");
        Assert.Equal(0, Check(report, "sequences").GetProperty("drift").GetInt64());
        Assert.Equal(0, Check(report, "log_vs_store").GetProperty("drift").GetInt64());
        Assert.Equal((await ReadModels.ReadAsync(default)).Members[(group, reader.UserId)], new MemberReadModel(99, 7));

        Assert.Equal(2, DriftGauge("read_models"));
        Assert.Equal(1, DriftGauge("counters"));
        var exported = (await _client.Http.GetStringAsync("/metrics")).Split('\n');
        Assert.Contains(exported, l => l.StartsWith("reconciliation_drift{", StringComparison.Ordinal) && l.Contains("check=\"read_models\"", StringComparison.Ordinal));
        Assert.Contains(exported, l => l.StartsWith("sync_lag_seconds", StringComparison.Ordinal));

        var repaired = Check(await RunAsync(new { repair = true }), "read_models");
        Assert.Equal((2L, 2L), (repaired.GetProperty("drift").GetInt64(), repaired.GetProperty("repaired").GetInt64()));
        var after = await ReadModels.ReadAsync(default);
        Assert.Equal(original.Members[(group, reader.UserId)], after.Members[(group, reader.UserId)]);
        Assert.Equal(original.Conversations[group], after.Conversations[group]);
        Assert.Equal(2, (await _client.ConversationsAsync(reader)).Items.Single(c => c.Id == group).UnreadCount);

        // No body: a report without repair, and nothing left to report.
        var clean = await RunAsync(null);
        Assert.All(clean.GetProperty("checks").EnumerateArray(), c => Assert.Equal(0, c.GetProperty("drift").GetInt64()));
        Assert.Equal(0, DriftGauge("read_models"));
    }

    [Fact]
    public async Task A_rebuild_writes_what_the_events_say_and_reports_what_it_changed()
    {
        var (group, reader, original) = await TrafficAsync();
        await DriftAsync(group, reader.UserId, original);

        var rebuilt = await _client.OkAsync<JsonElement>(HttpMethod.Post, "/api/v1/admin/read-models/rebuild", admin);
        Assert.True(rebuilt.GetProperty("applied").GetBoolean());
        Assert.Equal(2, rebuilt.GetProperty("drift").GetInt32());
        Assert.True(rebuilt.GetProperty("eventsRead").GetInt64() > 0);
        var members = rebuilt.GetProperty("checks").EnumerateArray().Single(c => c.GetProperty("model").GetString() == "members");
        var sample = members.GetProperty("samples").EnumerateArray().Single();
        Assert.Equal(($"{group}/{reader.UserId}", "unread 99, mentions 7", "unread 2, mentions 0"),
            (sample.GetProperty("key").GetString(), sample.GetProperty("current").GetString(), sample.GetProperty("projected").GetString()));
        var after = await ReadModels.ReadAsync(default);
        Assert.Equal(original.Members[(group, reader.UserId)], after.Members[(group, reader.UserId)]);
        Assert.Equal(original.Conversations[group], after.Conversations[group]);
        Assert.Equal(0, (await _client.OkAsync<JsonElement>(HttpMethod.Post, "/api/v1/admin/read-models/rebuild", admin)).GetProperty("drift").GetInt32());
    }

    [Fact]
    public async Task The_rebuild_command_prints_each_value_it_changed_and_a_check_changes_nothing()
    {
        var (group, reader, original) = await TrafficAsync();
        await DriftAsync(group, reader.UserId, original);

        using var check = new StringWriter();
        Assert.Equal(0, await ReadModelCommand.RunAsync(ReadModels, apply: false, check));
        Assert.Contains($"  members {group}/{reader.UserId}: unread 99, mentions 7 -> unread 2, mentions 0", check.ToString(), StringComparison.Ordinal);
        Assert.Contains("2 value(s) differ; run without --check to write them.", check.ToString(), StringComparison.Ordinal);
        Assert.Equal(new MemberReadModel(99, 7), (await ReadModels.ReadAsync(default)).Members[(group, reader.UserId)]);

        using var rebuild = new StringWriter();
        Assert.Equal(0, await ReadModelCommand.RunAsync(ReadModels, apply: true, rebuild));
        Assert.Contains("members: ", rebuild.ToString(), StringComparison.Ordinal);
        Assert.Contains("Wrote 2 value(s) from the events.", rebuild.ToString(), StringComparison.Ordinal);
        Assert.Equal(original.Members[(group, reader.UserId)], (await ReadModels.ReadAsync(default)).Members[(group, reader.UserId)]);
    }

    [Fact]
    public async Task Only_server_admins_may_rebuild_or_reconcile_and_bad_requests_get_their_codes()
    {
        var someone = await _client.SignUpAsync();
        var run = Guid.NewGuid();
        await ProblemAssert.IsAsync(await _client.SendRawAsync(HttpMethod.Post, "/api/v1/admin/read-models/rebuild", someone), HttpStatusCode.Forbidden, "FORBIDDEN");
        await ProblemAssert.IsAsync(await _client.SendRawAsync(HttpMethod.Post, "/api/v1/admin/reconcile", someone, """{"repair":true}"""), HttpStatusCode.Forbidden, "FORBIDDEN");
        await ProblemAssert.IsAsync(await _client.SendRawAsync(HttpMethod.Get, $"/api/v1/admin/reconcile/{run}", someone), HttpStatusCode.Forbidden, "FORBIDDEN");
        await ProblemAssert.IsAsync(await _client.SendRawAsync(HttpMethod.Post, "/api/v1/admin/reconcile", null), HttpStatusCode.Unauthorized, "UNAUTHENTICATED");

        await ProblemAssert.IsAsync(await _client.SendRawAsync(HttpMethod.Get, $"/api/v1/admin/reconcile/{run}", admin), HttpStatusCode.NotFound, "RECONCILE_RUN_NOT_FOUND");
        await ProblemAssert.IsAsync(await _client.SendRawAsync(HttpMethod.Get, "/api/v1/admin/reconcile/not-a-run", admin), HttpStatusCode.BadRequest, "INVALID_FIELD_VALUE");
        await ProblemAssert.IsAsync(await _client.SendRawAsync(HttpMethod.Post, "/api/v1/admin/reconcile", admin, """{"repair":"yes"}"""), HttpStatusCode.BadRequest, "INVALID_FIELD_TYPE");
        await ProblemAssert.IsAsync(await _client.SendRawAsync(HttpMethod.Post, "/api/v1/admin/reconcile", admin, """{"repair":"""), HttpStatusCode.BadRequest, "INVALID_JSON");
    }
}

public sealed class ReadModelCommandTests
{
    [Fact]
    public async Task A_history_the_rebuild_cannot_use_exits_with_code_3_and_names_the_position()
    {
        using var output = new StringWriter();
        Assert.Equal(ReadModelCommand.HistoryIncomplete, await ReadModelCommand.RunAsync(new UnusableHistory(), apply: true, output));
        Assert.Contains("position 0:17", output.ToString(), StringComparison.Ordinal);
    }

    private sealed class UnusableHistory : IReadModelStore
    {
        public Task<ReadModelSet> ReadAsync(CancellationToken cancellationToken) => Task.FromResult(ReadModelSet.Empty);

        public Task<ReadModelReport> RebuildAsync(bool apply, CancellationToken cancellationToken) =>
            throw new ReadModelHistoryException(new Parley.Core.Events.EventCursor(0, 17), "message.stored");

        public Task ReplaceAsync(ReadModelSet values, CancellationToken cancellationToken) => Task.CompletedTask;
    }
}

public sealed class EmbeddedReadModelHistoryTests(EmbeddedModerationServer fixture) : ReadModelHistoryTests(fixture.Server, fixture.Admin), IClassFixture<EmbeddedModerationServer>;

public sealed class ProductionReadModelHistoryTests(ProductionModerationServer fixture) : ReadModelHistoryTests(fixture.Server, fixture.Admin), IClassFixture<ProductionModerationServer>;

/// <summary>
/// An outbox that starts before message.stored recorded mentions and thread roots (a server of its own: the old event
/// stays): the rebuild refuses with 409 naming the position and writes nothing; reconciliation says why it cannot check
/// the read models and still runs its other checks.
/// </summary>
public abstract class ReadModelHistoryTests(TestServer server, Session admin)
{
    private readonly ParleyClient _client = server.Client();

    /// <summary>Test-only SQL straight in the store, under the embedded engine's write gate; <paramref name="postgresSql"/> where the engines differ.</summary>
    private async Task ExecuteAsync(string sql, string? postgresSql = null)
    {
        if (server.Services.GetService<Parley.Sqlite.SqliteDatabase>() is { } sqlite)
        {
            await sqlite.WriteAsync(async (connection, transaction) =>
            {
                await using var command = Parley.Sqlite.SqliteDatabase.Command(connection, sql, transaction);
                return await command.ExecuteNonQueryAsync();
            }, default);
            return;
        }

        await using var postgres = server.Services.GetRequiredService<Npgsql.NpgsqlDataSource>().CreateCommand(postgresSql ?? sql);
        await postgres.ExecuteNonQueryAsync();
    }

    /// <summary>A message.stored event as version 1 wrote it before the read-model fields.</summary>
    private Task InsertLegacyEventAsync(Guid conversation)
    {
        var id = Guid.CreateVersion7();
        var data = $$"""{"messageId":"{{Guid.CreateVersion7()}}","conversationId":"{{conversation}}","sequence":1,"senderId":"{{Guid.NewGuid()}}","type":"text","clientMessageId":null,"acceptedAt":"2026-01-01T00:00:00+00:00"}""";
        const string Insert = "INSERT INTO domain_events (id, aggregate_type, aggregate_id, type, version, correlation_id, occurred_at, data) VALUES ";
        return ExecuteAsync($"{Insert}('{id}', 'conversation', '{conversation}', 'message.stored', 1, '{id}', 0, '{data}')",
            $"{Insert}('{id}', 'conversation', '{conversation}', 'message.stored', 1, '{id}', now(), '{data}')");
    }

    [Fact]
    public async Task A_gap_in_a_conversations_sequences_and_a_wrong_last_sequence_are_reported_and_left_alone()
    {
        var (a, b) = (await _client.SignUpAsync(), await _client.SignUpAsync());
        var direct = (await _client.DirectAsync(a, b.UserId)).Id;
        for (var i = 0; i < 3; i++)
        {
            await _client.SendAsync(a, direct, $"m{i}");
        }

        var last = (await _client.WaitForStoredAsync(b, direct, 3)).Single(m => m.Sequence == 3).Id;
        await ExecuteAsync($"UPDATE messages SET sequence = 13 WHERE id = '{last}'");
        try
        {
            var run = await ReconciliationTests.ReconcileAsync(_client, admin, new { repair = true });
            var checks = run.GetProperty("checks").EnumerateArray().ToDictionary(c => c.GetProperty("name").GetString()!);
            Assert.Contains(checks["sequences"].GetProperty("samples").EnumerateArray(), s => s.GetString() == $"conversation {direct}: 3 messages, highest sequence 13");
            Assert.Contains(checks["counters"].GetProperty("samples").EnumerateArray(), s => s.GetString() == $"conversation {direct}: last_sequence 3, highest stored sequence 13");
            Assert.Equal((0L, 0L), (checks["sequences"].GetProperty("repaired").GetInt64(), checks["counters"].GetProperty("repaired").GetInt64()));
        }
        finally
        {
            await ExecuteAsync($"UPDATE messages SET sequence = 3 WHERE id = '{last}'");
        }
    }

    [Fact]
    public async Task A_history_without_the_read_model_fields_is_refused_by_the_rebuild_and_reported_by_reconciliation()
    {
        var (a, b) = (await _client.SignUpAsync(), await _client.SignUpAsync());
        var direct = (await _client.DirectAsync(a, b.UserId)).Id;
        await InsertLegacyEventAsync(direct);

        var problem = await ProblemAssert.IsAsync(await _client.SendRawAsync(HttpMethod.Post, "/api/v1/admin/read-models/rebuild", admin), HttpStatusCode.Conflict, "EVENT_HISTORY_INCOMPLETE");
        Assert.Contains("cannot be rebuilt", problem.Detail, StringComparison.Ordinal);
        Assert.Matches(@"the newest at position \d+:\d+", problem.Detail);

        var run = await ReconciliationTests.ReconcileAsync(_client, admin, null);
        var checks = run.GetProperty("checks").EnumerateArray().ToDictionary(c => c.GetProperty("name").GetString()!);
        Assert.Equal(["counters", "log_vs_store", "read_models", "sequences"], checks.Keys.Order());
        Assert.Equal(0, checks["read_models"].GetProperty("examined").GetInt64());
        Assert.Contains("cannot be rebuilt", checks["read_models"].GetProperty("samples")[0].GetString(), StringComparison.Ordinal);
    }
}
