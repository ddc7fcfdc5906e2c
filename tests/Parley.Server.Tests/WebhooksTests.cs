using System.Net;
using System.Text;
using System.Text.Json;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Parley.Core.Events;
using Parley.Core.Ports;
using Parley.Server.Hosting;
using Parley.Server.Tests.Infrastructure;

namespace Parley.Server.Tests;

/// <summary>Small backoffs and a short run of failures, so retries and disabling happen within a test (real clocks, no sleeps).</summary>
internal static class WebhookTestSettings
{
    public const int DisableAfterFailures = 3;

    public static readonly IReadOnlyDictionary<string, string?> Values = new Dictionary<string, string?>
    {
        ["Parley:Events:PollInterval"] = "00:00:00.050",
        ["Parley:Webhooks:PollInterval"] = "00:00:00.050",
        ["Parley:Webhooks:InitialBackoff"] = "00:00:00.050",
        ["Parley:Webhooks:MaxBackoff"] = "00:00:00.200",
        ["Parley:Webhooks:MaxAttempts"] = "10",
        ["Parley:Webhooks:DisableAfterFailures"] = DisableAfterFailures.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["Parley:Webhooks:Timeout"] = "00:00:05",
        // A killed node's claims come back to the queue after this (WebhooksAcrossKillTests).
        ["Parley:Webhooks:ClaimTimeout"] = "00:00:06",
    };
}

public sealed class EmbeddedWebhookServer() : ModerationServerBase(TestEngines.Embedded, WebhookTestSettings.Values);

public sealed class ProductionWebhookServer() : ModerationServerBase(TestEngines.Production, WebhookTestSettings.Values);

public sealed class EmbeddedWebhooksTests(EmbeddedWebhookServer fixture) : WebhooksTests(fixture.Server, fixture.Admin), IClassFixture<EmbeddedWebhookServer>;

public sealed class ProductionWebhooksTests(ProductionWebhookServer fixture) : WebhooksTests(fixture.Server, fixture.Admin), IClassFixture<ProductionWebhookServer>;

/// <summary>
/// Webhooks (issue 16, E5) end to end against a real receiver: signed deliveries in order per aggregate, retries of
/// retryable failures, dead letters of permanent ones and their redelivery, disabling after a run of failures, and the
/// admin API's refusals. Each test subscribes a receiver of its own to what only it causes.
/// </summary>
public abstract class WebhooksTests(TestServer server, Session admin)
{
    private const string Path = "/api/v1/admin/webhooks";
    private readonly ParleyClient _client = server.Client();

    private async Task<(Guid Id, string Secret)> SubscribeAsync(WebhookReceiver receiver, string[] eventTypes, string? secret = null)
    {
        var created = await _client.OkAsync<JsonElement>(HttpMethod.Post, Path, admin, new { url = receiver.Url.ToString(), eventTypes, secret }, HttpStatusCode.Created);
        return (created.GetProperty("webhook").GetProperty("id").GetGuid(), created.GetProperty("secret").GetString()!);
    }

    private async Task<JsonElement[]> DeliveriesAsync(Guid webhook, string query = "") =>
        [.. (await _client.OkAsync<JsonElement>(HttpMethod.Get, $"{Path}/{webhook}/deliveries{query}", admin)).GetProperty("items").EnumerateArray()];

    private async Task<JsonElement> DeliveryOfAsync(Guid webhook, string aggregateId, Func<JsonElement, bool> condition, string what)
    {
        JsonElement found = default;
        await Eventually.TrueAsync(async () =>
        {
            var mine = (await DeliveriesAsync(webhook)).Where(d => d.GetProperty("aggregateId").GetString() == aggregateId).ToList();
            found = mine.FirstOrDefault();
            return mine.Count == 1 && condition(found);
        }, what);
        return found;
    }

    /// <summary>A conversation.created event only this test causes: a direct conversation between two new users.</summary>
    private async Task<Guid> NewConversationAsync()
    {
        var (a, b) = (await _client.SignUpAsync(), await _client.SignUpAsync());
        return (await _client.DirectAsync(a, b.UserId)).Id;
    }

