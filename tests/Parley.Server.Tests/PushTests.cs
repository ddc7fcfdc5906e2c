using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Parley.Core.Events;
using Parley.Core.Ports;
using Parley.Server.Push;
using Parley.Server.Tests.Infrastructure;

namespace Parley.Server.Tests;

/// <summary>
/// A server per engine set with every push provider pointed at local receivers (FCM and APNs cannot run here; a Web Push
/// service and a gateway are simple enough to stand in for), and the push clock in the test's hands: jobs are due,
/// coalesced and retried by it, so the 2 s window and the 1 s / 5 s / 30 s retries are checked exactly and at once.
/// </summary>
public abstract class PushServerBase(string engine) : IAsyncLifetime
{
    public const string GatewaySecret = "gateway-secret-0123456789";
    public static readonly TimeSpan Window = TimeSpan.FromSeconds(2);

    private TestServer? _server;

    public TestServer Server => _server ?? throw new InvalidOperationException("Not started");

    public PushReceiver Receiver { get; private set; } = null!;

    public PushReceiver Apns { get; private set; } = null!;

    public FakeTimeProvider Clock { get; } = new(DateTimeOffset.UtcNow);

    public async Task InitializeAsync()
    {
        Receiver = await PushReceiver.StartAsync();
        Apns = await PushReceiver.StartAsync(http2Only: true);
        Receiver.Clock = Apns.Clock = Clock.GetUtcNow;
        using var rsa = RSA.Create(2048);
        using var p8 = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var origin = Receiver.BaseAddress.AbsoluteUri.TrimEnd('/');
        var settings = await TestEngines.SettingsAsync(engine);
        settings["Parley:Push:CoalesceWindow"] = Window.ToString();
        settings["Parley:Push:PollInterval"] = "00:00:00.050";
        settings["Parley:Push:ProviderTimeout"] = "00:00:05";
        settings["Parley:Push:BreakerBreakDuration"] = "00:00:03";
        settings["Parley:Events:PollInterval"] = "00:00:00.050";
        settings["Parley:Push:WebPush:AllowedEndpoints:0"] = origin;
        settings["Parley:Push:Webhook:Url"] = origin + "/gateway";
        settings["Parley:Push:Webhook:Secret"] = GatewaySecret;
        settings["Parley:Push:Fcm:ProjectId"] = "parley-test";
        settings["Parley:Push:Fcm:ClientEmail"] = "push@parley-test.iam.gserviceaccount.com";
        settings["Parley:Push:Fcm:PrivateKey"] = rsa.ExportPkcs8PrivateKeyPem();
        settings["Parley:Push:Fcm:Endpoint"] = origin + "/fcm";
        settings["Parley:Push:Fcm:TokenUri"] = origin + "/oauth/token";
        settings["Parley:Push:Apns:TeamId"] = "TEAM123456";
        settings["Parley:Push:Apns:KeyId"] = "KEY1234567";
        settings["Parley:Push:Apns:PrivateKey"] = p8.ExportPkcs8PrivateKeyPem();
        settings["Parley:Push:Apns:Topic"] = "com.example.chat";
        settings["Parley:Push:Apns:Endpoint"] = Apns.BaseAddress.AbsoluteUri.TrimEnd('/');
        FcmPublicKey = rsa.ExportSubjectPublicKeyInfo();
        ApnsPublicKey = p8.ExportSubjectPublicKeyInfo();
        var adminName = "adm" + Guid.NewGuid().ToString("N")[..12];
        settings["Parley:Admins:0"] = adminName;
        _server = await TestServer.StartAsync(settings, services: s => s.AddSingleton(new PushClock(Clock)));
        using var client = _server.Client();
        using (var register = await client.SendRawAsync(HttpMethod.Post, "/api/v1/auth/register", null, JsonSerializer.Serialize(new { username = adminName, password = "correct horse" })))
        {
            Assert.Equal(HttpStatusCode.Created, register.StatusCode);
        }

        Admin = await client.LoginAsync(adminName, "correct horse");
    }

    public Session Admin { get; private set; } = null!;

    public byte[] FcmPublicKey { get; private set; } = [];

    public byte[] ApnsPublicKey { get; private set; } = [];

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }

        await Receiver.DisposeAsync();
        await Apns.DisposeAsync();
    }
}

