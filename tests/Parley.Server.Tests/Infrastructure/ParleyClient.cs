using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;

namespace Parley.Server.Tests.Infrastructure;

public sealed record Session(Guid UserId, string Username, string AccessToken, string RefreshToken);

public sealed record Ack(Guid MessageId, Guid CorrelationId, string State, DateTimeOffset AcceptedAt, string IdempotencyKey, bool IdempotentHit, string StatusUrl, int Partition);

public sealed record Message(Guid Id, Guid ConversationId, long Sequence, Guid SenderId, string Type, string Content, object? Metadata, string? ClientMessageId, Guid CorrelationId);

public sealed record MessagePage(List<Message> Items, bool HasMore, long? NextBefore, long? NextAfter);

public sealed record Conversation(Guid Id, string Type, string? Title, string Status, long LastSequence, List<Guid> MemberIds, long UnreadCount, Message? LastMessage);

public sealed record ConversationPage(List<Conversation> Items, string? NextCursor);

public sealed record Receipt(Guid ConversationId, Guid UserId, string State, long UpToSequence, long LastDeliveredSequence, long LastReadSequence, long UnreadCount);

public sealed record MessageStatus(Guid MessageId, Guid ConversationId, string State, long? Sequence, int RecipientCount, int DeliveredCount, int ReadCount);

public sealed record Problem(int Status, string Code, string Detail, JsonElement? Details);

/// <summary>A thin REST + SignalR client over the real wire protocol, used by every end-to-end test.</summary>
public sealed class ParleyClient(Uri baseAddress) : IDisposable
{
    private static readonly JsonSerializerOptions Json = JsonSerializerOptions.Web;

    public HttpClient Http { get; } = new() { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(30) };

    public Uri BaseAddress => baseAddress;

    public async Task<Session> SignUpAsync(string? prefix = null)
    {
        var username = (prefix ?? "u") + Guid.NewGuid().ToString("N")[..16];
        var register = await Http.PostAsJsonAsync("/api/v1/auth/register", new { username, password = "correct horse" });
        Assert.Equal(HttpStatusCode.Created, register.StatusCode);
        return await LoginAsync(username, "correct horse");
    }

    public async Task<Session> LoginAsync(string username, string password)
    {
        var login = await Http.PostAsJsonAsync("/api/v1/auth/login", new { username, password });
        Assert.Equal(HttpStatusCode.OK, login.StatusCode);
        var body = await login.Content.ReadFromJsonAsync<JsonElement>(Json);
        return new Session(body.GetProperty("userId").GetGuid(), username, body.GetProperty("accessToken").GetString()!, body.GetProperty("refreshToken").GetString()!);
    }

    public Task<HttpResponseMessage> SendRawAsync(HttpMethod method, string path, Session? as_, string? json = null, string contentType = "application/json")
    {
        var request = new HttpRequestMessage(method, path);
        if (as_ is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", as_.AccessToken);
        }

        if (json is not null)
        {
            request.Content = new StringContent(json, Encoding.UTF8);
            request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        }

        return Http.SendAsync(request);
    }

