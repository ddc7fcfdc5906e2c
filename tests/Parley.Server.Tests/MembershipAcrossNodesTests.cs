using System.Net;
using System.Text.Json;
using Parley.Server.Tests.Infrastructure;

namespace Parley.Server.Tests;

/// <summary>
/// Two production nodes: a membership change made through one is in force on the other by the time its response
/// returns, although the other node had the old membership cached a moment before.
/// </summary>
public sealed class MembershipAcrossNodesTests() : ScratchDirectoryTest("parley-members-")
{
    [Fact]
    public async Task A_member_removed_through_one_node_is_refused_by_the_other_immediately_after_the_removal_returns()
    {
        var settings = await TestEngines.SettingsAsync(TestEngines.Production);
        await using var a = await ServerProcess.StartAsync(Data, TestServer.FreePort(), settings);
        await using var b = await ServerProcess.StartAsync(Data, TestServer.FreePort(), settings);
        using var viaA = new ParleyClient(a.BaseAddress);
        using var viaB = new ParleyClient(b.BaseAddress);
        var owner = await viaA.SignUpAsync();
        var member = await viaA.SignUpAsync();
        var id = (await viaA.OkAsync<JsonElement>(HttpMethod.Post, "/api/v1/conversations", owner,
            new { type = "group", memberIds = new[] { member.UserId }, title = "Two nodes" }, HttpStatusCode.Created)).GetProperty("id").GetGuid();

        // Several rounds: each time node B has just served the member (so its cache says "member"), node A removes them.
        for (var round = 0; round < 5; round++)
        {
            await viaB.SendAsync(member, id, $"still in {round}");
            await viaA.OkAsync<JsonElement>(HttpMethod.Delete, $"/api/v1/conversations/{id}/members/{member.UserId}", owner);

            await ProblemAssert.IsAsync(await viaB.SendRawAsync(HttpMethod.Post, $"/api/v1/conversations/{id}/messages", member, $$"""{"content":"removed {{round}}"}"""),
                HttpStatusCode.Forbidden, "NOT_CONVERSATION_MEMBER");
            await ProblemAssert.IsAsync(await viaB.SendRawAsync(HttpMethod.Get, $"/api/v1/conversations/{id}/messages", member), HttpStatusCode.Forbidden, "NOT_CONVERSATION_MEMBER");

            // And back in: B, which just refused them (and cached that), lets them send again at once.
            await viaA.OkAsync<JsonElement>(HttpMethod.Post, $"/api/v1/conversations/{id}/members", owner, new { userIds = new[] { member.UserId } });
            await viaB.SendAsync(member, id, $"back {round}");
        }

        // A role change travels the same way: a broadcast member promoted to admin through A may send through B.
        var news = (await viaA.OkAsync<JsonElement>(HttpMethod.Post, "/api/v1/conversations", owner,
            new { type = "broadcast", memberIds = new[] { member.UserId }, title = "News" }, HttpStatusCode.Created)).GetProperty("id").GetGuid();
        await ProblemAssert.IsAsync(await viaB.SendRawAsync(HttpMethod.Post, $"/api/v1/conversations/{news}/messages", member, """{"content":"not yet"}"""),
            HttpStatusCode.Forbidden, "FORBIDDEN_ROLE");
        await viaA.OkAsync<JsonElement>(HttpMethod.Patch, $"/api/v1/conversations/{news}/members/{member.UserId}", owner, new { role = "admin" });
        await viaB.SendAsync(member, news, "now I may");

        var stored = await viaA.WaitForStoredAsync(owner, id, 10);
        Assert.Equal(10, stored.Count);
        Assert.DoesNotContain(stored, m => m.Content.StartsWith("removed", StringComparison.Ordinal));
    }
}