public sealed class EmbeddedPushServer() : PushServerBase(TestEngines.Embedded);

public sealed class ProductionPushServer() : PushServerBase(TestEngines.Production);

public sealed class EmbeddedPushTests(EmbeddedPushServer fixture) : PushTests(fixture), IClassFixture<EmbeddedPushServer>;

public sealed class ProductionPushTests(ProductionPushServer fixture) : PushTests(fixture), IClassFixture<ProductionPushServer>;

/// <summary>Push to offline devices (P5) end to end: planned from the outbox, queued on the log engine, sent by real HTTP to local receivers.</summary>
public abstract class PushTests(PushServerBase fixture)
{
    private readonly ParleyClient _client = fixture.Server.Client();
    private readonly PushReceiver _receiver = fixture.Receiver;

    private IPushQueue Queue => fixture.Server.Services.GetRequiredService<IPushQueue>();

    [Fact]
    public async Task An_offline_member_gets_exactly_one_web_push_that_decrypts_to_the_message_and_an_online_one_gets_none()
    {
        _receiver.Respond = _ => (201, "");
        var (sender, offline, online) = (await _client.SignUpAsync(), await _client.SignUpAsync(), await _client.SignUpAsync());
        var group = (await _client.GroupAsync(sender, "Trip planning", offline.UserId, online.UserId)).Id;
        using var offlineBrowser = new WebPushSubscriber();
        using var onlineBrowser = new WebPushSubscriber();
        var offlinePath = $"/wp/{Guid.NewGuid():N}";
        var onlinePath = $"/wp/{Guid.NewGuid():N}";
        await RegisterAsync(offline, new { platform = "webpush", subscription = offlineBrowser.Subscription(new Uri(_receiver.BaseAddress, offlinePath)) }, HttpStatusCode.Created);
        await RegisterAsync(online, new { platform = "webpush", subscription = onlineBrowser.Subscription(new Uri(_receiver.BaseAddress, onlinePath)) }, HttpStatusCode.Created);
        await using var device = await _client.ConnectAsync(online);

        var ack = await _client.SendAsync(sender, group, "Meet at the station at 9 ✈");
        await PlannedAsync(group, 1);
        fixture.Clock.Advance(PushServerBase.Window);
        await Eventually.TrueAsync(() => _receiver.To(offlinePath).Count == 1, "the offline member's push");
        await DrainedAsync();

        Assert.Empty(_receiver.To(onlinePath));
        var push = Assert.Single(_receiver.To(offlinePath));
        Assert.Equal("aes128gcm", push.Headers["content-encoding"]);
        Assert.StartsWith("vapid t=", push.Headers["authorization"], StringComparison.Ordinal);
        await VapidSignedAsync(push, offline);
        using var payload = JsonDocument.Parse(offlineBrowser.Decrypt(push.Body));
        Assert.Equal("Trip planning", payload.RootElement.GetProperty("title").GetString());
        Assert.EndsWith(": Meet at the station at 9 ✈", payload.RootElement.GetProperty("body").GetString(), StringComparison.Ordinal);
        Assert.Equal(group, payload.RootElement.GetProperty("conversationId").GetGuid());
        Assert.Equal(ack.MessageId, payload.RootElement.GetProperty("messageIds")[0].GetGuid());
        Assert.Equal(1, payload.RootElement.GetProperty("badge").GetInt64());
    }

    [Fact]
    public async Task Messages_within_the_window_become_one_push_with_their_count_and_the_unread_badge()
    {
        _receiver.Respond = _ => (200, "");
        var (sender, offline) = (await _client.SignUpAsync(), await _client.SignUpAsync());
        var direct = (await _client.DirectAsync(sender, offline.UserId)).Id;
        var token = "gw-" + Guid.NewGuid().ToString("N");
        await RegisterAsync(offline, new { platform = "webhook", token }, HttpStatusCode.Created);

        for (var i = 0; i < 3; i++)
        {
            await _client.SendAsync(sender, direct, $"message {i}");
        }

        await PlannedAsync(direct, 3);
        fixture.Clock.Advance(PushServerBase.Window);
        await Eventually.TrueAsync(() => GatewayPushes(token).Count == 1, "one coalesced push");
        await DrainedAsync();
        using var payload = JsonDocument.Parse(Assert.Single(GatewayPushes(token)).Body);
        Assert.Equal(3, payload.RootElement.GetProperty("count").GetInt32());
        Assert.Equal(3, payload.RootElement.GetProperty("messageIds").GetArrayLength());
        Assert.Equal("3 new messages", payload.RootElement.GetProperty("body").GetString());
        Assert.Equal(3, payload.RootElement.GetProperty("badge").GetInt64());
    }