    public async Task<T> OkAsync<T>(HttpMethod method, string path, Session? as_, object? body = null, HttpStatusCode expected = HttpStatusCode.OK)
    {
        using var response = await SendRawAsync(method, path, as_, body is null ? null : JsonSerializer.Serialize(body, Json));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == expected, $"{method} {path}: expected {(int)expected}, got {(int)response.StatusCode}: {text}");
        return JsonSerializer.Deserialize<T>(text, Json)!;
    }

    public Task<Conversation> DirectAsync(Session me, Guid other) =>
        OkAsync<Conversation>(HttpMethod.Post, "/api/v1/conversations", me, new { type = "direct", memberIds = new[] { other } }, HttpStatusCode.Created);

    public Task<Conversation> GroupAsync(Session me, string title, params Guid[] members) =>
        OkAsync<Conversation>(HttpMethod.Post, "/api/v1/conversations", me, new { type = "group", title, memberIds = members }, HttpStatusCode.Created);

    public Task<Ack> SendAsync(Session me, Guid conversationId, string content, string? clientMessageId = null) =>
        OkAsync<Ack>(HttpMethod.Post, $"/api/v1/conversations/{conversationId}/messages", me, new { content, clientMessageId }, HttpStatusCode.Accepted);

    /// <summary>
    /// Sends as a real client does across a server crash: an attempt that got no answer is retried with the same client
    /// id until one is acknowledged; the test fails if none is within <paramref name="within"/>.
    /// </summary>
    public Task<Ack> SendUntilAcknowledgedAsync(Session me, Guid conversationId, string content, string clientMessageId, TimeSpan within, Action? failedAttempt = null) =>
        UntilAcknowledgedAsync(() => SendAsync(me, conversationId, content, clientMessageId), clientMessageId, within, failedAttempt);

    /// <summary>
    /// Sends <paramref name="total"/> messages (client ids m0000, m0001, …) round-robin over <paramref name="conversations"/>,
    /// one task per conversation, each as a client does across a crash, and records each acknowledged message id in
    /// <paramref name="acked"/>. The second half first waits for <paramref name="secondHalf"/> (a kill): on a loaded
    /// machine the first half could otherwise all be acknowledged before the kill, which then comes after the stream.
    /// </summary>
    public Task SendAcrossAKillAsync(Session sender, IReadOnlyList<Guid> conversations, int total, Task secondHalf, ConcurrentDictionary<string, Guid> acked) =>
        Task.WhenAll(Enumerable.Range(0, conversations.Count).Select(s => Task.Run(async () =>
        {
            for (var i = s; i < total; i += conversations.Count)
            {
                if (i >= total / 2)
                {
                    await secondHalf;
                }

                var clientId = $"m{i:D4}";
                acked[clientId] = (await SendUntilAcknowledgedAsync(sender, conversations[i % conversations.Count], $"message {i}", clientId, TimeSpan.FromSeconds(120))).MessageId;
            }
        })));

    /// <summary>
    /// A change (PATCH, DELETE ?for=everyone, PUT or DELETE of a reaction) made as a real client makes it across a server
    /// crash: the same request (the same clientChangeId where it has one) until it is acknowledged with 202.
    /// </summary>
    public Task<JsonElement> ChangeUntilAcknowledgedAsync(Session me, HttpMethod method, string path, object? body, TimeSpan within, Action? failedAttempt = null) =>
        UntilAcknowledgedAsync(() => OkAsync<JsonElement>(method, path, me, body, HttpStatusCode.Accepted), $"{method} {path}", within, failedAttempt);

    private static async Task<T> UntilAcknowledgedAsync<T>(Func<Task<T>> attempt, string what, TimeSpan within, Action? failedAttempt)
    {
        var retryUntil = DateTime.UtcNow + within;
        while (true)
        {
            Assert.True(DateTime.UtcNow < retryUntil, $"{what} was not acknowledged within {within.TotalSeconds:0} s");
            try
            {
                return await attempt();
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or IOException)
            {
                failedAttempt?.Invoke();
                await Task.Delay(100); // a client's back-off between retries while the server is down, not a wait for a condition
            }
        }
    }

    public Task<MessagePage> HistoryAsync(Session me, Guid conversationId, string query = "") =>
        OkAsync<MessagePage>(HttpMethod.Get, $"/api/v1/conversations/{conversationId}/messages{query}", me);

    /// <summary>Every stored message of the conversation, walking forward from the start.</summary>
    public async Task<List<Message>> AllMessagesAsync(Session me, Guid conversationId)
    {
        var all = new List<Message>();
        long after = 0;
        while (true)
        {
            var page = await HistoryAsync(me, conversationId, $"?after={after}&limit=200");
            all.AddRange(page.Items);
            if (!page.HasMore)
            {
                return all;
            }

            after = page.Items[^1].Sequence;
        }
    }

    /// <summary>A send with a body of the caller's making (replyTo, expiresAt, poll, …): the accepted message's id.</summary>
    public async Task<Guid> SendBodyAsync(Session me, Guid conversationId, object body) =>
        (await OkAsync<JsonElement>(HttpMethod.Post, $"/api/v1/conversations/{conversationId}/messages", me, body, HttpStatusCode.Accepted)).GetProperty("messageId").GetGuid();

    /// <summary>A change through the log (edit, delete, reaction, pin, vote): its 202 ack.</summary>
    public Task<JsonElement> ChangeAsync(HttpMethod method, string path, Session me, object? body = null) =>
        OkAsync<JsonElement>(method, path, me, body, HttpStatusCode.Accepted);

    /// <summary>
    /// The message at <paramref name="sequence"/> as the history page shows it to <paramref name="me"/>, every field as
    /// sent, once it is stored: callers poll it right after a send (a page without it threw inside their waits).
    /// </summary>
    public async Task<JsonElement> MessageViewAsync(Session me, Guid conversationId, long sequence)
    {
        JsonElement found = default;
        await Eventually.TrueAsync(async () =>
        {
            var items = (await OkAsync<JsonElement>(HttpMethod.Get, $"/api/v1/conversations/{conversationId}/messages?after={sequence - 1}&limit=1", me)).GetProperty("items");
            if (items.GetArrayLength() == 0)
            {
                return false;
            }

            found = items[0];
            return true;
        }, $"message {sequence} of conversation {conversationId} to be stored");
        return found;
    }

    public async Task<long> UnreadCountAsync(Session me, Guid conversationId) =>
        (await ConversationsAsync(me)).Items.Single(c => c.Id == conversationId).UnreadCount;

    public Task<ConversationPage> ConversationsAsync(Session me, string query = "") =>
        OkAsync<ConversationPage>(HttpMethod.Get, $"/api/v1/conversations{query}", me);

    public Task<Receipt> ReadAsync(Session me, Guid conversationId, long upTo) =>
        OkAsync<Receipt>(HttpMethod.Post, $"/api/v1/conversations/{conversationId}/read", me, new { upToSequence = upTo });

    public Task<MessageStatus> StatusAsync(Session me, Guid messageId) =>
        OkAsync<MessageStatus>(HttpMethod.Get, $"/api/v1/messages/{messageId}/status", me);

    /// <summary>Waits until the conversation holds at least <paramref name="count"/> stored messages.</summary>
    public async Task<List<Message>> WaitForStoredAsync(Session me, Guid conversationId, int count, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(30));
        while (true)
        {
            var all = await AllMessagesAsync(me, conversationId);
            if (all.Count >= count || DateTime.UtcNow > deadline)
            {
                return all;
            }

            await Task.Delay(50); // polling interval of a deadline-bounded wait; the caller asserts on what came back
        }
    }

    public async Task<Device> ConnectAsync(Session me, bool messagePack = false)
    {
        var device = new Device(me, BuildConnection(me, messagePack));
        await device.Connection.StartAsync();
        return device;
    }

    /// <summary>A hub connection for <paramref name="me"/>, not started: for a test that registers its own handlers first.</summary>
    public HubConnection BuildConnection(Session me, bool messagePack = false)
    {
        var builder = new HubConnectionBuilder()
            .WithUrl(new Uri(baseAddress, "/hubs/chat"), o =>
            {
                o.AccessTokenProvider = () => Task.FromResult<string?>(me.AccessToken);
                o.SkipNegotiation = true;
                o.Transports = HttpTransportType.WebSockets;
            });
        if (messagePack)
        {
            builder.AddMessagePackProtocol();
        }

        return builder.Build();
    }

    public void Dispose() => Http.Dispose();
}

