using System.Collections.Concurrent;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;
using Parley.Server.Tests.Infrastructure;

namespace Parley.Server.Tests;

public sealed class ResumePositionDto
{
    public Guid ConversationId { get; set; }
    public long LastSequence { get; set; }
}

public sealed record ResumeResultDto(Guid ConversationId, string Status, long FromSequence, long LatestSequence, long Replayed);

public sealed record TypingDto(Guid ConversationId, Guid UserId, bool IsTyping, int ExpiresInMs);

public sealed record PresenceDto(Guid UserId, bool Online, DateTimeOffset? LastSeenAt);

public sealed record DisconnectingDto(string Reason, string Message);

/// <summary>Issue 6: recovery by sequence, typing, presence, backpressure, in-band token refresh, several nodes.</summary>
public sealed class RealtimeTests
{
    private static Task<TestServer> StartAsync(params (string Key, string Value)[] settings) =>
        TestServer.StartAsync(settings.ToDictionary(s => s.Key, s => (string?)s.Value));

    /// <summary>A device (announcing a Resume with ?resume=true when asked), recording every event it gets.</summary>
    internal static async Task<(HubConnection Connection, ConcurrentQueue<Message> Messages, ConcurrentQueue<object> Events)> ConnectAsync(
        Uri server, Session me, bool messagePack, bool resume, Func<Task<string?>>? token = null)
    {
        var messages = new ConcurrentQueue<Message>();
        var events = new ConcurrentQueue<object>();
        var builder = new HubConnectionBuilder().WithUrl(new Uri(server, "/hubs/chat" + (resume ? "?resume=true" : "")), o =>
        {
            o.AccessTokenProvider = token ?? (() => Task.FromResult<string?>(me.AccessToken));
            o.SkipNegotiation = true;
            o.Transports = HttpTransportType.WebSockets;
        });
        if (messagePack)
        {
            builder.AddMessagePackProtocol();
        }

        var connection = builder.Build();
        connection.On<Message>("messageCreated", messages.Enqueue);
        connection.On<TypingDto>("typing", events.Enqueue);
        connection.On<PresenceDto>("presence", events.Enqueue);
        connection.On<DisconnectingDto>("disconnecting", events.Enqueue);
        await connection.StartAsync();
        return (connection, messages, events);
    }

