using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Parley.Server.Tests.Infrastructure;

namespace Parley.Server.Tests;

/// <summary>A client's mistake on the hub is not the server's error: nothing at Warning or above, no stack trace.</summary>
public sealed class HubLoggingTests
{
    [Fact]
    public async Task A_client_mistake_on_the_hub_logs_nothing_at_Warning_or_above_and_one_Debug_line_with_its_code()
    {
        // Regression: SignalR logged every refused hub call as "Failed to invoke hub method" at Error, with a stack trace.
        await using var server = await TestServer.StartAsync(
            new Dictionary<string, string?> { ["Logging:LogLevel:Parley.Server.Realtime"] = "Debug" },
            services: s => s.AddFakeLogging());
        using var client = server.Client();
        var (me, other) = (await client.SignUpAsync(), await client.SignUpAsync());
        var theirs = await client.DirectAsync(other, (await client.SignUpAsync()).UserId);
        await using var device = await client.ConnectAsync(me);
        var collector = server.Services.GetFakeLogCollector();
        collector.Clear();

        await Assert.ThrowsAsync<HubException>(() => device.Connection.InvokeAsync<Ack>("SendMessage", (object?)null));
        await Assert.ThrowsAsync<HubException>(() => device.Connection.InvokeAsync("Typing", theirs.Id, true));
        await Assert.ThrowsAsync<HubException>(() => device.Connection.InvokeAsync<Receipt>("MarkRead", theirs.Id, "x")); // SignalR's binding failure
        await Assert.ThrowsAsync<HubException>(() => device.Connection.InvokeAsync<List<ResumeResultDto>>("ResumeSince", "yesterday"));
        // A call after them on the same connection: the refusals were all handled (and logged) before it was.
        Assert.Empty(await device.Connection.InvokeAsync<List<ResumeResultDto>>("ResumeSince", DateTimeOffset.UtcNow.AddDays(1).ToString("O")));

        var records = collector.GetSnapshot();
        Assert.Empty(records.Where(r => r.Level >= LogLevel.Warning).Select(r => $"{r.Level} {r.Category}: {r.Message}"));
        var refused = records.Where(r => r.Id.Id == 1506).ToList();
        Assert.Equal(3, refused.Count);
        Assert.All(refused, r => Assert.Null(r.Exception));
        Assert.Contains(refused, r => r.Message.Contains("NOT_CONVERSATION_MEMBER", StringComparison.Ordinal) && r.Message.Contains("Typing", StringComparison.Ordinal));
    }
}