    [Fact]
    public async Task A_provider_answering_500_is_retried_after_1_5_and_30_seconds_then_dead_lettered_and_a_replay_delivers_it()
    {
        var token = "gw-" + Guid.NewGuid().ToString("N");
        var failing = true;
        _receiver.Respond = r => r.Text.Contains(token, StringComparison.Ordinal) && Volatile.Read(ref failing) ? (500, "{\"error\":\"down\"}") : (200, "");
        var (sender, offline) = (await _client.SignUpAsync(), await _client.SignUpAsync());
        var direct = (await _client.DirectAsync(sender, offline.UserId)).Id;
        await RegisterAsync(offline, new { platform = "webhook", token }, HttpStatusCode.Created);
        using var failures = FailedAttempts();

        await _client.SendAsync(sender, direct, "are you there?");
        await PlannedAsync(direct, 1);
        fixture.Clock.Advance(PushServerBase.Window);
        var first = fixture.Clock.GetUtcNow();
        foreach (var (delay, attempt) in new[] { (1, 2), (5, 3), (30, 4) })
        {
            // The clock moves only once the failure is recorded, so the retry is due exactly `delay` after the attempt.
            await Eventually.TrueAsync(() => failures.GetMeasurementSnapshot().Count == attempt - 1, $"attempt {attempt - 1} recorded as failed");
            fixture.Clock.Advance(TimeSpan.FromSeconds(delay));
            await Eventually.TrueAsync(() => GatewayPushes(token).Count == attempt, $"attempt {attempt}");
        }

        var attempts = GatewayPushes(token).Select(r => (r.At - first).TotalSeconds).ToList();
        Assert.Equal([0, 1, 6, 36], attempts);
        JsonElement dead = default;
        await Eventually.TrueAsync(async () =>
        {
            var page = await _client.OkAsync<JsonElement>(HttpMethod.Get, "/api/v1/admin/dead-letters?kind=push&errorType=Http500&limit=100", fixture.Admin);
            dead = page.GetProperty("items").EnumerateArray().FirstOrDefault(d => d.GetProperty("payload").GetProperty("token").GetString() == token);
            return dead.ValueKind == JsonValueKind.Object;
        }, "the push dead letter");
        Assert.Equal(4, dead.GetProperty("attempts").GetInt32());
        Assert.Equal("retryable", dead.GetProperty("failure").GetString());
        Assert.Contains("down", dead.GetProperty("error").GetString(), StringComparison.Ordinal);
        var id = dead.GetProperty("id").GetString()!;
        Assert.StartsWith("push:", id, StringComparison.Ordinal);

        Volatile.Write(ref failing, false);
        await _client.OkAsync<JsonElement>(HttpMethod.Post, $"/api/v1/admin/dead-letters/{id}/replay", fixture.Admin);
        await Eventually.TrueAsync(() => GatewayPushes(token).Count == 5, "the replayed push");
        await DrainedAsync();
        using var gone = await _client.SendRawAsync(HttpMethod.Post, $"/api/v1/admin/dead-letters/{id}/replay", fixture.Admin);
        await ProblemAssert.IsAsync(gone, HttpStatusCode.NotFound, "DEAD_LETTER_NOT_FOUND");
    }