    /// <summary>Polls until <paramref name="done"/> or the deadline; the assertions after it say what was missing.</summary>
    internal static async Task Until(Func<bool> done, int seconds = 30)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (!done() && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }
    }

    /// <summary>
    /// A positive end marker instead of a pause: sends one more message and waits until <paramref name="messages"/>
    /// has it. Per conversation a connection gets messages in order, so whatever else was coming arrived before it.
    /// </summary>
    internal static async Task<long> SentinelAsync(ParleyClient client, Session sender, Guid conversation, ConcurrentQueue<Message> messages)
    {
        var marker = $"sentinel {Guid.NewGuid():N}";
        await client.SendAsync(sender, conversation, marker);
        await Until(() => messages.Any(m => m.Content == marker));
        return Assert.Single(messages, m => m.Content == marker).Sequence;
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_device_away_while_500_messages_were_sent_in_20_conversations_recovers_all_in_order_without_duplicates(bool messagePack)
    {
        await using var server = await StartAsync();
        using var client = server.Client();
        var me = await client.SignUpAsync();
        var peers = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => client.SignUpAsync()));
        var conversations = await Task.WhenAll(peers.Select(p => client.DirectAsync(p, me.UserId)));

        var before = await ConnectAsync(server.BaseAddress, me, messagePack, resume: false);
        await Task.WhenAll(conversations.Select((c, i) => client.SendAsync(peers[i], c.Id, "before")));
        await Until(() => before.Messages.Count >= 20);
        var positions = before.Messages.GroupBy(m => m.ConversationId).Select(g => new ResumePositionDto { ConversationId = g.Key, LastSequence = g.Max(m => m.Sequence) }).ToArray();
        Assert.Equal(20, positions.Length);
        await before.Connection.DisposeAsync();

        await Task.WhenAll(conversations.Select(async (c, i) =>
        {
            for (var n = 1; n <= 25; n++)
            {
                await client.SendAsync(peers[i], c.Id, $"away {n}");
            }
        }));
        foreach (var c in conversations)
        {
            Assert.Equal(26, (await client.WaitForStoredAsync(me, c.Id, 26)).Count);
        }

        var after = await ConnectAsync(server.BaseAddress, me, messagePack, resume: true);
        // Live traffic racing the replay: it must come after what it follows, once.
        var live = Task.WhenAll(Enumerable.Range(0, 5).Select(i => client.SendAsync(peers[i], conversations[i].Id, "live")));
        var results = await after.Connection.InvokeAsync<List<ResumeResultDto>>("Resume", positions);
        await live;

        Assert.Equal(20, results.Count);
        Assert.All(results, r => Assert.Equal("recovered", r.Status));
        Assert.Equal(500, results.Sum(r => r.FromSequence == 1 ? Math.Min(r.Replayed, 25) : 0));
        await Until(() => after.Messages.Count >= 505);
        // A sentinel per conversation: anything extra (a duplicate) would have come before it.
        foreach (var (c, i) in conversations.Select((c, i) => (c, i)))
        {
            var sentinel = await SentinelAsync(client, peers[i], c.Id, after.Messages);
            var received = after.Messages.Where(m => m.ConversationId == c.Id).Select(m => m.Sequence).ToList();
            var last = i < 5 ? 27 : 26;
            Assert.Equal(Enumerable.Range(2, last - 1).Append(last + 1).Select(s => (long)s), received);
            Assert.Equal(last + 1, sentinel);
        }

        await after.Connection.DisposeAsync();
    }

    [Fact]
    public async Task A_device_past_the_recovery_limit_is_told_to_resync_and_then_gets_live_messages_only()
    {
        await using var server = await StartAsync(("Parley:Realtime:RecoveryLimit", "5"));
        using var client = server.Client();
        var (me, peer) = (await client.SignUpAsync(), await client.SignUpAsync());
        var conversation = await client.DirectAsync(peer, me.UserId);
        for (var n = 0; n < 8; n++)
        {
            await client.SendAsync(peer, conversation.Id, $"m{n}");
        }

        await client.WaitForStoredAsync(me, conversation.Id, 8);
        var device = await ConnectAsync(server.BaseAddress, me, messagePack: false, resume: true);

        var result = Assert.Single(await device.Connection.InvokeAsync<List<ResumeResultDto>>("Resume", new[] { new ResumePositionDto { ConversationId = conversation.Id, LastSequence = 1 } }));

        Assert.Equal(("resync", 1L, 8L, 0L), (result.Status, result.FromSequence, result.LatestSequence, result.Replayed));
        await client.SendAsync(peer, conversation.Id, "after");
        await SentinelAsync(client, peer, conversation.Id, device.Messages);
        Assert.Equal([9L, 10L], device.Messages.Select(m => m.Sequence));
        await device.Connection.DisposeAsync();
    }

    [Fact]
    public async Task Resume_for_a_conversation_the_user_is_not_in_is_refused_with_NOT_CONVERSATION_MEMBER()
    {
        await using var server = await StartAsync();
        using var client = server.Client();
        var (me, a, b) = (await client.SignUpAsync(), await client.SignUpAsync(), await client.SignUpAsync());
        var theirs = await client.DirectAsync(a, b.UserId);
        var device = await ConnectAsync(server.BaseAddress, me, messagePack: false, resume: true);

        var error = await Assert.ThrowsAsync<HubException>(() => device.Connection.InvokeAsync<List<ResumeResultDto>>("Resume", new[] { new ResumePositionDto { ConversationId = theirs.Id } }));

        Assert.Contains("NOT_CONVERSATION_MEMBER", error.Message, StringComparison.Ordinal);
        await device.Connection.DisposeAsync();
    }

    [Fact]
    public async Task Typing_reaches_the_other_members_only_expires_on_its_own_and_is_rate_limited()
    {
        await using var server = await StartAsync(("Parley:Realtime:TypingTimeout", "00:00:01"), ("Parley:Realtime:TypingPer10Seconds", "3"));
        using var client = server.Client();
        var (me, peer, outsider) = (await client.SignUpAsync(), await client.SignUpAsync(), await client.SignUpAsync());
        var conversation = await client.DirectAsync(me, peer.UserId);
        var mine = await ConnectAsync(server.BaseAddress, me, messagePack: false, resume: false);
        var theirs = await ConnectAsync(server.BaseAddress, peer, messagePack: true, resume: false);
        var stranger = await ConnectAsync(server.BaseAddress, outsider, messagePack: false, resume: false);

        await mine.Connection.InvokeAsync("Typing", conversation.Id, true);

        await Until(() => theirs.Events.OfType<TypingDto>().Count() >= 2);
        var typing = theirs.Events.OfType<TypingDto>().ToList();
        Assert.Equal((conversation.Id, me.UserId, true, 1000), (typing[0].ConversationId, typing[0].UserId, typing[0].IsTyping, typing[0].ExpiresInMs));
        Assert.False(typing[1].IsTyping); // lapsed after the 1 s timeout without a refresh
        Assert.Empty(mine.Events.OfType<TypingDto>());
        Assert.Empty(stranger.Events.OfType<TypingDto>());

        await mine.Connection.InvokeAsync("Typing", conversation.Id, true);
        await mine.Connection.InvokeAsync("Typing", conversation.Id, false);
        var limited = await Assert.ThrowsAsync<HubException>(() => mine.Connection.InvokeAsync("Typing", conversation.Id, true));
        Assert.Contains("RATE_LIMITED", limited.Message, StringComparison.Ordinal);

        foreach (var device in new[] { mine, theirs, stranger })
        {
            await device.Connection.DisposeAsync();
        }
    }

    [Fact]
    public async Task Presence_changes_reach_conversation_members_and_the_conversation_presence_counts_devices()
    {
        // Regression: the laptop's connect returned before the hub had counted it in presence, so the count read right
        // after saw 1 device; and a fixed pause decided that no presence change followed the phone's disconnect.
        await using var server = await StartAsync();
        using var client = server.Client();
        var (me, peer) = (await client.SignUpAsync(), await client.SignUpAsync());
        var conversation = await client.DirectAsync(me, peer.UserId);
        using var connections = new Microsoft.Extensions.Diagnostics.Metrics.Testing.MetricCollector<long>(
            server.Services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>(), "Parley.Realtime", "realtime_connections");
        var watcher = await ConnectAsync(server.BaseAddress, peer, messagePack: false, resume: false);

        var phone = await ConnectAsync(server.BaseAddress, me, messagePack: false, resume: false);
        var laptop = await ConnectAsync(server.BaseAddress, me, messagePack: true, resume: false);
        var presence = await client.OkAsync<JsonElement>(HttpMethod.Get, $"/api/v1/conversations/{conversation.Id}/presence", peer);
        Assert.Equal(2, presence.GetProperty("online").GetInt32());
        var mineNow = presence.GetProperty("members").EnumerateArray().Single(m => m.GetProperty("userId").GetGuid() == me.UserId);
        Assert.Equal(2, mineNow.GetProperty("connections").GetInt32());
        await Until(() => watcher.Events.OfType<PresenceDto>().Any());

        await phone.Connection.DisposeAsync();
        // Counted out only once its presence change, if any, is queued for the watcher; then a sentinel message.
        await Until(() => connections.GetMeasurementSnapshot().Sum(m => m.Value) == 2);
        Assert.Equal(2, connections.GetMeasurementSnapshot().Sum(m => m.Value));
        await SentinelAsync(client, me, conversation.Id, watcher.Messages);
        Assert.Single(watcher.Events.OfType<PresenceDto>()); // still online on the laptop: no change to announce
        await laptop.Connection.DisposeAsync();
        await Until(() => watcher.Events.OfType<PresenceDto>().Count() >= 2);

        var changes = watcher.Events.OfType<PresenceDto>().ToList();
        Assert.Equal([(me.UserId, true), (me.UserId, false)], changes.Select(c => (c.UserId, c.Online)));
        Assert.NotNull(changes[1].LastSeenAt);
        await watcher.Connection.DisposeAsync();
    }

    /// <summary>Holds the hub's OnConnectedAsync for one user until released: the handshake is done, the hub has not run.</summary>
    private sealed class HoldConnect(Guid user) : IHubFilter
    {
        public TaskCompletionSource Entered { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource Release { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public async Task OnConnectedAsync(HubLifetimeContext context, Func<HubLifetimeContext, Task> next)
        {
            if (context.Context.UserIdentifier == user.ToString())
            {
                Entered.TrySetResult();
                await Release.Task;
            }

            await next(context);
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_message_stored_after_the_handshake_but_before_the_hub_ran_arrives_live_without_a_Resume(bool messagePack)
    {
        // Regression: a device was registered for fanout in the hub's OnConnectedAsync, which SignalR calls after it has
        // answered the handshake; a message stored in between reached the device only if it called Resume.
        HoldConnect? hold = null;
        await using var server = await TestServer.StartAsync(services: s => s.Configure<HubOptions>(o => o.AddFilter(new Deferred(() => hold))));
        using var client = server.Client();
        var (mine, peer) = (await client.SignUpAsync(), await client.SignUpAsync());
        hold = new HoldConnect(mine.UserId);
        var conversation = await client.DirectAsync(peer, mine.UserId);
        using var fanout = new Microsoft.Extensions.Diagnostics.Metrics.Testing.MetricCollector<long>(
            server.Services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>(), Parley.Server.Hosting.Telemetry.DeliveryMeter, "delivery_fanout_delivered");

        var connecting = ConnectAsync(server.BaseAddress, mine, messagePack, resume: false);
        await hold.Entered.Task.WaitAsync(TimeSpan.FromSeconds(30)); // handshake answered, hub not yet run
        await client.SendAsync(peer, conversation.Id, "in the window");
        await Until(() => fanout.GetMeasurementSnapshot().Sum(m => m.Value) >= 2); // fanned out to both members' devices
        Assert.True(fanout.GetMeasurementSnapshot().Sum(m => m.Value) >= 2);
        hold.Release.TrySetResult();
        var device = await connecting;

        await Until(() => !device.Messages.IsEmpty);
        Assert.Equal("in the window", Assert.Single(device.Messages).Content);
        await device.Connection.DisposeAsync();
    }

    /// <summary>A filter registered before the test knows whom to hold; it forwards to the real one once there is one.</summary>
    private sealed class Deferred(Func<HoldConnect?> target) : IHubFilter
    {
        public Task OnConnectedAsync(HubLifetimeContext context, Func<HubLifetimeContext, Task> next) =>
            target() is { } hold ? hold.OnConnectedAsync(context, next) : next(context);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Resume_from_0_after_live_messages_arrived_sends_no_sequence_twice_and_answers_resync_for_the_hole(bool messagePack)
    {
        // Regression: Resume lowered the connection's last-sent position to the client's, which sent live messages again.
        await using var server = await StartAsync();
        using var client = server.Client();
        var (me, peer) = (await client.SignUpAsync(), await client.SignUpAsync());
        var conversation = await client.DirectAsync(peer, me.UserId);
        for (var n = 1; n <= 3; n++)
        {
            await client.SendAsync(peer, conversation.Id, $"before {n}");
        }

        await client.WaitForStoredAsync(me, conversation.Id, 3);
        var device = await ConnectAsync(server.BaseAddress, me, messagePack, resume: false);
        await client.SendAsync(peer, conversation.Id, "live 4");
        await client.SendAsync(peer, conversation.Id, "live 5");
        await Until(() => device.Messages.Count >= 2);

        // From 3: nothing missing, nothing sent again.
        var caughtUp = Assert.Single(await device.Connection.InvokeAsync<List<ResumeResultDto>>("Resume", new[] { new ResumePositionDto { ConversationId = conversation.Id, LastSequence = 3 } }));
        Assert.Equal(("recovered", 3L, 5L), (caughtUp.Status, caughtUp.FromSequence, caughtUp.LatestSequence));
        // From 0: 1-3 cannot come after 4 and 5 on this connection, and 4 and 5 must not come twice: read history.
        var hole = Assert.Single(await device.Connection.InvokeAsync<List<ResumeResultDto>>("Resume", new[] { new ResumePositionDto { ConversationId = conversation.Id, LastSequence = 0 } }));
        Assert.Equal(("resync", 0L, 5L, 0L), (hole.Status, hole.FromSequence, hole.LatestSequence, hole.Replayed));

        var sentinel = await SentinelAsync(client, peer, conversation.Id, device.Messages);
        Assert.Equal(6, sentinel);
        Assert.Equal([4L, 5L, 6L], device.Messages.Select(m => m.Sequence));
        await device.Connection.DisposeAsync();
    }

    [Fact]
    public async Task Resume_from_0_on_a_fresh_connection_replays_everything_once_even_with_live_messages_queued()
    {
        await using var server = await StartAsync();
        using var client = server.Client();
        var (me, peer) = (await client.SignUpAsync(), await client.SignUpAsync());
        var conversation = await client.DirectAsync(peer, me.UserId);
        for (var n = 1; n <= 3; n++)
        {
            await client.SendAsync(peer, conversation.Id, $"before {n}");
        }

        await client.WaitForStoredAsync(me, conversation.Id, 3);
        var device = await ConnectAsync(server.BaseAddress, me, messagePack: false, resume: true);
        await client.SendAsync(peer, conversation.Id, "live 4"); // held until the Resume below
        await client.WaitForStoredAsync(me, conversation.Id, 4);

        var result = Assert.Single(await device.Connection.InvokeAsync<List<ResumeResultDto>>("Resume", new[] { new ResumePositionDto { ConversationId = conversation.Id, LastSequence = 0 } }));
        Assert.Equal("recovered", result.Status);
        await SentinelAsync(client, peer, conversation.Id, device.Messages);
        Assert.Equal([1L, 2L, 3L, 4L, 5L], device.Messages.Select(m => m.Sequence));
        await device.Connection.DisposeAsync();
    }

    [Fact]
    public async Task An_in_band_token_refresh_keeps_the_connection_past_the_first_tokens_expiry_and_without_one_it_is_closed_with_a_reason()
    {
        await using var server = await StartAsync(("Parley:Auth:AccessTokenLifetime", "00:00:10"));
        using var client = server.Client();
        var me = await client.SignUpAsync();
        var refreshed = await ConnectAsync(server.BaseAddress, me, messagePack: false, resume: false);
        var stale = await ConnectAsync(server.BaseAddress, me, messagePack: true, resume: false);

        // Refresh once a token issued now expires later than the first one (expiries are whole seconds).
        var firstExpiry = JsonDocument.Parse(Microsoft.IdentityModel.Tokens.Base64UrlEncoder.Decode(me.AccessToken.Split('.')[1])).RootElement.GetProperty("exp").GetInt64();
        await Until(() => DateTimeOffset.UtcNow.ToUnixTimeSeconds() + 10 > firstExpiry + 1);
        var renewed = await (await client.Http.PostAsJsonAsync("/api/v1/auth/refresh", new { refreshToken = me.RefreshToken })).Content.ReadFromJsonAsync<JsonElement>();
        var result = await refreshed.Connection.InvokeAsync<JsonElement>("RefreshToken", renewed.GetProperty("accessToken").GetString());
        Assert.True(result.ValueKind == JsonValueKind.Object);
        var bogus = await Assert.ThrowsAsync<HubException>(() => refreshed.Connection.InvokeAsync<JsonElement>("RefreshToken", "not a token"));
        Assert.Contains("UNAUTHENTICATED", bogus.Message, StringComparison.Ordinal);

        await Until(() => stale.Connection.State == HubConnectionState.Disconnected, seconds: 20);

        Assert.Equal(HubConnectionState.Disconnected, stale.Connection.State);
        Assert.Contains(stale.Events.OfType<DisconnectingDto>(), e => e.Reason == "TOKEN_EXPIRED");
        Assert.Equal(HubConnectionState.Connected, refreshed.Connection.State);
        await refreshed.Connection.DisposeAsync();
    }

    [Fact]
    public async Task A_device_that_stops_reading_is_cut_off_while_the_others_get_everything()
    {
        await using var server = await StartAsync(("Parley:Realtime:OutboundQueueLimit", "16"));
        using var client = server.Client();
        var (me, peer) = (await client.SignUpAsync(), await client.SignUpAsync());
        var conversation = await client.DirectAsync(peer, me.UserId);
        var fast = await ConnectAsync(server.BaseAddress, me, messagePack: false, resume: false);
        // A raw WebSocket that completes the SignalR handshake and then never reads again, with a small receive buffer.
        using var slow = new System.Net.WebSockets.ClientWebSocket();
        using var invoker = new HttpMessageInvoker(new SocketsHttpHandler
        {
            ConnectCallback = async (context, ct) =>
            {
                var socket = new System.Net.Sockets.Socket(System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp) { ReceiveBufferSize = 4096 };
                await socket.ConnectAsync(context.DnsEndPoint, ct);
                return new System.Net.Sockets.NetworkStream(socket, ownsSocket: true);
            },
        });
        await slow.ConnectAsync(new Uri($"ws://{server.BaseAddress.Authority}/hubs/chat?access_token={me.AccessToken}"), invoker, CancellationToken.None);
        await slow.SendAsync("{\"protocol\":\"json\",\"version\":1}\u001e"u8.ToArray(), System.Net.WebSockets.WebSocketMessageType.Text, true, CancellationToken.None);
        await slow.ReceiveAsync(new byte[64], CancellationToken.None);
        var metrics = new Microsoft.Extensions.Diagnostics.Metrics.Testing.MetricCollector<long>(
            server.Services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>(), "Parley.Realtime", "realtime_slow_consumer_disconnects");

        // Paced by what the fast device has: at most 8 of its events outstanding, so a starved test process (a full run
        // on two busy cores) cannot make the reading device the slow consumer too (it was cut off at 432 of 1,200 once).
        // The device that never reads still falls behind by the whole 10 MB.
        var content = new string('x', 8000);
        for (var n = 0; n < 1200; n++)
        {
            await client.SendAsync(peer, conversation.Id, content + n);
            if (n % 4 == 3)
            {
                var sent = n + 1;
                await Until(() => fast.Messages.Count >= sent - 4, seconds: 60);
            }
        }

        await Until(() => fast.Messages.Count >= 1200, seconds: 60);
        Assert.Equal(1200, fast.Messages.Select(m => m.Sequence).Distinct().Count());
        await Until(() => metrics.GetMeasurementSnapshot().Count > 0, seconds: 30);
        Assert.Equal(1, metrics.GetMeasurementSnapshot().Sum(m => m.Value));
        await fast.Connection.DisposeAsync();
    }

    [Fact]
    public async Task Connections_past_the_connection_budget_are_refused_and_the_node_keeps_serving()
    {
        // Regression: at its descriptor limit a node failed every accept in a loop until it ran out of memory and aborted.
        await using var server = await StartAsync(("Parley:Limits:MaxConnections", "40")); // 16 HTTP + 24 realtime
        using var client = server.Client();
        var me = await client.SignUpAsync();
        var attempts = await Task.WhenAll(Enumerable.Range(0, 30).Select(async _ =>
        {
            try
            {
                return (await ConnectAsync(server.BaseAddress, me, messagePack: false, resume: false)).Connection;
            }
            catch (Exception ex) when (ex is System.Net.WebSockets.WebSocketException or HttpRequestException or IOException or InvalidOperationException)
            {
                return null;
            }
        }));

        Assert.Equal(24, attempts.Count(c => c is not null));
        using var health = await client.Http.GetAsync(new Uri("/health/live", UriKind.Relative));
        Assert.True(health.IsSuccessStatusCode);
        foreach (var connection in attempts.OfType<HubConnection>())
        {
            await connection.DisposeAsync();
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_frame_over_the_size_limit_closes_only_that_connection_and_is_counted(bool messagePack)
    {
        await using var server = await StartAsync(("Parley:Limits:MaxRealtimeFrameBytes", "2048"));
        using var client = server.Client();
        var (me, peer) = (await client.SignUpAsync(), await client.SignUpAsync());
        var conversation = await client.DirectAsync(me, peer.UserId);
        using var oversized = new Microsoft.Extensions.Diagnostics.Metrics.Testing.MetricCollector<long>(
            server.Services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>(), "Parley.Realtime", "realtime_oversized_frames");
        var bystander = await ConnectAsync(server.BaseAddress, peer, messagePack, resume: false);
        var sender = await ConnectAsync(server.BaseAddress, me, messagePack, resume: false);
        var closed = new TaskCompletionSource<Exception?>();
        sender.Connection.Closed += e => { closed.TrySetResult(e); return Task.CompletedTask; };

        // Content under the content limit, but the frame carrying it is over the hub's 2 KB frame limit.
        var send = sender.Connection.InvokeAsync<JsonElement>("SendMessage", new { ConversationId = conversation.Id, Content = new string('x', 4000) });
        await Task.WhenAny(closed.Task, Task.Delay(TimeSpan.FromSeconds(15)));
        Assert.True(closed.Task.IsCompleted, "the connection that sent the oversized frame was not closed");
        await Assert.ThrowsAnyAsync<Exception>(() => send);
        await Until(() => oversized.GetMeasurementSnapshot().Sum(m => m.Value) >= 1);
        Assert.Equal(1, oversized.GetMeasurementSnapshot().Sum(m => m.Value));

        // Nothing was stored, and everyone else is unaffected.
        await client.SendAsync(me, conversation.Id, "small");
        await Until(() => !bystander.Messages.IsEmpty);
        Assert.Equal("small", Assert.Single(bystander.Messages).Content);
        Assert.Equal(HubConnectionState.Connected, bystander.Connection.State);
        await bystander.Connection.DisposeAsync();
        await sender.Connection.DisposeAsync();
    }

    [Fact]
    public async Task Two_nodes_on_the_production_engines_deliver_every_message_to_every_device_once_wherever_it_is_connected()
    {
        var settings = await TestEngines.SettingsAsync(TestEngines.Production);
        // Nodes share the signing keys (one key directory), as every production deployment must.
        var shared = Directory.CreateTempSubdirectory("parley-nodes-").FullName;
        await using var a = await TestServer.StartAsync(settings, shared);
        await using var b = await TestServer.StartAsync(settings, shared);
        using var client = a.Client();
        var (me, peer) = (await client.SignUpAsync(), await client.SignUpAsync());
        var conversation = await client.DirectAsync(peer, me.UserId);
        var devices = new[]
        {
            await ConnectAsync(a.BaseAddress, me, messagePack: false, resume: true),
            await ConnectAsync(b.BaseAddress, me, messagePack: true, resume: true),
            await ConnectAsync(b.BaseAddress, peer, messagePack: false, resume: true),
        };
        // The documented way to get every message across reconnects: Resume with what the device holds (here nothing).
        foreach (var device in devices)
        {
            await device.Connection.InvokeAsync<List<ResumeResultDto>>("Resume", new[] { new ResumePositionDto { ConversationId = conversation.Id } });
        }

        // Presence is shared: node a counts my device on node b as well.
        var presence = await client.OkAsync<JsonElement>(HttpMethod.Get, $"/api/v1/conversations/{conversation.Id}/presence", peer);
        Assert.Equal(3, presence.GetProperty("connections").GetInt32());

        using var other = b.Client();
        for (var n = 0; n < 40; n++)
        {
            await (n % 2 == 0 ? client : other).SendAsync(peer, conversation.Id, $"m{n}");
        }

        foreach (var device in devices)
        {
            await Until(() => device.Messages.Count >= 40);
        }

        // A 41st message as the end marker: a duplicate of any of the 40 would have come before it.
        await client.SendAsync(peer, conversation.Id, "m40");
        foreach (var device in devices)
        {
            await Until(() => device.Messages.Any(m => m.Sequence == 41));
        }

        foreach (var device in devices)
        {
            Assert.Equal(Enumerable.Range(1, 41).Select(s => (long)s), device.Messages.Select(m => m.Sequence));
            await device.Connection.DisposeAsync();
        }
    }
}