    [Fact]
    public async Task Subscribed_events_arrive_signed_and_in_order_per_conversation_and_a_tampered_body_fails_verification()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        const string secret = "a-shared-secret-of-the-receiver";
        var (webhook, shown) = await SubscribeAsync(receiver, [DomainEventTypes.MessageStored], secret);
        Assert.Equal(secret, shown);
        var listed = (await _client.OkAsync<JsonElement>(HttpMethod.Get, Path, admin)).GetProperty("items").EnumerateArray().Single(w => w.GetProperty("id").GetGuid() == webhook);
        Assert.False(listed.TryGetProperty("secret", out _));
        Assert.Equal([DomainEventTypes.MessageStored], listed.GetProperty("eventTypes").EnumerateArray().Select(t => t.GetString()));

        var (a, b) = (await _client.SignUpAsync(), await _client.SignUpAsync());
        var direct = (await _client.DirectAsync(a, b.UserId)).Id;
        var sent = new List<Guid>();
        for (var i = 0; i < 6; i++)
        {
            sent.Add((await _client.SendAsync(i % 2 == 0 ? a : b, direct, $"m{i}")).MessageId);
        }

        List<ReceivedWebhook> mine = [];
        await Eventually.TrueAsync(() =>
        {
            mine = [.. receiver.Received.Where(r => r.Json.GetProperty("aggregateId").GetString() == direct.ToString())];
            return mine.Count >= sent.Count;
        }, "six message.stored deliveries");