/// <summary>One connected device: records every event it receives, in arrival order.</summary>
public sealed class Device : IAsyncDisposable
{
    private readonly ConcurrentQueue<Message> _messages = new();
    private readonly ConcurrentQueue<Receipt> _receipts = new();

    public Device(Session session, HubConnection connection)
    {
        Session = session;
        Connection = connection;
        connection.On<Message>("messageCreated", m => _messages.Enqueue(m));
        connection.On<Receipt>("receipt", r => _receipts.Enqueue(r));
    }

    public Session Session { get; }

    public HubConnection Connection { get; }

    public IReadOnlyList<Message> Messages => [.. _messages];

    public IReadOnlyList<Receipt> Receipts => [.. _receipts];

    public async Task<IReadOnlyList<Message>> WaitForMessagesAsync(Func<IReadOnlyList<Message>, bool> done, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(30));
        while (!done(Messages) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20); // polling interval, as above
        }

        return Messages;
    }

    public async Task<IReadOnlyList<Receipt>> WaitForReceiptsAsync(Func<IReadOnlyList<Receipt>, bool> done, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(30));
        while (!done(Receipts) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20); // polling interval, as above
        }

        return Receipts;
    }

    public async ValueTask DisposeAsync() => await Connection.DisposeAsync();
}

public static class ProblemAssert
{
    /// <summary>Asserts a Problem Details response with the given status and stable code.</summary>
    public static async Task<Problem> IsAsync(HttpResponseMessage response, HttpStatusCode status, string code)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == status, $"expected {(int)status} {code}, got {(int)response.StatusCode}: {text}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = JsonSerializer.Deserialize<Problem>(text, JsonSerializerOptions.Web)!;
        Assert.Equal(code, problem.Code);
        Assert.Equal((int)status, problem.Status);
        Assert.False(string.IsNullOrWhiteSpace(problem.Detail));
        return problem;
    }
}
