using System.Net;
using System.Text.Json;
using Parley.Server.Tests.Infrastructure;

namespace Parley.Server.Tests;

[Collection(SharedServerCollection.Name)]
public sealed class EmbeddedPollsTests(SharedServer fixture) : PollsTests(fixture.Server);

[Collection(ProductionServerCollection.Name)]
public sealed class ProductionPollsTests(ProductionServer fixture) : PollsTests(fixture.Server);

/// <summary>
/// Polls (M9): a poll is a message; votes are changes through the log, applied after it, counted exactly, shown to
/// every device as pollUpdated, with voters named only when the poll is not anonymous.
/// </summary>
public abstract class PollsTests(TestServer server)
{
    private readonly ParleyClient _client = server.Client();

    [Fact]
    public async Task Votes_sent_right_after_the_poll_are_counted_once_each_and_reach_every_device_after_it()
    {
        var owner = await _client.SignUpAsync();
        var voters = await Task.WhenAll(Enumerable.Range(0, 5).Select(_ => _client.SignUpAsync()));
        var group = (await _client.GroupAsync(owner, "lunch", [.. voters.Select(v => v.UserId)])).Id;
        await using var phone = await EventLog.ConnectAsync(_client, voters[4]);

        var poll = await _client.SendBodyAsync(owner, group, new { content = "Lunch?", poll = new { options = new[] { "pizza", "sushi", "tacos" }, multipleAnswers = true } });
        await Task.WhenAll(voters.Select((v, i) => VoteAsync(v, poll, i % 3)));
        await VoteAsync(voters[0], poll, 1, 2);                       // changes its vote
        await _client.ChangeAsync(HttpMethod.Delete, $"/api/v1/messages/{poll}/votes", voters[1]);  // retracts

        var events = await phone.WaitAsync(e => e.Count(x => x.Name == "pollUpdated") == 7, "seven vote changes on a device");
        Assert.Equal("messageCreated", events[0].Name);
        var updates = events.Where(x => x.Name == "pollUpdated").Select(x => x.Payload).ToList();
        Assert.Equal(Enumerable.Range(1, 7).Select(i => (long)i), updates.Select(u => u.GetProperty("changeSequence").GetInt64()));
        Assert.Equal([1, 2, 2], updates[^1].GetProperty("counts").EnumerateArray().Select(c => c.GetInt32()));
        Assert.Equal(4, updates[^1].GetProperty("totalVoters").GetInt32());
        Assert.Equal(voters[1].UserId, updates[^1].GetProperty("userId").GetGuid());
        Assert.Empty(updates[^1].GetProperty("optionIds").EnumerateArray());

        var view = await _client.MessageViewAsync(voters[0], group, 1);
        Assert.Equal("poll", view.GetProperty("type").GetString());
        var shown = view.GetProperty("poll");
        Assert.Equal(["pizza:1", "sushi:2", "tacos:2"], shown.GetProperty("options").EnumerateArray().Select(o => $"{o.GetProperty("text").GetString()}:{o.GetProperty("count").GetInt32()}"));
        Assert.Equal([1, 2], shown.GetProperty("myVotes").EnumerateArray().Select(o => o.GetInt32()));
        var results = await _client.OkAsync<JsonElement>(HttpMethod.Get, $"/api/v1/messages/{poll}/votes", owner);
        Assert.Equal(new[] { voters[0].UserId, voters[2].UserId }.Order(), results.GetProperty("options")[2].GetProperty("voters").EnumerateArray().Select(v => v.GetGuid()).Order());
        Assert.False(results.GetProperty("closed").GetBoolean());
    }

    [Fact]
    public async Task An_anonymous_single_answer_poll_names_no_voter_refuses_two_answers_and_closes_on_time()
    {
        var (owner, voter) = (await _client.SignUpAsync(), await _client.SignUpAsync());
        var direct = (await _client.DirectAsync(owner, voter.UserId)).Id;
        await using var phone = await EventLog.ConnectAsync(_client, owner);
        var closesAt = DateTimeOffset.UtcNow.AddSeconds(3);
        var poll = await _client.SendBodyAsync(owner, direct, new { content = "Secret ballot", poll = new { options = new[] { "yes", "no" }, anonymous = true, closesAt } });
        await _client.WaitForStoredAsync(voter, direct, 1);

        await ProblemAssert.IsAsync(await _client.SendRawAsync(HttpMethod.Post, $"/api/v1/messages/{poll}/votes", voter,
            JsonSerializer.Serialize(new { optionIds = new[] { 0, 1 } })), HttpStatusCode.BadRequest, "INVALID_FIELD_VALUE");
        await VoteAsync(voter, poll, 0);
        var update = (await phone.WaitAsync(e => e.Any(x => x.Name == "pollUpdated"), "the anonymous vote")).Single(x => x.Name == "pollUpdated").Payload;
        Assert.False(update.TryGetProperty("userId", out _));
        Assert.False(update.TryGetProperty("optionIds", out _));
        var results = await _client.OkAsync<JsonElement>(HttpMethod.Get, $"/api/v1/messages/{poll}/votes", owner);
        Assert.False(results.GetProperty("options")[0].TryGetProperty("voters", out _));
        Assert.Equal(1, results.GetProperty("options")[0].GetProperty("count").GetInt32());
        Assert.Equal([0], (await _client.OkAsync<JsonElement>(HttpMethod.Get, $"/api/v1/messages/{poll}/votes", voter)).GetProperty("myVotes").EnumerateArray().Select(v => v.GetInt32()));

        // Stored: a vote on a message still in the log is checked only when it is applied (and dead-lettered there).
        var text = (await _client.SendAsync(owner, direct, "not a poll")).MessageId;
        await _client.WaitForStoredAsync(voter, direct, 2);
        await ProblemAssert.IsAsync(await _client.SendRawAsync(HttpMethod.Post, $"/api/v1/messages/{text}/votes", voter,
            JsonSerializer.Serialize(new { optionIds = new[] { 0 } })), HttpStatusCode.Conflict, "NOT_A_POLL");

        await Eventually.TrueAsync(() => DateTimeOffset.UtcNow > closesAt, "the poll's closing time to pass");
        await ProblemAssert.IsAsync(await _client.SendRawAsync(HttpMethod.Post, $"/api/v1/messages/{poll}/votes", voter,
            JsonSerializer.Serialize(new { optionIds = new[] { 1 } })), HttpStatusCode.Conflict, "POLL_CLOSED");
        Assert.True((await _client.OkAsync<JsonElement>(HttpMethod.Get, $"/api/v1/messages/{poll}/votes", owner)).GetProperty("closed").GetBoolean());
    }

    private Task<JsonElement> VoteAsync(Session who, Guid poll, params int[] optionIds) =>
        _client.ChangeAsync(HttpMethod.Post, $"/api/v1/messages/{poll}/votes", who, new { optionIds });
}
