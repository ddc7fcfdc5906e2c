using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using CsCheck;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;
using Parley.Server.Contracts;
using Parley.Server.Tests.Infrastructure;

namespace Parley.Server.Tests;

[Collection(SharedServerCollection.Name)]
public sealed class EmbeddedTextFidelityTests(SharedServer fixture) : TextFidelityTests(fixture.Server);

[Collection(ProductionServerCollection.Name)]
public sealed class ProductionTextFidelityTests(ProductionServer fixture) : TextFidelityTests(fixture.Server);

/// <summary>
/// Issue 11: what the ingress acknowledges is stored on every engine and read back exactly (content and client id
/// string-equal, metadata byte-identical JSON text), through history, sync, the conversation list and both hub
/// protocols; what cannot be stored is refused with a documented 400.
/// </summary>
public abstract class TextFidelityTests(TestServer server)
{
    private readonly ParleyClient _client = server.Client();

    /// <summary>One message as sent: the body's raw JSON text plus what a reader must get back.</summary>
    internal sealed record SentMessage(Guid MessageId, string Content, string? ClientMessageId, string? Metadata);

    internal sealed record ReadMessage(Guid Id, long Sequence, string Content, string? ClientMessageId, string? Metadata);

    private async Task<HttpResponseMessage> PostBytesAsync(Session me, string path, byte[] body)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new ByteArrayContent(body) };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", me.AccessToken);
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        return await _client.Http.SendAsync(request);
    }

    private Task<HttpResponseMessage> SendJsonAsync(Session me, Guid conversationId, string json) =>
        PostBytesAsync(me, $"/api/v1/conversations/{conversationId}/messages", Encoding.UTF8.GetBytes(json));

    private async Task<(Session Alice, Session Bob, Guid Conversation)> PairAsync()
    {
        var alice = await _client.SignUpAsync("alice");
        var bob = await _client.SignUpAsync("bob");
        var conversation = await _client.DirectAsync(alice, bob.UserId);
        return (alice, bob, conversation.Id);
    }

    private static ReadMessage Read(JsonElement item) => new(
        item.GetProperty("id").GetGuid(),
        item.GetProperty("sequence").GetInt64(),
        item.GetProperty("content").GetString()!,
        item.GetProperty("clientMessageId").ValueKind == JsonValueKind.Null ? null : item.GetProperty("clientMessageId").GetString(),
        item.GetProperty("metadata").ValueKind == JsonValueKind.Null ? null : item.GetProperty("metadata").GetRawText());

    private static ReadMessage Read(Message m) => new(m.Id, m.Sequence, m.Content, m.ClientMessageId, m.Metadata switch
    {
        null => null,
        JsonElement { ValueKind: JsonValueKind.Null } => null,
        JsonElement e => e.GetRawText(),
        string s => s, // MessagePack carries metadata as its JSON text
        var other => throw new InvalidOperationException($"metadata arrived as {other.GetType()}"),
    });

    private async Task<JsonDocument> GetDocumentAsync(Session me, HttpMethod method, string path, string? body = null)
    {
        using var response = await _client.SendRawAsync(method, path, me, body);
        var bytes = await response.Content.ReadAsByteArrayAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{method} {path}: {(int)response.StatusCode} {Encoding.UTF8.GetString(bytes)}");
        Assert.Equal(response.Content.Headers.ContentLength, bytes.Length);
        return JsonDocument.Parse(bytes); // throws on a truncated body
    }

    private async Task<List<ReadMessage>> HistoryAsync(Session me, Guid conversation)
    {
        var all = new List<ReadMessage>();
        long after = 0;
        while (true)
        {
            using var page = await GetDocumentAsync(me, HttpMethod.Get, $"/api/v1/conversations/{conversation}/messages?after={after}&limit=200");
            all.AddRange(page.RootElement.GetProperty("items").EnumerateArray().Select(Read));
            if (!page.RootElement.GetProperty("hasMore").GetBoolean())
            {
                return all;
            }

            after = all[^1].Sequence;
        }
    }

    private async Task<List<ReadMessage>> SyncAsync(Session me, Guid conversation)
    {
        var all = new List<ReadMessage>();
        long from = 0;
        while (true)
        {
            using var sync = await GetDocumentAsync(me, HttpMethod.Post, "/api/v1/sync", $$"""{"positions":[{"conversationId":"{{conversation}}","lastSequence":{{from}}}],"limit":200}""");
            var entry = Assert.Single(sync.RootElement.GetProperty("conversations").EnumerateArray());
            all.AddRange(entry.GetProperty("messages").EnumerateArray().Select(Read));
            if (entry.GetProperty("status").GetString() != "more")
            {
                return all;
            }

            from = all[^1].Sequence;
        }
    }

    private async Task<ReadMessage?> LastMessageAsync(Session me, Guid conversation)
    {
        using var list = await GetDocumentAsync(me, HttpMethod.Get, "/api/v1/conversations?limit=100");
        var item = list.RootElement.GetProperty("items").EnumerateArray().Single(c => c.GetProperty("id").GetGuid() == conversation);
        var last = item.GetProperty("lastMessage");
        return last.ValueKind == JsonValueKind.Null ? null : Read(last);
    }

    private async Task<List<ReadMessage>> WaitForStoredAsync(Session me, Guid conversation, int count)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (true)
        {
            var all = await HistoryAsync(me, conversation);
            if (all.Count >= count || DateTime.UtcNow > deadline)
            {
                return all;
            }

            await Task.Delay(50);
        }
    }

    /// <summary>Every accepted message is readable, exactly as sent, on every read path and both hub protocols.</summary>
    private async Task AssertReadBackAsync(Session reader, Guid conversation, IReadOnlyCollection<SentMessage> accepted, params Device[] devices)
    {
        var byId = accepted.ToDictionary(s => s.MessageId);
        var history = await WaitForStoredAsync(reader, conversation, accepted.Count);
        Assert.Equal(accepted.Count, history.Count);
        foreach (var (path, read) in new[] { ("history", history), ("sync", await SyncAsync(reader, conversation)) })
        {
            Assert.Equal(accepted.Count, read.Count);
            foreach (var m in read)
            {
                Expect(path, byId[m.Id], m);
            }
        }

        var last = await LastMessageAsync(reader, conversation);
        Assert.NotNull(last);
        Assert.Equal(history[^1].Sequence, last.Sequence);
        Expect("lastMessage", byId[last.Id], last);

        foreach (var device in devices)
        {
            var pushed = await device.WaitForMessagesAsync(m => m.Count >= accepted.Count, TimeSpan.FromSeconds(60));
            Assert.Equal(accepted.Count, pushed.Count);
            foreach (var m in pushed)
            {
                Expect("messageCreated", byId[m.Id], Read(m));
            }
        }

        static void Expect(string path, SentMessage sent, ReadMessage read)
        {
            Assert.True(string.Equals(sent.Content, read.Content, StringComparison.Ordinal), $"{path}: content {Show(sent.Content)} came back as {Show(read.Content)}");
            Assert.True(string.Equals(sent.ClientMessageId, read.ClientMessageId, StringComparison.Ordinal), $"{path}: clientMessageId {Show(sent.ClientMessageId)} came back as {Show(read.ClientMessageId)}");
            Assert.True(string.Equals(sent.Metadata, read.Metadata, StringComparison.Ordinal), $"{path}: metadata {Show(sent.Metadata)} came back as {Show(read.Metadata)}");
        }
    }

    /// <summary>PascalCase, as MessagePack's contractless resolver matches member names exactly.</summary>
    private static HubSendMessage Hub(Guid conversation, string content, string? clientMessageId = null, string? metadata = null) =>
        new() { ConversationId = conversation, Content = content, ClientMessageId = clientMessageId, Metadata = metadata };

    internal static string Show(string? s) => s is null ? "null" : JsonSerializer.Serialize(s, JsonSerializerOptions.Web);

    private static async Task<string> ExpectHubErrorAsync(Func<Task> call)
    {
        var ex = await Assert.ThrowsAsync<HubException>(call);
        var match = System.Text.RegularExpressions.Regex.Match(ex.Message, "HubException: ([A-Z_]+):");
        Assert.True(match.Success, ex.Message);
        return match.Groups[1].Value;
    }

    [Fact]
    public async Task Content_with_a_nul_character_is_refused_with_invalid_text_over_rest_and_both_hub_protocols()
    {
        var (alice, _, conversation) = await PairAsync();
        using var response = await SendJsonAsync(alice, conversation, """{"content":"a\u0000b"}""");
        var problem = await ProblemAssert.IsAsync(response, HttpStatusCode.BadRequest, "INVALID_TEXT");
        Assert.Equal("content", problem.Details?.GetProperty("field").GetString());
        using var id = await SendJsonAsync(alice, conversation, """{"content":"ok","clientMessageId":"x\u0000"}""");
        await ProblemAssert.IsAsync(id, HttpStatusCode.BadRequest, "INVALID_TEXT");

        foreach (var messagePack in new[] { false, true })
        {
            await using var device = await _client.ConnectAsync(alice, messagePack);
            Assert.Equal("INVALID_TEXT", await ExpectHubErrorAsync(() => device.Connection.InvokeAsync<Ack>("SendMessage", Hub(conversation, "a\0b"))));
            Assert.Equal("INVALID_TEXT", await ExpectHubErrorAsync(() => device.Connection.InvokeAsync<Ack>("SendMessage", Hub(conversation, "ok", "\0"))));
            Assert.Equal("INVALID_TEXT", await ExpectHubErrorAsync(() => device.Connection.InvokeAsync<Ack>("SendMessage", Hub(conversation, "ok", metadata: """{"k":"\ud800"}"""))));
        }

        Assert.Empty(await HistoryAsync(alice, conversation));
    }

    /// <summary>
    /// A hub frame written by hand, as a non-.NET client could send it: the JSON protocol carries escapes and bytes the
    /// .NET client never produces.
    /// </summary>
    private async Task<(string? Completion, bool Closed)> RawJsonHubInvokeAsync(Session me, byte[] invocation)
    {
        using var socket = new System.Net.WebSockets.ClientWebSocket();
        var uri = new UriBuilder(new Uri(_client.BaseAddress, "/hubs/chat")) { Scheme = _client.BaseAddress.Scheme == "https" ? "wss" : "ws", Query = "access_token=" + me.AccessToken }.Uri;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await socket.ConnectAsync(uri, timeout.Token);
        await socket.SendAsync("{\"protocol\":\"json\",\"version\":1}\u001e"u8.ToArray(), System.Net.WebSockets.WebSocketMessageType.Text, true, timeout.Token);
        await socket.SendAsync(invocation, System.Net.WebSockets.WebSocketMessageType.Text, true, timeout.Token);
        var received = new List<byte>();
        var buffer = new byte[8192];
        while (true)
        {
            System.Net.WebSockets.WebSocketReceiveResult result;
            try
            {
                result = await socket.ReceiveAsync(buffer, timeout.Token);
            }
            catch (System.Net.WebSockets.WebSocketException)
            {
                return (null, true); // aborted without a close handshake
            }

            received.AddRange(buffer.AsSpan(0, result.Count).ToArray());
            var frames = Encoding.UTF8.GetString([.. received]).Split('\u001e', StringSplitOptions.RemoveEmptyEntries);
            var completion = frames.FirstOrDefault(f => f.Contains("\"invocationId\":\"1\"", StringComparison.Ordinal));
            if (completion is not null || result.MessageType == System.Net.WebSockets.WebSocketMessageType.Close)
            {
                return (completion, result.MessageType == System.Net.WebSockets.WebSocketMessageType.Close);
            }
        }
    }

    [Fact]
    public async Task A_lone_surrogate_in_a_json_hub_frame_is_refused_with_invalid_text_and_invalid_utf8_closes_the_socket()
    {
        var (alice, _, conversation) = await PairAsync();
        static byte[] Invocation(Guid conversation, byte[] content) =>
        [
            .. Encoding.UTF8.GetBytes($$"""{"type":1,"invocationId":"1","target":"SendMessage","arguments":[{"conversationId":"{{conversation}}","content":"""),
            .. content,
            .. "}]}\u001e"u8,
        ];

        foreach (var content in new byte[][] { "\"a\\ud800\""u8.ToArray(), "\"\\udc00\\ud83d\""u8.ToArray() })
        {
            var (completion, _) = await RawJsonHubInvokeAsync(alice, Invocation(conversation, content));
            Assert.Contains("HubException: INVALID_TEXT:", completion, StringComparison.Ordinal);
        }

        // A WebSocket text frame must be UTF-8 (RFC 6455): the transport drops the connection before SignalR sees it,
        // and nothing is accepted.
        foreach (var content in new byte[][] { [(byte)'"', 0xFF, (byte)'"'], [(byte)'"', (byte)'a', 0xED, 0xA0, 0x80, (byte)'"'] })
        {
            var (completion, closed) = await RawJsonHubInvokeAsync(alice, Invocation(conversation, content));
            Assert.Null(completion);
            Assert.True(closed);
        }

        // The same path still accepts what is valid, escapes included.
        var (ok, _) = await RawJsonHubInvokeAsync(alice, Invocation(conversation, "\"\\ud83d\\ude00 \\u00e9\\n\""u8.ToArray()));
        Assert.Contains("\"result\":", ok, StringComparison.Ordinal);
        var stored = Assert.Single(await WaitForStoredAsync(alice, conversation, 1));
        Assert.Equal("😀 é\n", stored.Content);
    }

    [Theory]
    [InlineData("""{"content":"\ud800"}""")]
    [InlineData("""{"content":"ok \udc00\ud800"}""")]
    [InlineData("""{"content":"ok","clientMessageId":"\udfff"}""")]
    [InlineData("""{"content":"ok","metadata":{"k":"\ud83d"}}""")]
    [InlineData("""{"content":"ok","metadata":{"\udc00":1}}""")]
    [InlineData("""{"content":"ok","metadata":{"a":[{"b":"x\ud800y"}]}}""")]
    public async Task A_lone_surrogate_in_the_body_is_refused_with_invalid_text(string body)
    {
        var (alice, _, conversation) = await PairAsync();
        using var response = await SendJsonAsync(alice, conversation, body);
        await ProblemAssert.IsAsync(response, HttpStatusCode.BadRequest, "INVALID_TEXT");
    }

    [Fact]
    public async Task A_lone_surrogate_in_other_endpoints_is_refused_with_invalid_text()
    {
        var (alice, bob, _) = await PairAsync();
        using var title = await _client.SendRawAsync(HttpMethod.Post, "/api/v1/conversations", alice, $$"""{"type":"group","title":"t\ud800","memberIds":["{{bob.UserId}}"]}""");
        await ProblemAssert.IsAsync(title, HttpStatusCode.BadRequest, "INVALID_TEXT");
        using var member = await _client.SendRawAsync(HttpMethod.Post, "/api/v1/conversations", alice, """{"type":"direct","memberIds":["\ud800"]}""");
        await ProblemAssert.IsAsync(member, HttpStatusCode.BadRequest, "INVALID_TEXT");
        using var since = await _client.SendRawAsync(HttpMethod.Post, "/api/v1/sync", alice, """{"since":"\udc00"}""");
        await ProblemAssert.IsAsync(since, HttpStatusCode.BadRequest, "INVALID_TEXT");
        using var register = await _client.SendRawAsync(HttpMethod.Post, "/api/v1/auth/register", null, """{"username":"abcdef","password":"correct horse\u0000"}""");
        await ProblemAssert.IsAsync(register, HttpStatusCode.BadRequest, "INVALID_TEXT");
    }

    [Fact]
    public async Task Invalid_utf8_bytes_in_the_body_are_refused_with_invalid_json_on_every_body_reading_endpoint()
    {
        var (alice, _, conversation) = await PairAsync();
        static byte[] With(string before, byte[] bad, string after) => [.. Encoding.UTF8.GetBytes(before), .. bad, .. Encoding.UTF8.GetBytes(after)];
        var bodies = new[]
        {
            With("""{"content":"a""", [0xFF], "\"}"),
            With("""{"content":"a""", [0xC3], "\"}"),
            With("""{"content":"a""", [0xED, 0xA0, 0x80], "\"}"), // an encoded surrogate
            With("""{"content":"ok","metadata":{"k""", [0xC0, 0xAF], "\":1}}"), // overlong
            With("""{"content":"ok","clientMessageId":"a""", [0xF4, 0x90, 0x80, 0x80], "\"}"), // past U+10FFFF
        };
        foreach (var body in bodies)
        {
            using var response = await PostBytesAsync(alice, $"/api/v1/conversations/{conversation}/messages", body);
            await ProblemAssert.IsAsync(response, HttpStatusCode.BadRequest, "INVALID_JSON");
        }

        foreach (var path in new[] { "/api/v1/sync", "/api/v1/conversations", $"/api/v1/conversations/{conversation}/read" })
        {
            using var response = await PostBytesAsync(alice, path, With("{\"x\":\"", [0xFF], "\"}"));
            await ProblemAssert.IsAsync(response, HttpStatusCode.BadRequest, "INVALID_JSON");
        }

        Assert.Empty(await HistoryAsync(alice, conversation));
    }

    [Fact]
    public async Task Metadata_with_1e400_comes_back_unchanged()
    {
        var (alice, bob, conversation) = await PairAsync();
        await using var json = await _client.ConnectAsync(bob);
        await using var messagePack = await _client.ConnectAsync(bob, messagePack: true);
        const string metadata = """{"a":1e400,"b":-1E-400,"c":-0}""";
        using var response = await SendJsonAsync(alice, conversation, $$"""{"content":"big","metadata":{{metadata}}}""");
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var ack = (await response.Content.ReadFromJsonAsync<Ack>())!;

        await AssertReadBackAsync(bob, conversation, [new SentMessage(ack.MessageId, "big", null, metadata)], json, messagePack);
    }

    [Fact]
    public async Task Metadata_with_a_30_digit_integer_comes_back_unchanged()
    {
        var (alice, bob, conversation) = await PairAsync();
        await using var json = await _client.ConnectAsync(bob);
        await using var messagePack = await _client.ConnectAsync(bob, messagePack: true);
        // Key order, escapes and the spacing inside the object are part of the text that comes back.
        const string metadata = """{"z":123456789012345678901234567890, "a" : 0.1000000000000000055511151231257827,"e":"\u00e9\u0041","n":[1.0,2e0]}""";
        using var response = await SendJsonAsync(alice, conversation, $$"""{"content":"precise","metadata":  {{metadata}}  }""");
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var ack = (await response.Content.ReadFromJsonAsync<Ack>())!;

        await AssertReadBackAsync(bob, conversation, [new SentMessage(ack.MessageId, "precise", null, metadata)], json, messagePack);
    }

    [Fact]
    public async Task Metadata_with_a_repeated_key_is_refused_with_invalid_field_value()
    {
        var (alice, _, conversation) = await PairAsync();
        using var response = await SendJsonAsync(alice, conversation, """{"content":"dup","metadata":{"a":1,"b":{"c":1,"c":2}}}""");
        var problem = await ProblemAssert.IsAsync(response, HttpStatusCode.BadRequest, "INVALID_FIELD_VALUE");
        Assert.Equal("metadata", problem.Details?.GetProperty("field").GetString());
    }

    [Fact]
    public async Task A_full_page_of_messages_with_odd_metadata_is_a_complete_200()
    {
        var (alice, bob, conversation) = await PairAsync();
        var metadata = $$"""{"big":1e400,"int":123456789012345678901234567890,"pad":"{{new string('\u00e9', 1800)}}"}""";
        var sent = new List<SentMessage>();
        for (var batch = 0; batch < 5; batch++)
        {
            var acks = await Task.WhenAll(Enumerable.Range(batch * 40, 40).Select(async i =>
            {
                using var response = await SendJsonAsync(alice, conversation, $$"""{"content":"m{{i}}","metadata":{{metadata}}}""");
                Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
                return new SentMessage((await response.Content.ReadFromJsonAsync<Ack>())!.MessageId, $"m{i}", null, metadata);
            }));
            sent.AddRange(acks);
        }

        // 200 messages of ~3.7 KB each: the page is far larger than any response buffer.
        await AssertReadBackAsync(bob, conversation, sent);
    }

    [Fact]
    public async Task Generated_sends_are_refused_with_a_documented_code_or_read_back_exactly()
    {
        var (alice, bob, conversation) = await PairAsync();
        await using var json = await _client.ConnectAsync(bob);
        await using var messagePack = await _client.ConnectAsync(bob, messagePack: true);
        await using var aliceJson = await _client.ConnectAsync(alice);
        await using var aliceMessagePack = await _client.ConnectAsync(alice, messagePack: true);
        var accepted = new System.Collections.Concurrent.ConcurrentBag<SentMessage>();
        var outcomes = new System.Collections.Concurrent.ConcurrentBag<string>();

        await FidelityGen.Cases.Array[150].SampleAsync(async cases =>
        {
            await Parallel.ForEachAsync(cases.Select((c, i) => (c, i)), new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (item, ct) =>
            {
                var (c, i) = item;
                var clientMessageId = c.ClientMessageId is null ? null : c.ClientMessageId with { Value = $"{i}-" + c.ClientMessageId.Value, Json = $"\"{i}-" + c.ClientMessageId.Json[1..] };
                // Every fourth case goes over the hub, alternating protocols; a .NET client cannot put an unpaired
                // surrogate into a hub string (its encoder replaces it), so those cases stay on REST.
                var viaHub = i % 4 == 3 && FidelityGen.IsValidUtf16(c.Content.Value) && (clientMessageId is null || FidelityGen.IsValidUtf16(clientMessageId.Value));
                var expected = FidelityGen.ExpectedCodes(c.Content, clientMessageId, c.Metadata, viaHub);
                if (viaHub)
                {
                    var device = i % 8 == 3 ? aliceJson : aliceMessagePack;
                    try
                    {
                        var ack = await device.Connection.InvokeAsync<Ack>("SendMessage", Hub(conversation, c.Content.Value, clientMessageId?.Value, c.Metadata?.Json), ct);
                        Assert.True(expected.Count == 0, $"hub case {i} was accepted but expected {string.Join('|', expected)}: {c}");
                        Keep(ack);
                        outcomes.Add("hub 202");
                    }
                    catch (HubException ex)
                    {
                        var code = System.Text.RegularExpressions.Regex.Match(ex.Message, "HubException: ([A-Z_]+):").Groups[1].Value;
                        Assert.True(expected.Contains(code), $"hub case {i}: got '{ex.Message}', expected {(expected.Count == 0 ? "acceptance" : string.Join('|', expected))}: {c}");
                        outcomes.Add("hub " + code);
                    }

                    return;
                }

                void Keep(Ack ack)
                {
                    // Without a clientMessageId, the same content twice in one second is folded into the first send
                    // (docs/api.md); the original ack is the one whose metadata was stored.
                    if (!ack.IdempotentHit)
                    {
                        accepted.Add(new SentMessage(ack.MessageId, c.Content.Value, clientMessageId?.Value, c.Metadata?.Json));
                    }
                }

                var body = "{\"content\":" + c.Content.Json
                    + (clientMessageId is null ? "" : ",\"clientMessageId\":" + clientMessageId.Json)
                    + (c.Metadata is null ? "" : ",\"metadata\":" + c.Metadata.Json) + "}";
                using var response = await SendJsonAsync(alice, conversation, body);
                var text = await response.Content.ReadAsStringAsync(ct);
                if (response.StatusCode == HttpStatusCode.Accepted)
                {
                    Assert.True(expected.Count == 0, $"case {i} was accepted but expected {string.Join('|', expected)}: {body}");
                    var ack = JsonSerializer.Deserialize<Ack>(text, JsonSerializerOptions.Web)!;
                    Keep(ack);
                    outcomes.Add("rest 202");
                }
                else
                {
                    Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"case {i}: {(int)response.StatusCode} {text} for {body}");
                    var code = JsonDocument.Parse(text).RootElement.GetProperty("code").GetString()!;
                    Assert.True(expected.Contains(code), $"case {i}: got {code} ({text}), expected {(expected.Count == 0 ? "acceptance" : string.Join('|', expected))}: {body}");
                    outcomes.Add("rest " + code);
                }
            });
        }, iter: 1, threads: 1);

        // The generator must exercise both sides of the promise, or this test proves nothing.
        Assert.Contains(outcomes, o => o.EndsWith("202", StringComparison.Ordinal));
        Assert.Contains(outcomes, o => o.EndsWith("INVALID_TEXT", StringComparison.Ordinal));
        await AssertReadBackAsync(bob, conversation, accepted.ToList(), json, messagePack);
    }
}
