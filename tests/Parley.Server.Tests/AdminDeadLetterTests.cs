using System.Net;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Parley.Core.Messaging;
using Parley.Core.Ports;
using Parley.Server.Messaging;
using Parley.Server.Tests.Infrastructure;
using Parley.Sqlite;

namespace Parley.Server.Tests;

/// <summary>
/// The admin dead-letter API (E2) over the message log's dead letters, on both engine sets: list, inspect, replay (dies
/// again while the cause is there, delivers once it is gone), discard; admins only. Push dead letters go through the
/// same API in PushTests.
/// </summary>
public sealed class AdminDeadLetterTests
{
    /// <summary>Refuses messages whose content starts with "poison" while <see cref="Poisoned"/> is on: a bug fixed by a deploy.</summary>
    private sealed class SwitchablePoisonStore(IMessageStore inner) : DelegatingMessageStore(inner)
    {
        public volatile bool Poisoned = true;

        public override Task<IReadOnlyList<PersistResult>> PersistBatchAsync(IReadOnlyList<MessageEnvelope> batch, IReadOnlyList<PartitionFence> fences, CancellationToken cancellationToken) =>
            Poisoned && batch.Any(e => e.Content.StartsWith("poison", StringComparison.Ordinal))
                ? throw new InvalidOperationException("poisoned content")
                : base.PersistBatchAsync(batch, fences, cancellationToken);
    }

    [Theory]
    [InlineData(TestEngines.Embedded)]
    [InlineData(TestEngines.Production)]
    public async Task A_dead_message_is_listed_inspected_replayed_until_the_cause_is_fixed_or_discarded_by_admins_only(string engine)
    {
        var adminName = "adm" + Guid.NewGuid().ToString("N")[..12];
        var settings = await TestEngines.SettingsAsync(engine);
        settings["Parley:Admins:0"] = adminName;
        SwitchablePoisonStore? poison = null;
        await using var server = await TestServer.StartAsync(settings, services: s => s.AddSingleton<IMessageStore>(sp => poison = new SwitchablePoisonStore(
            engine == TestEngines.Embedded ? sp.GetRequiredService<SqliteMessageStore>() : sp.GetRequiredService<Parley.Postgres.PostgresMessageStore>())));
        using var client = server.Client();
        using (var register = await client.SendRawAsync(HttpMethod.Post, "/api/v1/auth/register", null, JsonSerializer.Serialize(new { username = adminName, password = "correct horse" })))
        {
            Assert.Equal(HttpStatusCode.Created, register.StatusCode);
        }

        var admin = await client.LoginAsync(adminName, "correct horse");
        var (alice, bob) = (await client.SignUpAsync(), await client.SignUpAsync());
        var conversation = (await client.DirectAsync(alice, bob.UserId)).Id;
        using (var forbidden = await client.SendRawAsync(HttpMethod.Get, "/api/v1/admin/dead-letters", alice))
        {
            await ProblemAssert.IsAsync(forbidden, HttpStatusCode.Forbidden, "FORBIDDEN");
        }

        var sent = await client.SendAsync(alice, conversation, "poison pill");
        var dead = await DeadLetterAsync(client, admin, "poison pill", replays: 0);
        Assert.StartsWith("message:", dead.GetProperty("id").GetString(), StringComparison.Ordinal);
        Assert.Equal("InvalidOperationException", dead.GetProperty("errorType").GetString());
        Assert.Equal("permanent", dead.GetProperty("failure").GetString());
        Assert.Equal(4, dead.GetProperty("attempts").GetInt32());
        var id = dead.GetProperty("id").GetString()!;
        var inspected = await client.OkAsync<JsonElement>(HttpMethod.Get, $"/api/v1/admin/dead-letters/{id}", admin);
        Assert.Equal(sent.MessageId, inspected.GetProperty("payload").GetProperty("messageId").GetGuid());
        Assert.Equal("failed", (await client.StatusAsync(alice, sent.MessageId)).State);

        // Replayed while the cause is still there: it dies again, its replay counted.
        Assert.True((await client.OkAsync<JsonElement>(HttpMethod.Post, $"/api/v1/admin/dead-letters/{id}/replay", admin)).GetProperty("replayed").GetBoolean());
        var again = await DeadLetterAsync(client, admin, "poison pill", replays: 1);

        // Fixed: the replay stores it, once, and the dead letter is gone.
        poison!.Poisoned = false;
        var againId = again.GetProperty("id").GetString()!;
        await client.OkAsync<JsonElement>(HttpMethod.Post, $"/api/v1/admin/dead-letters/{againId}/replay", admin);
        var stored = await client.WaitForStoredAsync(bob, conversation, 1);
        Assert.Equal(sent.MessageId, Assert.Single(stored).Id);
        using (var gone = await client.SendRawAsync(HttpMethod.Get, $"/api/v1/admin/dead-letters/{againId}", admin))
        {
            await ProblemAssert.IsAsync(gone, HttpStatusCode.NotFound, "DEAD_LETTER_NOT_FOUND");
        }

        using (var twice = await client.SendRawAsync(HttpMethod.Post, $"/api/v1/admin/dead-letters/{againId}/replay", admin))
        {
            await ProblemAssert.IsAsync(twice, HttpStatusCode.NotFound, "DEAD_LETTER_NOT_FOUND");
        }

        // Discarded: gone for good, and the message stays failed.
        poison.Poisoned = true;
        var discarded = await client.SendAsync(alice, conversation, "poison again");
        var toDiscard = (await DeadLetterAsync(client, admin, "poison again", replays: 0)).GetProperty("id").GetString()!;
        using (var delete = await client.SendRawAsync(HttpMethod.Delete, $"/api/v1/admin/dead-letters/{toDiscard}", admin))
        {
            Assert.Equal(HttpStatusCode.NoContent, delete.StatusCode);
        }

        using (var deleted = await client.SendRawAsync(HttpMethod.Delete, $"/api/v1/admin/dead-letters/{toDiscard}", admin))
        {
            await ProblemAssert.IsAsync(deleted, HttpStatusCode.NotFound, "DEAD_LETTER_NOT_FOUND");
        }

        Assert.Equal("failed", (await client.StatusAsync(alice, discarded.MessageId)).State);

        foreach (var bad in new[] { "nope", "message:", "message:abc", "message:99999999", "unknown:1", "push:" + Guid.NewGuid() })
        {
            using var response = await client.SendRawAsync(HttpMethod.Get, $"/api/v1/admin/dead-letters/{Uri.EscapeDataString(bad)}", admin);
            await ProblemAssert.IsAsync(response, HttpStatusCode.NotFound, "DEAD_LETTER_NOT_FOUND");
        }

        foreach (var query in new[] { "kind=bogus", "after=message:1", "kind=push&after=message:1", "limit=0" })
        {
            using var response = await client.SendRawAsync(HttpMethod.Get, $"/api/v1/admin/dead-letters?{query}", admin);
            await ProblemAssert.IsAsync(response, HttpStatusCode.BadRequest, "INVALID_FIELD_VALUE");
        }
    }