        var now = DateTimeOffset.UtcNow;
        Assert.Equal(sent, mine.Select(r => r.Json.GetProperty("data").GetProperty("messageId").GetGuid()));
        Assert.All(mine, r =>
        {
            Assert.True(WebhookSignature.Verify(secret, r.Signature, r.Body, now, WebhookSignature.DefaultTolerance), $"signature {r.Signature} does not verify");
            Assert.False(WebhookSignature.Verify("another-secret-entirely", r.Signature, r.Body, now, WebhookSignature.DefaultTolerance));
            var tampered = Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(r.Body).Replace("\"m", "\"x", StringComparison.Ordinal).Replace(direct.ToString(), Guid.NewGuid().ToString(), StringComparison.Ordinal));
            Assert.False(WebhookSignature.Verify(secret, r.Signature, tampered, now, WebhookSignature.DefaultTolerance));
            Assert.Equal((DomainEventTypes.MessageStored, r.Json.GetProperty("id").GetString(), "conversation"),
                (r.EventType, r.EventId, r.Json.GetProperty("aggregateType").GetString()));
            Assert.StartsWith("application/json", r.ContentType, StringComparison.Ordinal);
        });

        // The receiver answered before the dispatcher recorded the outcome: wait for the log to show all six delivered.
        var ids = mine.Select(r => r.DeliveryId!).ToHashSet();
        await Eventually.TrueAsync(async () => ids.IsSubsetOf((await DeliveriesAsync(webhook, "?status=delivered")).Select(d => d.GetProperty("id").GetString()!)),
            "the delivery log to show the six deliveries delivered");
    }

    [Fact]
    public async Task A_receiver_that_hangs_does_not_hold_back_another_subscriptions_deliveries()
    {
        // The dispatcher used to wait for its whole claimed batch, so one receiver holding a call held every other
        // subscription's deliveries claimed with it until Parley:Webhooks:Timeout (5 s here), then came back with it.
        await using var slow = await PushReceiver.StartAsync();
        slow.Respond = _ => null;
        await using var fast = await WebhookReceiver.StartAsync();
        var hanging = (await _client.OkAsync<JsonElement>(HttpMethod.Post, Path, admin,
            new { url = new Uri(slow.BaseAddress, "/slow").ToString(), eventTypes = new[] { DomainEventTypes.ConversationCreated } }, HttpStatusCode.Created))
            .GetProperty("webhook").GetProperty("id").GetGuid();
        var (answering, _) = await SubscribeAsync(fast, [DomainEventTypes.ConversationCreated]);
        try
        {
            await NewConversationAsync();
            await Eventually.TrueAsync(() => slow.InFlight == 1, "the slow receiver holding the first delivery");

            var later = new List<string>();
            for (var i = 0; i < 3; i++)
            {
                later.Add((await NewConversationAsync()).ToString());
            }

            // Within the 5 s the first call is held: before the fix nothing else could be sent until it timed out.
            await Eventually.TrueAsync(() => later.All(c => fast.Received.Any(r => r.Json.GetProperty("aggregateId").GetString() == c)),
                "the other subscription's deliveries while the slow receiver holds its first call", TimeSpan.FromSeconds(4));
            Assert.All(slow.Requests, r => Assert.Equal(1, slow.Requests.Count(o => o.Text == r.Text)));
        }
        finally
        {
            await _client.SendRawAsync(HttpMethod.Delete, $"{Path}/{hanging}", admin);
            await _client.SendRawAsync(HttpMethod.Delete, $"{Path}/{answering}", admin);
        }
    }

    [Fact]
    public async Task A_receiver_answering_500_then_200_gets_the_same_delivery_again_and_it_ends_delivered_after_two_attempts()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        receiver.Respond = n => n == 0 ? 500 : 200;
        var (webhook, _) = await SubscribeAsync(receiver, [DomainEventTypes.ConversationCreated]);
        var conversation = (await NewConversationAsync()).ToString();

        var delivered = await DeliveryOfAsync(webhook, conversation, d => d.GetProperty("status").GetString() == "delivered", "the delivery to end delivered");
        Assert.Equal((2, 200), (delivered.GetProperty("attempts").GetInt32(), delivered.GetProperty("lastStatusCode").GetInt32()));
        var attempts = receiver.Received.Where(r => r.Json.GetProperty("aggregateId").GetString() == conversation).ToList();
        Assert.Equal(2, attempts.Count);
        Assert.Equal(attempts[0].DeliveryId, attempts[1].DeliveryId);
        Assert.Equal(attempts[0].Body, attempts[1].Body);
    }

    [Fact]
    public async Task A_permanent_400_is_dead_at_once_shown_as_a_webhook_dead_letter_and_redelivered_on_request()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        var refuse = true;
        receiver.Respond = _ => Volatile.Read(ref refuse) ? 400 : 204;
        var (webhook, _) = await SubscribeAsync(receiver, [DomainEventTypes.ConversationCreated]);
        var conversation = (await NewConversationAsync()).ToString();

        var dead = await DeliveryOfAsync(webhook, conversation, d => d.GetProperty("status").GetString() == "failed", "the delivery to be dead");
        Assert.Equal((1, 400, "Http400"), (dead.GetProperty("attempts").GetInt32(), dead.GetProperty("lastStatusCode").GetInt32(), dead.GetProperty("errorType").GetString()));
        var deliveryId = dead.GetProperty("id").GetString()!;
        Assert.Contains(await DeliveriesAsync(webhook, "?status=failed"), d => d.GetProperty("id").GetString() == deliveryId);
        var kind = server.Services.GetServices<IDeadLetterKind>().Single(k => k.Kind == "webhook");
        var letter = (await kind.GetAsync(deliveryId, default))!;
        Assert.Equal(("Http400", webhook.ToString(), conversation), (letter.ErrorType, letter.Subject, JsonDocument.Parse(letter.Payload).RootElement.GetProperty("aggregateId").GetString()));

        Volatile.Write(ref refuse, false);
        var redelivered = await _client.OkAsync<JsonElement>(HttpMethod.Post, $"{Path}/{webhook}/deliveries/{deliveryId}/redeliver", admin, null, HttpStatusCode.Accepted);
        Assert.Equal(("pending", 1), (redelivered.GetProperty("status").GetString(), redelivered.GetProperty("replays").GetInt32()));
        await DeliveryOfAsync(webhook, conversation, d => d.GetProperty("status").GetString() == "delivered", "the redelivered delivery to be delivered");
        Assert.Null(await kind.GetAsync(deliveryId, default));

        // Even a delivered one is sent again on request: a receiver that lost what it got asks for it.
        await _client.OkAsync<JsonElement>(HttpMethod.Post, $"{Path}/{webhook}/deliveries/{deliveryId}/redeliver", admin, null, HttpStatusCode.Accepted);
        await Eventually.TrueAsync(() => receiver.Received.Count(r => r.DeliveryId == deliveryId) == 3, "the third POST of the delivery");
    }

    [Fact]
    public async Task A_run_of_failures_disables_the_subscription_and_enabling_it_delivers_what_waited()
    {
        // At least, not exactly: earlier tests' subscriptions (their receivers gone) may still be failing meanwhile.
        var meters = server.Services.GetRequiredService<IMeterFactory>();
        using var attempts = new MetricCollector<long>(meters, Telemetry.WebhooksMeter, "webhook_deliveries");
        using var durations = new MetricCollector<double>(meters, Telemetry.WebhooksMeter, "webhook_delivery_duration_ms");
        using var disabled = new MetricCollector<long>(meters, Telemetry.WebhooksMeter, "webhook_subscriptions_disabled");
        await using var receiver = await WebhookReceiver.StartAsync();
        var down = true;
        receiver.Respond = _ => Volatile.Read(ref down) ? 503 : 200;
        var (webhook, _) = await SubscribeAsync(receiver, [DomainEventTypes.ConversationCreated]);
        var conversation = (await NewConversationAsync()).ToString();

        JsonElement subscription = default;
        await Eventually.TrueAsync(async () =>
        {
            subscription = (await _client.OkAsync<JsonElement>(HttpMethod.Get, Path, admin)).GetProperty("items").EnumerateArray().Single(w => w.GetProperty("id").GetGuid() == webhook);
            return !subscription.GetProperty("enabled").GetBoolean();
        }, "the subscription to be disabled");
        Assert.Equal(WebhookTestSettings.DisableAfterFailures, subscription.GetProperty("consecutiveFailures").GetInt32());
        Assert.True(subscription.TryGetProperty("disabledAt", out _));
        var waiting = await DeliveryOfAsync(webhook, conversation, d => d.GetProperty("status").GetString() == "pending", "the delivery to wait");
        Assert.Equal((WebhookTestSettings.DisableAfterFailures, "Http503"), (waiting.GetProperty("attempts").GetInt32(), waiting.GetProperty("errorType").GetString()));

        Volatile.Write(ref down, false);
        var enabled = await _client.OkAsync<JsonElement>(HttpMethod.Patch, $"{Path}/{webhook}", admin, new { enabled = true });
        Assert.Equal((true, 0), (enabled.GetProperty("enabled").GetBoolean(), enabled.GetProperty("consecutiveFailures").GetInt32()));
        Assert.False(enabled.TryGetProperty("disabledAt", out _));
        await DeliveryOfAsync(webhook, conversation, d => d.GetProperty("status").GetString() == "delivered", "the waiting delivery to be delivered");
        Assert.Equal(WebhookTestSettings.DisableAfterFailures + 1, receiver.Received.Count(r => r.Json.GetProperty("aggregateId").GetString() == conversation));

        long Count(string status) => attempts.GetMeasurementSnapshot().Where(m => m.Tags.TryGetValue("status", out var s) && (string?)s == status).Sum(m => m.Value);
        // The store shows the outcome a moment before the dispatcher counts it.
        await Eventually.TrueAsync(() => Count("retried") >= WebhookTestSettings.DisableAfterFailures && Count("delivered") >= 1
            && durations.GetMeasurementSnapshot().Count >= WebhookTestSettings.DisableAfterFailures + 1 && disabled.GetMeasurementSnapshot().EvaluateAsCounter() >= 1,
            "webhook_deliveries_total by status, webhook_delivery_duration_ms and webhook_subscriptions_disabled_total");
    }

    [Fact]
    public async Task A_subscription_is_changed_and_deleted_and_its_changes_are_domain_events_without_the_secret()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        var (webhook, secret) = await SubscribeAsync(receiver, ["*"]);
        Assert.StartsWith("whsec_", secret, StringComparison.Ordinal);
        var changed = await _client.OkAsync<JsonElement>(HttpMethod.Patch, $"{Path}/{webhook}", admin,
            new { eventTypes = new[] { DomainEventTypes.MessageEdited, DomainEventTypes.MessageEdited }, description = "crm", secret = "a-rotated-secret-value" });
        Assert.Equal([DomainEventTypes.MessageEdited], changed.GetProperty("eventTypes").EnumerateArray().Select(t => t.GetString()));
        Assert.Equal("crm", changed.GetProperty("description").GetString());
        Assert.False(changed.TryGetProperty("secret", out _));
        var cleared = await _client.OkAsync<JsonElement>(HttpMethod.Patch, $"{Path}/{webhook}", admin, JsonDocument.Parse("""{"description":null}""").RootElement);
        Assert.False(cleared.TryGetProperty("description", out _));

        using (var deleted = await _client.SendRawAsync(HttpMethod.Delete, $"{Path}/{webhook}", admin))
        {
            Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        }

        await ProblemAssert.IsAsync(await _client.SendRawAsync(HttpMethod.Delete, $"{Path}/{webhook}", admin), HttpStatusCode.NotFound, "WEBHOOK_NOT_FOUND");
        JsonElement[] events = [];
        await Eventually.TrueAsync(async () =>
        {
            events = [.. (await _client.OkAsync<JsonElement>(HttpMethod.Get, $"/api/v1/admin/events?aggregateId={webhook}", admin)).GetProperty("items").EnumerateArray()];
            return events.Length == 4;
        }, "the subscription's four events");
        Assert.Equal(["webhook.created", "webhook.updated", "webhook.updated", "webhook.deleted"], events.Select(e => e.GetProperty("type").GetString()));
        Assert.All(events, e => Assert.DoesNotContain("secret", e.GetProperty("data").GetRawText(), StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("""{"eventTypes":["*"]}""", "MISSING_REQUIRED_FIELD")]
    [InlineData("""{"url":"https://hooks.example/in"}""", "MISSING_REQUIRED_FIELD")]
    [InlineData("""{"url":"ftp://hooks.example/in","eventTypes":["*"]}""", "INVALID_FIELD_VALUE")]
    [InlineData("""{"url":"/relative","eventTypes":["*"]}""", "INVALID_FIELD_VALUE")]
    [InlineData("""{"url":"https://user:pass@hooks.example/in","eventTypes":["*"]}""", "INVALID_FIELD_VALUE")]
    [InlineData("""{"url":42,"eventTypes":["*"]}""", "INVALID_FIELD_TYPE")]
    [InlineData("""{"url":"https://hooks.example/in","eventTypes":[]}""", "INVALID_FIELD_VALUE")]
    [InlineData("""{"url":"https://hooks.example/in","eventTypes":["message.bogus"]}""", "INVALID_FIELD_VALUE")]
    [InlineData("""{"url":"https://hooks.example/in","eventTypes":"*"}""", "INVALID_FIELD_TYPE")]
    [InlineData("""{"url":"https://hooks.example/in","eventTypes":["*"],"secret":"too-short"}""", "INVALID_FIELD_VALUE")]
    [InlineData("""{"url":"https://hooks.example/in","eventTypes":["*"],"enabled":"yes"}""", "INVALID_FIELD_TYPE")]
    [InlineData("""[1]""", "INVALID_SCHEMA")]
    [InlineData("""{"url":""", "INVALID_JSON")]
    public async Task Bad_subscriptions_are_refused_with_their_codes(string json, string code)
    {
        await ProblemAssert.IsAsync(await _client.SendRawAsync(HttpMethod.Post, Path, admin, json), HttpStatusCode.BadRequest, code);
        await ProblemAssert.IsAsync(await _client.SendRawAsync(HttpMethod.Post, Path, admin, $$"""{"url":"https://h.example/{{new string('x', 2000)}}","eventTypes":["*"]}"""),
            HttpStatusCode.BadRequest, "FIELD_TOO_LONG");
        await ProblemAssert.IsAsync(await _client.SendRawAsync(HttpMethod.Post, Path, admin, $$"""{"url":"https://h.example/","eventTypes":["*"],"secret":"{{new string('s', 257)}}"}"""),
            HttpStatusCode.BadRequest, "FIELD_TOO_LONG");
    }

    [Fact]
    public async Task Unknown_subscriptions_deliveries_and_bad_filters_are_refused_and_non_admins_get_403()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        var (webhook, _) = await SubscribeAsync(receiver, [DomainEventTypes.MessageEdited]);
        var unknown = Guid.NewGuid();
        await ProblemAssert.IsAsync(await _client.SendRawAsync(HttpMethod.Patch, $"{Path}/{unknown}", admin, """{"enabled":true}"""), HttpStatusCode.NotFound, "WEBHOOK_NOT_FOUND");
        await ProblemAssert.IsAsync(await _client.SendRawAsync(HttpMethod.Get, $"{Path}/{unknown}/deliveries", admin), HttpStatusCode.NotFound, "WEBHOOK_NOT_FOUND");
        await ProblemAssert.IsAsync(await _client.SendRawAsync(HttpMethod.Post, $"{Path}/{webhook}/deliveries/{unknown}/redeliver", admin), HttpStatusCode.NotFound,
            "WEBHOOK_DELIVERY_NOT_FOUND");
        await ProblemAssert.IsAsync(await _client.SendRawAsync(HttpMethod.Patch, $"{Path}/not-an-id", admin, """{"enabled":true}"""), HttpStatusCode.BadRequest, "INVALID_FIELD_VALUE");
        await ProblemAssert.IsAsync(await _client.SendRawAsync(HttpMethod.Patch, $"{Path}/{webhook}", admin, """{"enabled":1}"""), HttpStatusCode.BadRequest, "INVALID_FIELD_TYPE");
        await ProblemAssert.IsAsync(await _client.SendRawAsync(HttpMethod.Get, $"{Path}/{webhook}/deliveries?status=lost", admin), HttpStatusCode.BadRequest, "INVALID_FIELD_VALUE");
        await ProblemAssert.IsAsync(await _client.SendRawAsync(HttpMethod.Get, $"{Path}/{webhook}/deliveries?cursor=yesterday", admin), HttpStatusCode.BadRequest, "INVALID_FIELD_VALUE");
        await ProblemAssert.IsAsync(await _client.SendRawAsync(HttpMethod.Get, $"{Path}/{webhook}/deliveries?limit=0", admin), HttpStatusCode.BadRequest, "INVALID_FIELD_VALUE");

        // Every endpoint's refusal of non-admins is in BadInputTests; here, that a subscription exists changes nothing.
        var someone = await _client.SignUpAsync();
        await ProblemAssert.IsAsync(await _client.SendRawAsync(HttpMethod.Get, $"{Path}/{webhook}/deliveries", someone), HttpStatusCode.Forbidden, "FORBIDDEN");
        Assert.Contains((await _client.OkAsync<JsonElement>(HttpMethod.Get, Path, admin)).GetProperty("items").EnumerateArray(), w => w.GetProperty("id").GetGuid() == webhook);
    }
}

