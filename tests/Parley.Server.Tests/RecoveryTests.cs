using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.SignalR.Client;
using Parley.Server.Tests.Infrastructure;

namespace Parley.Server.Tests;

public sealed record SyncConversationDto(Guid ConversationId, string Status, long FromSequence, long LatestSequence, List<Message> Messages);

public sealed record SyncDto(List<SyncConversationDto> Conversations);

/// <summary>Issue 6: recovery from one "since" time on the hub, and the same recovery over REST for clients offline long.</summary>
public sealed class RecoveryTests(SharedServer shared) : IClassFixture<SharedServer>
{
    private TestServer Server => shared.Server;

    /// <summary>Three conversations: two messages each before the returned time, then 4, 0 and 6 after it.</summary>
    private static async Task<(Session Me, Guid[] Conversations, DateTimeOffset Since)> AwayAsync(ParleyClient client)
    {
        var me = await client.SignUpAsync();
        var peer = await client.SignUpAsync();
        var conversations = new Guid[3];
        for (var i = 0; i < 3; i++)
        {
            conversations[i] = (await client.GroupAsync(peer, $"g{i}", me.UserId)).Id;
            await client.SendAsync(peer, conversations[i], "old 1");
            await client.SendAsync(peer, conversations[i], "old 2");
        }

        var newest = DateTimeOffset.MinValue;
        foreach (var c in conversations)
        {
            var stored = await client.WaitForStoredAsync(me, c, 2);
            newest = Max(newest, (await client.OkAsync<JsonElement>(HttpMethod.Get, $"/api/v1/conversations/{c}/messages?after={stored.Max(m => m.Sequence) - 1}", me))
                .GetProperty("items").EnumerateArray().Max(m => m.GetProperty("sentAt").GetDateTimeOffset()));
        }

        // Just after the newest old message, and strictly before anything sent from now on (no pause to guess it).
        var since = newest.AddMilliseconds(1);
        await RealtimeTests.Until(() => DateTimeOffset.UtcNow > since);
        Assert.True(DateTimeOffset.UtcNow > since);
        for (var n = 0; n < 6; n++)
        {
            if (n < 4)
            {
                await client.SendAsync(peer, conversations[0], $"new {n}");
            }

            await client.SendAsync(peer, conversations[2], $"new {n}");
        }

        await client.WaitForStoredAsync(me, conversations[0], 6);
        await client.WaitForStoredAsync(me, conversations[2], 8);
        return (me, conversations, since);
    }

    private static DateTimeOffset Max(DateTimeOffset a, DateTimeOffset b) => a > b ? a : b;

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ResumeSince_replays_every_conversation_from_its_first_message_sent_since_then_in_order_once(bool messagePack)
    {
        using var client = Server.Client();
        var (me, conversations, since) = await AwayAsync(client);

        var device = await RealtimeTests.ConnectAsync(Server.BaseAddress, me, messagePack, resume: true);
        var results = await device.Connection.InvokeAsync<List<ResumeResultDto>>("ResumeSince", since.ToString("O"));

        Assert.Equal(2, results.Count); // the conversation with nothing new is not listed
        Assert.Contains(new ResumeResultDto(conversations[0], "recovered", 2, 6, 4), results);
        Assert.Contains(new ResumeResultDto(conversations[2], "recovered", 2, 8, 6), results);
        await RealtimeTests.Until(() => device.Messages.Count >= 10);
        await client.SendAsync(me, conversations[1], "live"); // then live, for a conversation Resume did not list
        await RealtimeTests.Until(() => device.Messages.Count >= 11);
        // End markers in the replayed conversations: a duplicate would have come before them.
        await RealtimeTests.SentinelAsync(client, me, conversations[0], device.Messages);
        await RealtimeTests.SentinelAsync(client, me, conversations[2], device.Messages);
        await RealtimeTests.SentinelAsync(client, me, conversations[1], device.Messages);
        Assert.Equal([3L, 4, 5, 6, 7], device.Messages.Where(m => m.ConversationId == conversations[0]).Select(m => m.Sequence));
        Assert.Equal([3L, 4, 5, 6, 7, 8, 9], device.Messages.Where(m => m.ConversationId == conversations[2]).Select(m => m.Sequence));
        Assert.Equal([3L, 4], device.Messages.Where(m => m.ConversationId == conversations[1]).Select(m => m.Sequence));
        await device.Connection.DisposeAsync();
    }

