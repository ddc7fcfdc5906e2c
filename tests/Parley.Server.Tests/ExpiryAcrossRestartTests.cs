using System.Net;
using System.Text.Json;
using Parley.Server.Tests.Infrastructure;

namespace Parley.Server.Tests;

public sealed class EmbeddedExpiryAcrossRestartTests() : ExpiryAcrossRestartTests(TestEngines.Embedded);

public sealed class ProductionExpiryAcrossRestartTests() : ExpiryAcrossRestartTests(TestEngines.Production);

/// <summary>
/// Disappearing messages survive a crash: the schedule is the store's expiry column, not a timer in the process, so a
/// message whose time came while the server was down is deleted once it is back.
/// </summary>
public abstract class ExpiryAcrossRestartTests(string engine) : IDisposable
{
    private readonly string _data = Directory.CreateTempSubdirectory("parley-expiry-restart-").FullName;

    [Fact]
    public async Task A_message_that_expired_while_the_server_was_killed_is_deleted_after_the_restart()
    {
        var port = TestServer.FreePort();
        var settings = await TestEngines.SettingsAsync(engine);
        var server = await ServerProcess.StartAsync(_data, port, settings);
        using var client = new ParleyClient(server.BaseAddress);
        var (a, b) = (await client.SignUpAsync(), await client.SignUpAsync());
        var direct = (await client.DirectAsync(a, b.UserId)).Id;
        var expiresAt = DateTimeOffset.UtcNow.AddSeconds(3);
        var sent = (await client.OkAsync<JsonElement>(HttpMethod.Post, $"/api/v1/conversations/{direct}/messages", a,
            new { content = "outlives no crash", expiresAt }, HttpStatusCode.Accepted)).GetProperty("messageId").GetGuid();
        await client.WaitForStoredAsync(b, direct, 1);

        await server.KillAsync();
        await Eventually.TrueAsync(() => TestServer.PortIsFree(port), $"port {port} to be free after the kill");
        // Down past the expiry: whatever timer the old process had died with it.
        await Eventually.TrueAsync(() => DateTimeOffset.UtcNow > expiresAt.AddSeconds(1), "the expiry to pass while the server is down");
        server = await ServerProcess.StartAsync(_data, port, settings);
        await using (server)
        {
            await Eventually.TrueAsync(async () =>
            {
                var page = await client.OkAsync<JsonElement>(HttpMethod.Get, $"/api/v1/conversations/{direct}/messages", b);
                var message = page.GetProperty("items").EnumerateArray().Single();
                return message.GetProperty("id").GetGuid() == sent && message.Flag("deleted");
            }, "the expired message to be deleted after the restart");
        }
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(_data, recursive: true);
        }
        catch (IOException)
        {
            // A server file still closing; the temp directory is cleaned up with the machine.
        }
    }
}
