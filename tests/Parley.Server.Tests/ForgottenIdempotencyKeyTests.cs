using Microsoft.Extensions.DependencyInjection;
using Parley.Server.Tests.Infrastructure;
using Parley.Sqlite;

namespace Parley.Server.Tests;

public sealed class EmbeddedForgottenIdempotencyKeyTests() : ForgottenIdempotencyKeyTests(TestEngines.Embedded)
{
    /// <summary>The embedded log forgets a key when it trims the acknowledged entry, once the entry is older than the window.</summary>
    protected override async Task ForgetAsync(TestServer server, Dictionary<string, string?> settings, string idempotencyKey)
    {
        var log = server.Services.GetRequiredService<SqliteMessageLog>();
        await WaitUntilAsync(async () => await log.TrimAsync(CancellationToken.None) > 0);
    }
}

public sealed class ProductionForgottenIdempotencyKeyTests() : ForgottenIdempotencyKeyTests(TestEngines.Production)
{
    /// <summary>The Redis log forgets a key when the key's time to live (the window) runs out.</summary>
    protected override async Task ForgetAsync(TestServer server, Dictionary<string, string?> settings, string idempotencyKey)
    {
        await using var redis = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(settings["Parley:Redis:Configuration"]!);
        var key = $"{settings["Parley:Redis:KeyPrefix"]}:idem:{idempotencyKey}";
        Assert.True(await redis.GetDatabase().KeyExistsAsync(key), "the key should be in the log before it expires");
        await WaitUntilAsync(async () => !await redis.GetDatabase().KeyExistsAsync(key));
    }
}

/// <summary>
/// P3 past the log's idempotency window: the store still holds the key, so a late resend must come back as the stored
/// message (its id, its state), not as a new message id that the persist step folds away and no status call can find.
/// Each class runs its own server with the shortest window the settings allow.
/// </summary>
public abstract class ForgottenIdempotencyKeyTests(string engine)
{
    protected abstract Task ForgetAsync(TestServer server, Dictionary<string, string?> settings, string idempotencyKey);

    protected static async Task WaitUntilAsync(Func<Task<bool>> condition)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "the log did not forget the key within 30 s");
            await Task.Delay(100);
        }
    }

    [Fact]
    public async Task Resend_after_the_log_forgot_the_key_resolves_to_the_stored_message()
    {
        var settings = await TestEngines.SettingsAsync(engine);
        settings["Parley:Log:IdempotencyWindow"] = "00:00:01";
        await using var server = await TestServer.StartAsync(settings);
        using var client = server.Client();
        var alice = await client.SignUpAsync("alice");
        var bob = await client.SignUpAsync("bob");
        var conversation = await client.DirectAsync(alice, bob.UserId);
        var first = await client.SendAsync(alice, conversation.Id, "hello", "late-retry");
        Assert.Single(await client.WaitForStoredAsync(alice, conversation.Id, 1));
        await client.ReadAsync(bob, conversation.Id, 1);
        await ForgetAsync(server, settings, first.IdempotencyKey);

        var resent = await client.SendAsync(alice, conversation.Id, "hello", "late-retry");

        Assert.True(resent.IdempotentHit);
        Assert.Equal((first.MessageId, first.CorrelationId, first.AcceptedAt), (resent.MessageId, resent.CorrelationId, resent.AcceptedAt));
        Assert.Equal("read", resent.State);
        var status = await client.StatusAsync(alice, resent.MessageId);
        Assert.Equal(("read", 1L), (status.State, status.Sequence));

        // The entry the resend appended is folded at persist time: a later message lands right after the original.
        await client.SendAsync(alice, conversation.Id, "after");
        var stored = await client.WaitForStoredAsync(alice, conversation.Id, 2);
        Assert.Equal([(first.MessageId, 1L), (stored[1].Id, 2L)], stored.Select(m => (m.Id, m.Sequence)));
        Assert.Equal("after", stored[1].Content);
    }
}