    [Fact]
    public async Task A_hanging_provider_does_not_hold_up_live_delivery()
    {
        var token = "gw-" + Guid.NewGuid().ToString("N");
        _receiver.Respond = r => r.Text.Contains(token, StringComparison.Ordinal) ? null : (200, "");
        var (sender, offline, online) = (await _client.SignUpAsync(), await _client.SignUpAsync(), await _client.SignUpAsync());
        var group = (await _client.GroupAsync(sender, "hanging", offline.UserId, online.UserId)).Id;
        await RegisterAsync(offline, new { platform = "webhook", token }, HttpStatusCode.Created);
        await using var device = await _client.ConnectAsync(online);

        await _client.SendAsync(sender, group, "first");
        await PlannedAsync(group, 1);
        fixture.Clock.Advance(PushServerBase.Window);
        await Eventually.TrueAsync(() => GatewayPushes(token).Count == 1 && _receiver.InFlight > 0, "the push hanging at the provider");

        // While the provider holds that call, messages keep reaching the online device, every one and in order.
        for (var i = 0; i < 20; i++)
        {
            await _client.SendAsync(sender, group, $"live {i}");
        }

        var received = await device.WaitForMessagesAsync(m => m.Count(x => x.Content.StartsWith("live ", StringComparison.Ordinal)) == 20);
        Assert.Equal(Enumerable.Range(0, 20).Select(i => $"live {i}"), received.Where(m => m.Content.StartsWith("live ", StringComparison.Ordinal)).Select(m => m.Content));
        Assert.True(_receiver.InFlight > 0, "the provider call was still hanging when the last live message arrived");

        // Let the provider answer: the job fails over to its retry (1 s on the push clock), which now succeeds, and the 20
        // live messages, planned meanwhile, went into one new job for the device (due after the window).
        using var failures = FailedAttempts();
        _receiver.Respond = _ => (200, "");
        _receiver.ReleaseHanging();
        await Eventually.TrueAsync(() => failures.GetMeasurementSnapshot().Count == 1, "the released call recorded as failed");
        await PlannedAsync(group, 21);
        fixture.Clock.Advance(PushServerBase.Window);
        await DrainedAsync();
        var pushes = GatewayPushes(token);
        Assert.Equal(3, pushes.Count);
        Assert.Equal([1, 1, 20], pushes.Select(p => JsonDocument.Parse(p.Body).RootElement.GetProperty("count").GetInt32()).Order());
    }

    [Fact]
    public async Task A_provider_that_keeps_failing_opens_its_breaker_health_says_so_and_it_closes_after_the_provider_recovers()
    {
        var prefix = "brk-" + Guid.NewGuid().ToString("N")[..8];
        var down = true;
        _receiver.Respond = r => Volatile.Read(ref down) && r.Text.Contains(prefix, StringComparison.Ordinal) ? (503, "") : (200, "");
        var sender = await _client.SignUpAsync();
        var members = new List<Session>();
        for (var i = 0; i < 12; i++)
        {
            var member = await _client.SignUpAsync();
            await RegisterAsync(member, new { platform = "webhook", token = $"{prefix}-{i}" }, HttpStatusCode.Created);
            members.Add(member);
        }

        var group = (await _client.GroupAsync(sender, "breaker", [.. members.Select(m => m.UserId)])).Id;
        using var failures = FailedAttempts();
        using var sent = Collector("delivery_push_sent");
        using var transitions = Collector("circuit_breaker_transitions");
        await _client.SendAsync(sender, group, "anyone?");
        await PlannedAsync(group, 1);
        fixture.Clock.Advance(PushServerBase.Window);

        // Twelve 503s in the sampling window open the breaker (it needs ten at a failure ratio of a half or more).
        await Eventually.TrueAsync(() => failures.GetMeasurementSnapshot().Count == 12, "12 failed first attempts");
        var opened = Assert.Single(transitions.GetMeasurementSnapshot(), m => Equals(m.Tags["state"], "open"));
        Assert.Equal("push_webhook", opened.Tags["breaker"]);
        using (var health = await _client.Http.GetAsync("/health/ready"))
        {
            using var report = JsonDocument.Parse(await health.Content.ReadAsStringAsync());
            Assert.Equal(HttpStatusCode.OK, health.StatusCode);
            Assert.Equal("degraded", report.RootElement.GetProperty("checks").GetProperty("push").GetProperty("status").GetString());
        }

        // While it is open (3 s here), the retries fail at once and never reach the provider.
        var reached = _receiver.Requests.Count(r => r.Text.Contains(prefix, StringComparison.Ordinal));
        fixture.Clock.Advance(TimeSpan.FromSeconds(1));
        await Eventually.TrueAsync(() => failures.GetMeasurementSnapshot().Count == 24, "12 refused second attempts");
        Assert.All(failures.GetMeasurementSnapshot().Skip(12), m => Assert.Equal("breaker_open", m.Tags["reason"]));
        Assert.Equal(reached, _receiver.Requests.Count(r => r.Text.Contains(prefix, StringComparison.Ordinal)));

        // The provider is back. After the break one probe goes through and closes the breaker; the calls refused while
        // it was half-open come back with their next retry.
        Volatile.Write(ref down, false);
        await Eventually.TrueAsync(() => DateTimeOffset.UtcNow >= opened.Timestamp + TimeSpan.FromSeconds(3.2), "the break to run out");
        fixture.Clock.Advance(TimeSpan.FromSeconds(5));
        await Eventually.TrueAsync(() => failures.GetMeasurementSnapshot().Count + sent.GetMeasurementSnapshot().Count == 36, "the third attempts");
        Assert.Contains(transitions.GetMeasurementSnapshot(), m => Equals(m.Tags["state"], "closed"));
        fixture.Clock.Advance(TimeSpan.FromSeconds(30));
        await Eventually.TrueAsync(() => sent.GetMeasurementSnapshot().Count == 12, "every push sent");
        await DrainedAsync();
        using var healthy = JsonDocument.Parse(await _client.Http.GetStringAsync("/health/ready"));
        Assert.Equal("healthy", healthy.RootElement.GetProperty("checks").GetProperty("push").GetProperty("status").GetString());
    }

