using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;
using Parley.Core.Membership;
using Parley.Server.Tests.Infrastructure;

namespace Parley.Server.Tests;

[Collection(SharedServerCollection.Name)]
public sealed class EmbeddedAuthorizationMatrixTests(SharedServer fixture) : AuthorizationMatrixTests(fixture.Server);

[Collection(ProductionServerCollection.Name)]
public sealed class ProductionAuthorizationMatrixTests(ProductionServer fixture) : AuthorizationMatrixTests(fixture.Server);

/// <summary>
/// S2 and M5: every conversation action × every kind × every standing a caller can have, against the permission table.
/// The expected answer comes from <see cref="ConversationPermissions"/>, and every action of the table must have a
/// call here (<see cref="CallAsync"/> throws for one it lacks), so a new action cannot ship untested.
/// </summary>
public abstract class AuthorizationMatrixTests(TestServer server) : IAsyncLifetime
{
    private readonly ParleyClient _client = server.Client();
    private readonly Dictionary<string, Session> _users = [];

    /// <summary>The standings: no relation, once a member, and each role. A direct conversation has only the first and "member".</summary>
    public static readonly string[] Standings = ["stranger", "removed", ParticipantRoles.Member, ParticipantRoles.Moderator, ParticipantRoles.Admin, ParticipantRoles.Owner];

    public static TheoryData<string> Kinds => new(ConversationTypes.All);

    public async Task InitializeAsync()
    {
        // Users are shared by every cell (a sign-up hashes a password, slowly); each cell gets a conversation of its own.
        foreach (var name in Standings.Append("target").Append("outsider"))
        {
            _users[name] = await _client.SignUpAsync();
        }
    }