    [Fact]
    public async Task ResumeSince_a_time_after_every_message_lists_nothing_and_the_connection_goes_live()
    {
        using var client = Server.Client();
        var (me, peer) = (await client.SignUpAsync(), await client.SignUpAsync());
        var conversation = await client.DirectAsync(peer, me.UserId);
        await client.SendAsync(peer, conversation.Id, "old");
        await client.WaitForStoredAsync(me, conversation.Id, 1);
        var device = await RealtimeTests.ConnectAsync(Server.BaseAddress, me, messagePack: false, resume: true);
        Assert.Empty(await device.Connection.InvokeAsync<List<ResumeResultDto>>("ResumeSince", DateTimeOffset.UtcNow.AddDays(1).ToString("O")));
        await client.SendAsync(peer, conversation.Id, "live");
        await RealtimeTests.Until(() => !device.Messages.IsEmpty);
        Assert.Equal("live", Assert.Single(device.Messages).Content);
        await device.Connection.DisposeAsync();
    }

    [Fact]
    public async Task Sync_over_REST_pages_a_long_absence_by_positions_until_recovered()
    {
        using var client = Server.Client();
        var (me, conversations, _) = await AwayAsync(client);
        var got = new List<Message>();
        var position = 0L;
        var rounds = 0;
        while (true)
        {
            rounds++;
            var sync = await client.OkAsync<SyncDto>(HttpMethod.Post, "/api/v1/sync", me,
                new { positions = new[] { new { conversationId = conversations[2], lastSequence = position } }, limit = 3 });
            var answer = Assert.Single(sync.Conversations);
            Assert.Equal((position, 8L), (answer.FromSequence, answer.LatestSequence));
            got.AddRange(answer.Messages);
            position = got[^1].Sequence;
            if (answer.Status == "recovered")
            {
                break;
            }

            Assert.Equal("more", answer.Status);
        }

        Assert.Equal(3, rounds);
        Assert.Equal(Enumerable.Range(1, 8).Select(s => (long)s), got.Select(m => m.Sequence));
    }

    [Fact]
    public async Task Sync_over_REST_by_since_lists_only_conversations_with_messages_since_then()
    {
        using var client = Server.Client();
        var (me, conversations, since) = await AwayAsync(client);
        var sync = await client.OkAsync<SyncDto>(HttpMethod.Post, "/api/v1/sync", me, new { since });

        Assert.Equal([conversations[2], conversations[0]], sync.Conversations.Select(c => c.ConversationId)); // most recent activity first
        Assert.All(sync.Conversations, c => Assert.Equal("recovered", c.Status));
        Assert.Equal(["new 0", "new 1", "new 2", "new 3"], sync.Conversations[1].Messages.Select(m => m.Content));
        Assert.Equal(6, sync.Conversations[0].Messages.Count);
    }

    [Theory]
    [InlineData("{}", "INVALID_FIELD_VALUE")]
    [InlineData("""{"since":"2026-01-01T00:00:00Z","positions":[]}""", "INVALID_FIELD_VALUE")]
    [InlineData("""{"since":"yesterday"}""", "INVALID_FIELD_VALUE")]
    [InlineData("""{"since":5}""", "INVALID_FIELD_TYPE")]
    [InlineData("""{"positions":{}}""", "INVALID_FIELD_TYPE")]
    [InlineData("""{"positions":[5]}""", "INVALID_FIELD_TYPE")]
    [InlineData("""{"positions":[]}""", "MISSING_REQUIRED_FIELD")]
    [InlineData("""{"positions":[{"lastSequence":1}]}""", "MISSING_REQUIRED_FIELD")]
    [InlineData("""{"positions":[{"conversationId":"x","lastSequence":1}]}""", "INVALID_FIELD_VALUE")]
    [InlineData("""{"positions":[{"conversationId":"00000000-0000-0000-0000-000000000001","lastSequence":-1}]}""", "INVALID_FIELD_VALUE")]
    [InlineData("""{"since":"2026-01-01T00:00:00Z","limit":0}""", "INVALID_FIELD_VALUE")]
    public async Task Sync_over_REST_answers_bad_input_with_400_and_a_stable_code(string json, string code)
    {
        using var client = Server.Client();
        var me = await client.SignUpAsync();
        using var response = await client.SendRawAsync(HttpMethod.Post, "/api/v1/sync", me, json);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(code, JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("code").GetString());
    }