    [Fact]
    public async Task The_gateway_push_is_signed_and_carries_the_token_and_a_tampered_body_fails_verification()
    {
        _receiver.Respond = _ => (202, "");
        var (sender, offline) = (await _client.SignUpAsync(), await _client.SignUpAsync());
        var direct = (await _client.DirectAsync(sender, offline.UserId)).Id;
        var token = "gw-" + Guid.NewGuid().ToString("N");
        await RegisterAsync(offline, new { platform = "webhook", token }, HttpStatusCode.Created);
        await _client.SendAsync(sender, direct, "signed");
        await PlannedAsync(direct, 1);
        fixture.Clock.Advance(PushServerBase.Window);
        await Eventually.TrueAsync(() => GatewayPushes(token).Count == 1, "the gateway push");

        var push = Assert.Single(GatewayPushes(token));
        Assert.Equal("/gateway", push.Path);
        var signature = push.Headers[WebhookSignature.Header.ToLowerInvariant()];
        using var payload = JsonDocument.Parse(push.Body);
        Assert.Equal(token, payload.RootElement.GetProperty("token").GetString());
        // The server signs with its real clock; the receiver checks against its own.
        Assert.True(WebhookSignature.Verify(PushServerBase.GatewaySecret, signature, push.Body, DateTimeOffset.UtcNow, WebhookSignature.DefaultTolerance));
        var tampered = push.Body.ToArray();
        tampered[^2] ^= 0x01;
        Assert.False(WebhookSignature.Verify(PushServerBase.GatewaySecret, signature, tampered, DateTimeOffset.UtcNow, WebhookSignature.DefaultTolerance));
        Assert.False(WebhookSignature.Verify("another-secret-0123456789", signature, push.Body, DateTimeOffset.UtcNow, WebhookSignature.DefaultTolerance));
    }