public sealed class WebhookSettingsTests
{
    [Theory]
    [InlineData("Parley:Webhooks:ClaimTimeout", "00:00:05")]
    [InlineData("Parley:Webhooks:MaxBackoff", "00:00:00.001")]
    [InlineData("Parley:Webhooks:MaxAttempts", "0")]
    [InlineData("Parley:Webhooks:Timeout", "00:00:00")]
    public async Task A_bad_webhook_setting_stops_the_start_and_names_the_setting(string setting, string value)
    {
        var error = await Assert.ThrowsAsync<Microsoft.Extensions.Options.OptionsValidationException>(() =>
            TestServer.StartAsync(new Dictionary<string, string?> { [setting] = value }));
        Assert.Contains(setting, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_backoff_doubles_from_the_initial_wait_within_its_jitter_and_stops_at_the_cap()
    {
        var options = new Parley.Server.Webhooks.WebhooksOptions { InitialBackoff = TimeSpan.FromSeconds(1), MaxBackoff = TimeSpan.FromSeconds(30) };
        foreach (var (attempt, seconds) in new[] { (1, 1.0), (2, 2.0), (3, 4.0), (5, 16.0) })
        {
            var wait = options.Backoff(attempt).TotalSeconds;
            Assert.InRange(wait, seconds * 0.8, seconds * 1.2);
        }

        Assert.All(Enumerable.Range(6, 100), attempt => Assert.InRange(options.Backoff(attempt).TotalSeconds, 24, 30));
    }
}
