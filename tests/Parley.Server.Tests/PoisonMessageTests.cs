using Microsoft.Extensions.DependencyInjection;
using Parley.Core.Messaging;
using Parley.Core.Ports;
using Parley.Hosting;
using Parley.Server.Tests.Infrastructure;
using Parley.Sqlite;

namespace Parley.Server.Tests;

/// <summary>P4/P5: an entry that always fails is retried, dead-lettered with its error, and does not block its partition.</summary>
public sealed class PoisonMessageTests
{
    [Theory]
    [InlineData(TestEngines.Embedded)]
    [InlineData(TestEngines.Production)]
    public async Task A_message_the_store_always_rejects_is_dead_lettered_and_the_conversation_moves_on(string engine)
    {
        await using var server = await TestServer.StartAsync(await TestEngines.SettingsAsync(engine), services: s => s.AddSingleton<IMessageStore>(sp =>
            new PoisonStore(engine == TestEngines.Embedded ? sp.GetRequiredService<SqliteMessageStore>() : sp.GetRequiredService<Parley.Postgres.PostgresMessageStore>())));
        using var client = server.Client();
        var alice = await client.SignUpAsync("alice");
        var bob = await client.SignUpAsync("bob");
        var conversation = await client.DirectAsync(alice, bob.UserId);

        var poison = await client.SendAsync(alice, conversation.Id, "poison");
        await client.SendAsync(alice, conversation.Id, "fine");

        var stored = await client.WaitForStoredAsync(bob, conversation.Id, 1);
        Assert.Equal("fine", Assert.Single(stored).Content);
        Assert.Equal(1, stored[0].Sequence);

        var log = server.Services.GetRequiredService<IMessageLog>();
        var dead = Assert.Single(await log.ListDeadLettersAsync(100, default), d => d.MessageId == poison.MessageId);
        Assert.Equal(nameof(InvalidOperationException), dead.ErrorType);
        Assert.Contains("poisoned", dead.ErrorMessage, StringComparison.Ordinal);
        Assert.Equal(4, dead.Attempts);
        Assert.Equal("failed", (await client.StatusAsync(alice, poison.MessageId)).State);
        // "fine" is readable once stored; its entry is acknowledged just after (a full run on two cores saw the gap).
        await Eventually.TrueAsync(async () => (await log.GetLagAsync(default)).Sum(l => l.Pending) == 0, "every entry finished");

        // A dead letter waiting for an operator degrades readiness (the node still serves).
        using var ready = await client.Http.GetAsync("/health/ready");
        Assert.Equal(System.Net.HttpStatusCode.OK, ready.StatusCode);
        var health = System.Text.Json.JsonDocument.Parse(await ready.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("degraded", health.GetProperty("status").GetString());
        Assert.Equal("degraded", health.GetProperty("checks").GetProperty("log").GetProperty("status").GetString());
    }

    [Fact]
    public async Task An_entry_that_crashed_the_server_on_every_delivery_is_dead_lettered_on_start()
    {
        var data = Directory.CreateTempSubdirectory("parley-poison-").FullName;
        var envelope = new MessageEnvelope
        {
            MessageId = Guid.CreateVersion7(),
            ConversationId = Guid.NewGuid(),
            SenderId = Guid.NewGuid(),
            Type = MessageTypes.Text,
            Content = "crasher",
            IdempotencyKey = "h:crasher-" + Guid.NewGuid(),
            CorrelationId = Guid.CreateVersion7(),
            AcceptedAt = DateTimeOffset.UtcNow,
        };

        // Simulate four runs that each took the entry and died before finishing it.
        var options = new LogOptions();
        var appended = await WithLogAsync(data, options, log => log.AppendAsync(envelope, default).AsTask());
        for (var run = 0; run < 4; run++)
        {
            await WithLogAsync(data, options, log => log.ReadAsync(appended.Partition, "node", 10, TimeSpan.Zero, default).AsTask());
        }

        await using var server = await TestServer.StartAsync(dataDirectory: data);
        var serverLog = server.Services.GetRequiredService<IMessageLog>();
        IReadOnlyList<DeadLetter> dead = [];
        await Eventually.TrueAsync(async () => (dead = await serverLog.ListDeadLettersAsync(10, default)).Count > 0, "the message to be dead-lettered");

        var letter = Assert.Single(dead);
        Assert.Equal(envelope.MessageId, letter.MessageId);
        Assert.Equal("DeliveryLimitExceeded", letter.ErrorType);
        Assert.Equal(5, letter.Attempts);
    }

    private static async Task<T> WithLogAsync<T>(string data, LogOptions options, Func<SqliteMessageLog, Task<T>> work)
    {
        await using var log = await SqliteMessageLog.OpenAsync(Path.Combine(data, "log.db"), options);
        return await work(log);
    }
}