    [Fact]
    public async Task Fcm_and_apns_get_requests_of_their_documented_shape()
    {
        var accessToken = "ya29." + Guid.NewGuid().ToString("N");
        _receiver.Respond = r => r.Path == "/oauth/token"
            ? (200, JsonSerializer.Serialize(new { access_token = accessToken, expires_in = 3599, token_type = "Bearer" }))
            : (200, "{\"name\":\"projects/parley-test/messages/1\"}");
        fixture.Apns.Respond = _ => (200, "");
        var (sender, android, iphone) = (await _client.SignUpAsync(), await _client.SignUpAsync(), await _client.SignUpAsync());
        var group = (await _client.GroupAsync(sender, "mobile", android.UserId, iphone.UserId)).Id;
        var fcmToken = "fcm-" + Guid.NewGuid().ToString("N");
        var apnsToken = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));
        await RegisterAsync(android, new { platform = "fcm", token = fcmToken }, HttpStatusCode.Created);
        await RegisterAsync(iphone, new { platform = "apns", token = apnsToken }, HttpStatusCode.Created);
        var ack = await _client.SendAsync(sender, group, "to the phones");
        await PlannedAsync(group, 1);
        fixture.Clock.Advance(PushServerBase.Window);
        await Eventually.TrueAsync(() => _receiver.Requests.Any(r => r.Text.Contains(fcmToken, StringComparison.Ordinal)) && fixture.Apns.To($"/3/device/{apnsToken}").Count == 1,
            "both mobile pushes");

        var grant = _receiver.Requests.Last(r => r.Path == "/oauth/token");
        var form = grant.Text.Split('&').Select(p => p.Split('=')).ToDictionary(p => p[0], p => Uri.UnescapeDataString(p[1]));
        Assert.Equal("urn:ietf:params:oauth:grant-type:jwt-bearer", form["grant_type"]);
        var claims = JwtPayload(form["assertion"], data => VerifyRs256(fixture.FcmPublicKey, data));
        Assert.Equal("push@parley-test.iam.gserviceaccount.com", claims.GetProperty("iss").GetString());
        Assert.Equal(FcmPushProvider.Scope, claims.GetProperty("scope").GetString());
        var send = _receiver.Requests.Single(r => r.Text.Contains(fcmToken, StringComparison.Ordinal));
        Assert.Equal("POST", send.Method);
        Assert.Equal("/fcm/v1/projects/parley-test/messages:send", send.Path);
        Assert.Equal($"Bearer {accessToken}", send.Headers["authorization"]);
        using (var fcm = JsonDocument.Parse(send.Body))
        {
            var message = fcm.RootElement.GetProperty("message");
            Assert.Equal(fcmToken, message.GetProperty("token").GetString());
            Assert.Equal("mobile", message.GetProperty("notification").GetProperty("title").GetString());
            Assert.Equal(group.ToString(), message.GetProperty("data").GetProperty("conversationId").GetString());
            Assert.Equal(ack.MessageId.ToString(), message.GetProperty("data").GetProperty("messageIds").GetString());
        }

        var apns = Assert.Single(fixture.Apns.To($"/3/device/{apnsToken}"));
        Assert.Equal("HTTP/2", apns.Protocol);
        Assert.Equal("com.example.chat", apns.Headers["apns-topic"]);
        Assert.Equal("alert", apns.Headers["apns-push-type"]);
        Assert.StartsWith("bearer ", apns.Headers["authorization"], StringComparison.Ordinal);
        var header = JwtHeader(apns.Headers["authorization"]["bearer ".Length..]);
        Assert.Equal("ES256", header.GetProperty("alg").GetString());
        Assert.Equal("KEY1234567", header.GetProperty("kid").GetString());
        Assert.Equal("TEAM123456", JwtPayload(apns.Headers["authorization"]["bearer ".Length..], data => VerifyEs256(fixture.ApnsPublicKey, data)).GetProperty("iss").GetString());
        using var body = JsonDocument.Parse(apns.Body);
        Assert.Equal("to the phones", body.RootElement.GetProperty("aps").GetProperty("alert").GetProperty("body").GetString().AsSpan()[^"to the phones".Length..].ToString());
        Assert.Equal(1, body.RootElement.GetProperty("aps").GetProperty("badge").GetInt64());
    }

    [Fact]
    public async Task A_token_the_provider_reports_gone_unregisters_the_device()
    {
        var token = "gw-" + Guid.NewGuid().ToString("N");
        _receiver.Respond = r => r.Text.Contains(token, StringComparison.Ordinal) ? (410, "{\"error\":\"unregistered\"}") : (200, "");
        var (sender, offline) = (await _client.SignUpAsync(), await _client.SignUpAsync());
        var direct = (await _client.DirectAsync(sender, offline.UserId)).Id;
        await RegisterAsync(offline, new { platform = "webhook", token }, HttpStatusCode.Created);
        await _client.SendAsync(sender, direct, "hello?");
        await PlannedAsync(direct, 1);
        fixture.Clock.Advance(PushServerBase.Window);

        await Eventually.TrueAsync(async () => (await ListAsync(offline)).GetArrayLength() == 0, "the device unregistered");
        Assert.Single(GatewayPushes(token));
        var events = fixture.Server.Services.GetRequiredService<IDomainEventStore>();
        // Read until visible: PostgreSQL's outbox withholds an event while an earlier transaction could still commit.
        IReadOnlyList<DomainEvent> removed = [];
        await Eventually.TrueAsync(async () => (removed = await events.ReadAsync(EventCursor.Start, 1000,
            new EventFilter(offline.UserId.ToString(), DomainEventTypes.DeviceRemoved), CancellationToken.None)).Count > 0, "device.removed in the outbox");
        Assert.Contains("\"reason\":\"gone\"", Assert.Single(removed).Data, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_muted_conversation_makes_no_push_and_unmuting_brings_them_back()
    {
        _receiver.Respond = _ => (200, "");
        var (sender, muter) = (await _client.SignUpAsync(), await _client.SignUpAsync());
        var direct = (await _client.DirectAsync(sender, muter.UserId)).Id;
        var token = "gw-" + Guid.NewGuid().ToString("N");
        await RegisterAsync(muter, new { platform = "webhook", token }, HttpStatusCode.Created);
        await _client.OkAsync<JsonElement>(HttpMethod.Patch, $"/api/v1/conversations/{direct}/settings", muter, new { muted = true });
        await _client.SendAsync(sender, direct, "you will not hear this");
        await PlannedAsync(direct, 1);
        await _client.OkAsync<JsonElement>(HttpMethod.Patch, $"/api/v1/conversations/{direct}/settings", muter, new { muted = false });
        await _client.SendAsync(sender, direct, "but this");
        await PlannedAsync(direct, 2);
        fixture.Clock.Advance(PushServerBase.Window);
        await Eventually.TrueAsync(() => GatewayPushes(token).Count == 1, "the push after unmuting");
        await DrainedAsync();
        using var payload = JsonDocument.Parse(Assert.Single(GatewayPushes(token)).Body);
        Assert.Equal(1, payload.RootElement.GetProperty("count").GetInt32());
        Assert.EndsWith("but this", payload.RootElement.GetProperty("body").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Devices_are_registered_once_per_token_listed_and_removed_by_their_owner_only()
    {
        var (me, other) = (await _client.SignUpAsync(), await _client.SignUpAsync());
        var token = "fcm-" + Guid.NewGuid().ToString("N");
        var first = await RegisterAsync(me, new { platform = "fcm", token }, HttpStatusCode.Created);
        var again = await RegisterAsync(me, new { platform = "fcm", token }, HttpStatusCode.OK);
        Assert.Equal(first.GetProperty("id").GetGuid(), again.GetProperty("id").GetGuid());
        Assert.False(first.TryGetProperty("token", out _));
        var id = first.GetProperty("id").GetGuid();
        Assert.Equal(id, (await ListAsync(me))[0].GetProperty("id").GetGuid());

        using (var notYours = await _client.SendRawAsync(HttpMethod.Delete, $"/api/v1/devices/{id}", other))
        {
            await ProblemAssert.IsAsync(notYours, HttpStatusCode.NotFound, "DEVICE_NOT_FOUND");
        }

        // The same token signed into another account moves there: the first owner stops getting its pushes.
        var moved = await RegisterAsync(other, new { platform = "fcm", token }, HttpStatusCode.Created);
        Assert.Equal(0, (await ListAsync(me)).GetArrayLength());
        using (var removed = await _client.SendRawAsync(HttpMethod.Delete, $"/api/v1/devices/{moved.GetProperty("id").GetGuid()}", other))
        {
            Assert.Equal(HttpStatusCode.NoContent, removed.StatusCode);
        }

        Assert.Equal(0, (await ListAsync(other)).GetArrayLength());
        using var elsewhere = await _client.SendRawAsync(HttpMethod.Post, "/api/v1/devices", me, JsonSerializer.Serialize(new
        {
            platform = "webpush",
            subscription = new { endpoint = "https://attacker.example/collect", keys = new { p256dh = Convert.ToBase64String(new byte[65]), auth = "AAAAAAAAAAAAAAAAAAAAAA" } },
        }));
        var problem = await ProblemAssert.IsAsync(elsewhere, HttpStatusCode.BadRequest, "INVALID_FIELD_VALUE");
        Assert.Equal("subscription.endpoint", problem.Details!.Value.GetProperty("field").GetString());
        var key = await _client.OkAsync<JsonElement>(HttpMethod.Get, "/api/v1/devices/webpush-key", me);
        Assert.Equal(65, System.Buffers.Text.Base64Url.DecodeFromChars(key.GetProperty("publicKey").GetString()).Length);
    }

    private Microsoft.Extensions.Diagnostics.Metrics.Testing.MetricCollector<long> FailedAttempts() => Collector("delivery_push_failed");

    private Microsoft.Extensions.Diagnostics.Metrics.Testing.MetricCollector<long> Collector(string instrument) =>
        new(fixture.Server.Services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>(), Parley.Server.Hosting.Telemetry.PushMeter, instrument);

    private List<ReceivedRequest> GatewayPushes(string token) =>
        [.. _receiver.To("/gateway").Where(r => r.Text.Contains(token, StringComparison.Ordinal))];

    private Task<JsonElement> RegisterAsync(Session me, object body, HttpStatusCode expected) =>
        _client.OkAsync<JsonElement>(HttpMethod.Post, "/api/v1/devices", me, body, expected);

    private async Task<JsonElement> ListAsync(Session me) => (await _client.OkAsync<JsonElement>(HttpMethod.Get, "/api/v1/devices", me)).GetProperty("items");

    /// <summary>The push planner has handled the conversation's first <paramref name="count"/> stored messages (its saved position is past them).</summary>
    private async Task PlannedAsync(Guid conversationId, int count)
    {
        var events = fixture.Server.Services.GetRequiredService<IDomainEventStore>();
        await Eventually.TrueAsync(async () =>
        {
            var stored = await events.ReadAsync(EventCursor.Start, 10_000, new EventFilter(conversationId.ToString(), DomainEventTypes.MessageStored), CancellationToken.None);
            return stored.Count >= count && await events.GetCheckpointAsync("push", CancellationToken.None) >= stored[count - 1].Cursor;
        }, $"the push planner past {count} message(s) of {conversationId}");
    }

    /// <summary>Every queued job finished (sent, unregistered or dead-lettered).</summary>
    private Task DrainedAsync() => Eventually.TrueAsync(async () => await Queue.CountAsync(CancellationToken.None) == 0, "the push queue drained");

    private async Task VapidSignedAsync(ReceivedRequest push, Session me)
    {
        var key = await _client.OkAsync<JsonElement>(HttpMethod.Get, "/api/v1/devices/webpush-key", me);
        var parts = push.Headers["authorization"]["vapid ".Length..].Split(',', StringSplitOptions.TrimEntries).ToDictionary(p => p[..1], p => p[2..]);
        Assert.Equal(key.GetProperty("publicKey").GetString(), parts["k"]);
        var raw = System.Buffers.Text.Base64Url.DecodeFromChars(parts["k"]);
        using var ecdsa = ECDsa.Create(new ECParameters { Curve = ECCurve.NamedCurves.nistP256, Q = new ECPoint { X = raw[1..33], Y = raw[33..65] } });
        var claims = JwtPayload(parts["t"], data => VerifyEs256(ecdsa.ExportSubjectPublicKeyInfo(), data));
        // The push service's origin. Lib.Net.Http.WebPush leaves out a non-default port; real push services are on 443.
        Assert.Equal($"{_receiver.BaseAddress.Scheme}://{_receiver.BaseAddress.Host}", claims.GetProperty("aud").GetString());
        Assert.True(claims.GetProperty("exp").GetInt64() > DateTimeOffset.UtcNow.ToUnixTimeSeconds());
    }

    private static JsonElement JwtHeader(string jwt) => JsonDocument.Parse(System.Buffers.Text.Base64Url.DecodeFromChars(jwt.Split('.')[0])).RootElement;

    private static JsonElement JwtPayload(string jwt, Func<(byte[] Signed, byte[] Signature), bool> verify)
    {
        var parts = jwt.Split('.');
        Assert.True(verify((Encoding.ASCII.GetBytes($"{parts[0]}.{parts[1]}"), System.Buffers.Text.Base64Url.DecodeFromChars(parts[2]))), "the JWT's signature verifies");
        return JsonDocument.Parse(System.Buffers.Text.Base64Url.DecodeFromChars(parts[1])).RootElement;
    }

    private static bool VerifyRs256(byte[] publicKey, (byte[] Signed, byte[] Signature) data)
    {
        using var rsa = RSA.Create();
        rsa.ImportSubjectPublicKeyInfo(publicKey, out _);
        return rsa.VerifyData(data.Signed, data.Signature, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
    }

    private static bool VerifyEs256(byte[] publicKey, (byte[] Signed, byte[] Signature) data)
    {
        using var ecdsa = ECDsa.Create();
        ecdsa.ImportSubjectPublicKeyInfo(publicKey, out _);
        return ecdsa.VerifyData(data.Signed, data.Signature, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
    }
}
