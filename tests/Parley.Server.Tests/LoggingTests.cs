using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Testing;
using Parley.Core.Ports;
using Parley.Server.Tests.Infrastructure;
using Parley.Sqlite;

namespace Parley.Server.Tests;

/// <summary>O3: a log line about a message carries its correlation id (the one in the ack), with a stable event id.</summary>
public sealed class LoggingTests
{
    [Fact]
    public async Task A_dead_letter_log_line_carries_the_messages_correlation_id_and_a_stable_event_id()
    {
        await using var server = await TestServer.StartAsync(services: s =>
        {
            s.AddFakeLogging();
            s.AddSingleton<IMessageStore>(sp => new PoisonStore(sp.GetRequiredService<SqliteMessageStore>()));
        });
        using var client = server.Client();
        var alice = await client.SignUpAsync();
        var bob = await client.SignUpAsync();
        var conversation = await client.DirectAsync(alice, bob.UserId);

        var ack = await client.SendAsync(alice, conversation.Id, "poison");

        var collector = server.Services.GetFakeLogCollector();
        await Eventually.TrueAsync(() => collector.GetSnapshot().Any(r => r.Id.Id == 1301), "log event 1301 (dead-lettered)");
        var line = collector.GetSnapshot().First(r => r.Id.Id == 1301);
        Assert.Contains(ack.CorrelationId.ToString(), line.Message, StringComparison.Ordinal);
        var scope = line.Scopes.OfType<IReadOnlyList<KeyValuePair<string, object?>>>().Single(s => s.Any(kv => kv.Key == "CorrelationId"));
        Assert.Equal(ack.CorrelationId, scope.Single(kv => kv.Key == "CorrelationId").Value);
        Assert.Equal(ack.MessageId, scope.Single(kv => kv.Key == "MessageId").Value);
    }
}