    public Task DisposeAsync()
    {
        _client.Dispose();
        return Task.CompletedTask;
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Every_action_is_allowed_or_refused_exactly_as_the_permission_table_says(string kind)
    {
        var wrong = new List<string>();
        foreach (var action in Enum.GetValues<ConversationAction>())
        {
            foreach (var standing in Standings)
            {
                if (kind == ConversationTypes.Direct && standing is not ("stranger" or ParticipantRoles.Member))
                {
                    continue;
                }

                var conversation = await ConversationAsync(kind);
                var (status, code) = await CallAsync(action, conversation, _users[standing]);
                var expected = Expected(kind, standing, action);
                if (status != expected.Status || code != expected.Code)
                {
                    wrong.Add($"{kind} × {standing} × {action}: got {(int)status} {code}, expected {(int)expected.Status} {expected.Code}");
                }

                foreach (var method in HubMethods.GetValueOrDefault(action) ?? [])
                {
                    var (hubStatus, hubCode) = await CallHubAsync(method, await ConversationAsync(kind), _users[standing]);
                    if ((hubStatus == HttpStatusCode.OK) != (expected.Status == HttpStatusCode.OK) || hubCode != expected.Code)
                    {
                        wrong.Add($"{kind} × {standing} × {action} (hub {method}): got {hubCode}, expected {expected.Code}");
                    }
                }
            }
        }

        Assert.True(wrong.Count == 0, string.Join('\n', wrong));
    }

    private static (HttpStatusCode Status, string? Code) Expected(string kind, string standing, ConversationAction action) =>
        // An action on a message does not confirm to an outsider that the message exists.
        standing is "stranger" or "removed" && action is ConversationAction.DeleteOthersMessages or ConversationAction.Pin ? (HttpStatusCode.NotFound, "MESSAGE_NOT_FOUND")
        : standing is "stranger" or "removed" ? (HttpStatusCode.Forbidden, "NOT_CONVERSATION_MEMBER")
        : ConversationPermissions.Can(kind, standing, action) ? (HttpStatusCode.OK, null)
        : (HttpStatusCode.Forbidden, "FORBIDDEN_ROLE");

    /// <summary>
    /// A fresh conversation of <paramref name="kind"/>: the owner, an admin, a moderator, the plain members "member" and
    /// "target" (whom actions act on), and "removed", who was a member; for a direct one, "owner" and "member".
    /// </summary>
    private async Task<Guid> ConversationAsync(string kind)
    {
        var owner = _users[ParticipantRoles.Owner];
        if (kind == ConversationTypes.Direct)
        {
            // A direct conversation is one per pair: a fresh pair each time, so an earlier cell cannot leave it changed.
            var me = await _client.SignUpAsync();
            _users[ParticipantRoles.Member] = me;
            return (await _client.DirectAsync(me, owner.UserId)).Id;
        }

        var ids = new[] { ParticipantRoles.Admin, ParticipantRoles.Moderator, ParticipantRoles.Member, "target", "removed" }.Select(n => _users[n].UserId).ToArray();
        var id = (await _client.OkAsync<JsonElement>(HttpMethod.Post, "/api/v1/conversations", owner, new { type = kind, memberIds = ids, title = "matrix" },
            HttpStatusCode.Created)).GetProperty("id").GetGuid();
        await _client.OkAsync<JsonElement>(HttpMethod.Patch, $"/api/v1/conversations/{id}/members/{_users[ParticipantRoles.Admin].UserId}", owner, new { role = ParticipantRoles.Admin });
        await _client.OkAsync<JsonElement>(HttpMethod.Patch, $"/api/v1/conversations/{id}/members/{_users[ParticipantRoles.Moderator].UserId}", owner, new { role = ParticipantRoles.Moderator });
        await _client.OkAsync<JsonElement>(HttpMethod.Delete, $"/api/v1/conversations/{id}/members/{_users["removed"].UserId}", owner);
        return id;
    }

    /// <summary>The hub methods that act on a conversation, by the action the table asks about.</summary>
    private static readonly Dictionary<ConversationAction, string[]> HubMethods = new()
    {
        [ConversationAction.Send] = ["SendMessage", "Typing"],
        [ConversationAction.Read] = ["MarkRead", "AckDelivered"],
        [ConversationAction.DeleteOthersMessages] = ["DeleteMessage"],
    };

    /// <summary>
    /// A message someone else sent in the conversation (the admin, who may send in every kind; in a direct conversation
    /// the owner), for the actions on another member's message. Not waited for: a change may name a message still in the log.
    /// </summary>
    private async Task<Guid> OthersMessageAsync(Guid conversation, Session who)
    {
        var sender = _users[ParticipantRoles.Admin].UserId == who.UserId || !await IsMemberAsync(conversation, _users[ParticipantRoles.Admin])
            ? _users[ParticipantRoles.Owner]
            : _users[ParticipantRoles.Admin];
        return (await _client.SendAsync(sender, conversation, "someone else's")).MessageId;
    }

    private async Task<bool> IsMemberAsync(Guid conversation, Session who)
    {
        using var response = await _client.SendRawAsync(HttpMethod.Get, $"/api/v1/conversations/{conversation}", who);
        return response.IsSuccessStatusCode;
    }

    private async Task<(HttpStatusCode Status, string? Code)> CallHubAsync(string method, Guid id, Session who)
    {
        await using var device = await _client.ConnectAsync(who);
        try
        {
            switch (method)
            {
                case "SendMessage":
                    await device.Connection.InvokeAsync<Ack>(method, new { ConversationId = id, Content = "via hub" });
                    break;
                case "Typing":
                    await device.Connection.InvokeAsync(method, id, true);
                    break;
                case "DeleteMessage":
                    await device.Connection.InvokeAsync<JsonElement>(method, await OthersMessageAsync(id, who), null);
                    break;
                default:
                    await device.Connection.InvokeAsync<JsonElement>(method, id, 1L);
                    break;
            }

            return (HttpStatusCode.OK, null);
        }
        catch (HubException e)
        {
            var code = e.Message[(e.Message.IndexOf("HubException: ", StringComparison.Ordinal) + "HubException: ".Length)..].Split(':')[0];
            return (HttpStatusCode.Forbidden, code);
        }
    }

    private async Task<(HttpStatusCode Status, string? Code)> CallAsync(ConversationAction action, Guid id, Session who)
    {
        var target = _users["target"].UserId;
        var c = $"/api/v1/conversations/{id}";
        var (method, path, body) = action switch
        {
            ConversationAction.Read => (HttpMethod.Get, c, (object?)null),
            ConversationAction.Send => (HttpMethod.Post, $"{c}/messages", new { content = "hello" }),
            ConversationAction.AddMembers => (HttpMethod.Post, $"{c}/members", new { userIds = new[] { _users["outsider"].UserId } }),
            ConversationAction.RemoveMembers => (HttpMethod.Delete, $"{c}/members/{target}", null),
            ConversationAction.ChangeRoles => (HttpMethod.Patch, $"{c}/members/{target}", new { role = ParticipantRoles.Moderator }),
            ConversationAction.TransferOwnership => (HttpMethod.Post, $"{c}/owner", new { userId = target }),
            ConversationAction.EditConversation => (HttpMethod.Patch, c, new { title = "renamed", description = "about" }),
            ConversationAction.ChangeStatus => (HttpMethod.Patch, c, new { status = ConversationStatuses.Archived }),
            ConversationAction.Leave => (HttpMethod.Post, $"{c}/leave", null),
            ConversationAction.CreateInvites => (HttpMethod.Post, $"{c}/invites", new { maxUses = 5 }),
            ConversationAction.Pin => (HttpMethod.Put, $"{c}/pins/{await OthersMessageAsync(id, who)}", null),
            ConversationAction.DeleteOthersMessages => (HttpMethod.Delete, $"/api/v1/messages/{await OthersMessageAsync(id, who)}?for=everyone", null),
            ConversationAction.SetMessageTtl => (HttpMethod.Patch, c, new { messageTtlSeconds = 86400 }),
            ConversationAction.ModerateReports => (HttpMethod.Get, $"/api/v1/moderation/reports?conversationId={id}", null),
            _ => throw new InvalidOperationException($"The matrix has no call for {action}: add one (and its row in docs/permissions.md)."),
        };

        using var response = await _client.SendRawAsync(method, path, who, body is null ? null : JsonSerializer.Serialize(body));
        if (response.IsSuccessStatusCode)
        {
            if (action == ConversationAction.Read)
            {
                // Reading is more than the conversation: its history answers the same.
                using var history = await _client.SendRawAsync(HttpMethod.Get, $"{c}/messages", who);
                Assert.True(history.IsSuccessStatusCode, $"history answered {history.StatusCode} where the conversation answered {response.StatusCode}");
            }

            return (HttpStatusCode.OK, null);
        }

        var problem = await response.Content.ReadFromJsonAsync<Problem>();
        return (response.StatusCode, problem?.Code);
    }
}
