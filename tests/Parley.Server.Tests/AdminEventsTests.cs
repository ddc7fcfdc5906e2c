using System.Net;
using System.Text.Json;
using Parley.Server.Tests.Infrastructure;

namespace Parley.Server.Tests;

public sealed class EmbeddedAdminEventsTests(EmbeddedModerationServer fixture) : AdminEventsTests(fixture.Server, fixture.Admin), IClassFixture<EmbeddedModerationServer>;

public sealed class ProductionAdminEventsTests(ProductionModerationServer fixture) : AdminEventsTests(fixture.Server, fixture.Admin), IClassFixture<ProductionModerationServer>;

/// <summary>The domain events' read side for operators (issue 16, E1): the server admins read the outbox, filtered and paged; nobody else does.</summary>
public abstract class AdminEventsTests(TestServer server, Session admin)
{
    private readonly ParleyClient _client = server.Client();

    [Fact]
    public async Task A_server_admin_reads_one_conversations_events_in_order_and_page_by_page_and_anyone_else_is_refused()
    {
        var (a, b) = (await _client.SignUpAsync(), await _client.SignUpAsync());
        var direct = (await _client.DirectAsync(a, b.UserId)).Id;
        var sent = new List<Guid>();
        for (var i = 0; i < 3; i++)
        {
            sent.Add((await _client.SendAsync(a, direct, $"m{i}")).MessageId);
        }

        await _client.WaitForStoredAsync(b, direct, 3);
        var path = $"/api/v1/admin/events?aggregateId={direct}&type=message.stored";
        JsonElement stored = default;
        await Eventually.TrueAsync(async () =>
        {
            // The outbox withholds an event while an earlier transaction could still commit: wait for all three.
            stored = (await _client.OkAsync<JsonElement>(HttpMethod.Get, path, admin)).GetProperty("items");
            return stored.GetArrayLength() == 3;
        }, "the three message.stored events");
        Assert.All(stored.EnumerateArray(), e => Assert.Equal(("conversation", direct.ToString(), "message.stored"),
            (e.GetProperty("aggregateType").GetString(), e.GetProperty("aggregateId").GetString(), e.GetProperty("type").GetString())));
        Assert.Equal(sent, stored.EnumerateArray().Select(e => e.GetProperty("data").GetProperty("messageId").GetGuid()));

        var first = await _client.OkAsync<JsonElement>(HttpMethod.Get, path + "&limit=2", admin);
        var next = first.GetProperty("nextCursor").GetString();
        var second = await _client.OkAsync<JsonElement>(HttpMethod.Get, $"{path}&limit=2&after={next}", admin);
        Assert.Equal(sent, first.GetProperty("items").EnumerateArray().Concat(second.GetProperty("items").EnumerateArray())
            .Select(e => e.GetProperty("data").GetProperty("messageId").GetGuid()));
        Assert.Equal(JsonValueKind.Null, second.GetProperty("nextCursor").ValueKind);

        await ProblemAssert.IsAsync(await _client.SendRawAsync(HttpMethod.Get, path, a), HttpStatusCode.Forbidden, "FORBIDDEN");
        await ProblemAssert.IsAsync(await _client.SendRawAsync(HttpMethod.Get, path, null), HttpStatusCode.Unauthorized, "UNAUTHENTICATED");
    }

    [Theory]
    [InlineData("type=message.bogus", "INVALID_FIELD_VALUE")]
    [InlineData("after=yesterday", "INVALID_FIELD_VALUE")]
    [InlineData("after=1_2_3", "INVALID_FIELD_VALUE")]
    [InlineData("after=-1_5", "INVALID_FIELD_VALUE")]
    [InlineData("limit=0", "INVALID_FIELD_VALUE")]
    [InlineData("aggregateId=%00", "INVALID_TEXT")]
    [InlineData("type=message.stored&type=message.edited", "INVALID_FIELD_VALUE")]
    public async Task Bad_filters_are_refused_with_their_codes(string query, string code)
    {
        await ProblemAssert.IsAsync(await _client.SendRawAsync(HttpMethod.Get, $"/api/v1/admin/events?{query}", admin), HttpStatusCode.BadRequest, code);
        await ProblemAssert.IsAsync(await _client.SendRawAsync(HttpMethod.Get, $"/api/v1/admin/events?aggregateId={new string('x', 201)}", admin),
            HttpStatusCode.BadRequest, "FIELD_TOO_LONG");
    }
}