    private static async Task<JsonElement> DeadLetterAsync(ParleyClient client, Session admin, string content, int replays)
    {
        JsonElement found = default;
        await Eventually.TrueAsync(async () =>
        {
            var page = await client.OkAsync<JsonElement>(HttpMethod.Get, "/api/v1/admin/dead-letters?kind=message&limit=100", admin);
            foreach (var item in page.GetProperty("items").EnumerateArray())
            {
                if (item.GetProperty("payload").GetProperty("content").GetString() == content && item.GetProperty("replays").GetInt32() == replays)
                {
                    found = item;
                    return true;
                }
            }

            return false;
        }, $"the dead letter of '{content}' (replays {replays})");
        return found;
    }

    /// <summary>A kind held in memory: the reprocessor's rules without an engine.</summary>
    private sealed class MemoryKind : IDeadLetterKind
    {
        public List<DeadLetterRecord> Items { get; } = [];

        public List<string> Replayed { get; } = [];

        public string Kind => "push";

        public Task<IReadOnlyList<DeadLetterRecord>> ListAsync(DeadLetterQuery query, CancellationToken cancellationToken) =>
            Task.FromResult<IReadOnlyList<DeadLetterRecord>>([.. Items.OrderByDescending(d => d.DeadAt).Take(query.Limit)]);

        public Task<DeadLetterRecord?> GetAsync(string id, CancellationToken cancellationToken) => Task.FromResult(Items.FirstOrDefault(d => d.Id == id));

        public Task<bool> ReplayAsync(string id, DateTimeOffset now, CancellationToken cancellationToken)
        {
            Replayed.Add(id);
            return Task.FromResult(Items.RemoveAll(d => d.Id == id) == 1);
        }

        public Task<bool> DiscardAsync(string id, CancellationToken cancellationToken) => Task.FromResult(Items.RemoveAll(d => d.Id == id) == 1);
    }

    [Fact]
    public async Task Scheduled_reprocessing_replays_only_retryable_dead_letters_after_their_cool_down_and_at_most_five_times()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var now = time.GetUtcNow();
        var kind = new MemoryKind();
        DeadLetterRecord Dead(string id, string errorType, int replays, TimeSpan ago) => new(id, "push", errorType, "x", 4, replays, now - ago, null, "{}");
        kind.Items.AddRange(
        [
            Dead("ready-500", "Http500", 0, TimeSpan.FromMinutes(11)),
            Dead("ready-timeout", "TimeoutRejectedException", 4, TimeSpan.FromMinutes(30)),
            Dead("cooling", "Http503", 0, TimeSpan.FromMinutes(9)),
            Dead("permanent", "Http400", 0, TimeSpan.FromHours(1)),
            Dead("gone", "Http410", 0, TimeSpan.FromHours(1)),
            Dead("undecodable", "UndecodableEnvelope", 0, TimeSpan.FromHours(1)),
            Dead("exhausted", "Http500", 5, TimeSpan.FromHours(1)),
        ]);
        var reprocessor = new DeadLetterReprocessor([kind], new Parley.Hosting.ConsumerLoopRegistry(),
            Options.Create(new DeadLettersOptions { Cooldown = TimeSpan.FromMinutes(10), MaxReprocessAttempts = 5 }), time,
            Microsoft.Extensions.Logging.Abstractions.NullLogger<DeadLetterReprocessor>.Instance);

        Assert.Equal(2, await reprocessor.ReprocessAsync(default));
        Assert.Equal(["ready-500", "ready-timeout"], kind.Replayed);

        time.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal(1, await reprocessor.ReprocessAsync(default));
        Assert.Equal("cooling", kind.Replayed[^1]);
        Assert.Equal(0, await reprocessor.ReprocessAsync(default));
        Assert.Equal(["exhausted", "gone", "permanent", "undecodable"], kind.Items.Select(d => d.Id).Order());
    }
}