    [Fact]
    public async Task Sync_over_REST_of_a_conversation_the_user_is_not_in_is_refused_like_history()
    {
        using var client = Server.Client();
        var (a, b, outsider) = (await client.SignUpAsync(), await client.SignUpAsync(), await client.SignUpAsync());
        var conversation = await client.DirectAsync(a, b.UserId);
        using var response = await client.SendRawAsync(HttpMethod.Post, "/api/v1/sync", outsider,
            JsonSerializer.Serialize(new { positions = new[] { new { conversationId = conversation.Id, lastSequence = 0 } } }));
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        using var unknown = await client.SendRawAsync(HttpMethod.Post, "/api/v1/sync", outsider,
            JsonSerializer.Serialize(new { positions = new[] { new { conversationId = Guid.NewGuid(), lastSequence = 0 } } }));
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
    }

    public static TheoryData<string> BadPositions => ["negative", "unknown", "stranger", "no conversation"];

    [Theory]
    [MemberData(nameof(BadPositions))]
    public async Task Resume_and_sync_over_REST_answer_the_same_bad_position_with_the_same_code_and_message(string bad)
    {
        using var client = Server.Client();
        var (me, peer, outsider) = (await client.SignUpAsync(), await client.SignUpAsync(), await client.SignUpAsync());
        var mine = await client.DirectAsync(me, peer.UserId);
        var theirs = await client.DirectAsync(peer, outsider.UserId);
        var position = bad switch
        {
            "negative" => new ResumePositionDto { ConversationId = mine.Id, LastSequence = -1 },
            "unknown" => new ResumePositionDto { ConversationId = Guid.NewGuid() },
            "stranger" => new ResumePositionDto { ConversationId = theirs.Id },
            _ => new ResumePositionDto { LastSequence = 1 },
        };
        var (code, message) = await HubErrorAsync(me, () => new object[] { new[] { position } }, "Resume");

        var json = bad == "no conversation"
            ? """{"positions":[{"lastSequence":1}]}"""
            : JsonSerializer.Serialize(new { positions = new[] { new { conversationId = position.ConversationId, lastSequence = position.LastSequence } } });
        using var response = await client.SendRawAsync(HttpMethod.Post, "/api/v1/sync", me, json);
        var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(code, problem.GetProperty("code").GetString());
        Assert.Equal(message, problem.GetProperty("detail").GetString());
    }

    [Theory]
    [InlineData("yesterday")]
    [InlineData("2026-01-01T00:00:00")] // no offset: whose midnight?
    [InlineData("2026-01-01")]
    [InlineData("2026-01-01T00:00:00+0100")]
    public async Task ResumeSince_and_sync_over_REST_refuse_the_same_since_with_the_same_code_and_message(string since)
    {
        using var client = Server.Client();
        var me = await client.SignUpAsync();
        var (code, message) = await HubErrorAsync(me, () => [since], "ResumeSince");
        Assert.Equal("INVALID_FIELD_VALUE", code);

        using var response = await client.SendRawAsync(HttpMethod.Post, "/api/v1/sync", me, JsonSerializer.Serialize(new { since }));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal((code, message), (problem.GetProperty("code").GetString(), problem.GetProperty("detail").GetString()));
        Assert.Equal("since", problem.GetProperty("details").GetProperty("field").GetString());
    }

    /// <summary>The code and message of a hub call's refusal ("… HubException: CODE: message").</summary>
    private async Task<(string Code, string Message)> HubErrorAsync(Session me, Func<object?[]> arguments, string method)
    {
        var device = await RealtimeTests.ConnectAsync(Server.BaseAddress, me, messagePack: false, resume: false);
        try
        {
            var error = await Assert.ThrowsAsync<Microsoft.AspNetCore.SignalR.HubException>(() => device.Connection.InvokeCoreAsync<List<ResumeResultDto>>(method, arguments()));
            var text = error.Message[(error.Message.IndexOf("HubException: ", StringComparison.Ordinal) + "HubException: ".Length)..];
            var colon = text.IndexOf(": ", StringComparison.Ordinal);
            return (text[..colon], text[(colon + 2)..]);
        }
        finally
        {
            await device.Connection.DisposeAsync();
        }
    }
}
