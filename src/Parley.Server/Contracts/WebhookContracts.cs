using System.Text.Json.Serialization;
using Parley.Core.Ports;

namespace Parley.Server.Contracts;

/// <summary>A webhook subscription as the admin API shows it: never its secret (that is shown once, on create).</summary>
public sealed record WebhookView(
    Guid Id,
    string Url,
    IReadOnlyList<string> EventTypes,
    bool Enabled,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Description,
    DateTimeOffset CreatedAt,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] DateTimeOffset? UpdatedAt,
    int ConsecutiveFailures,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] DateTimeOffset? DisabledAt)
{
    public static WebhookView From(WebhookSubscription s) =>
        new(s.Id, s.Url, s.EventTypes, s.Enabled, s.Description, s.CreatedAt, s.UpdatedAt, s.ConsecutiveFailures, s.DisabledAt);
}

/// <summary><c>POST /api/v1/admin/webhooks</c>: the subscription and its secret, the one time the API shows it.</summary>
public sealed record WebhookCreatedView(WebhookView Webhook, string Secret);

public sealed record WebhookListView(IReadOnlyList<WebhookView> Items);

/// <summary>One delivery of one event to one subscription: its state, and the body that is (or was) POSTed.</summary>
public sealed record WebhookDeliveryView(
    Guid Id,
    Guid SubscriptionId,
    Guid EventId,
    string EventType,
    string AggregateId,
    string Status,
    int Attempts,
    DateTimeOffset NextAttemptAt,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] int? LastStatusCode,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? LastError,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? ErrorType,
    DateTimeOffset CreatedAt,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] DateTimeOffset? DeliveredAt,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] DateTimeOffset? DeadAt,
    int Replays,
    JsonText Payload)
{
    public static WebhookDeliveryView From(WebhookDelivery d) =>
        new(d.Id, d.SubscriptionId, d.EventId, d.EventType, d.AggregateId, d.Status, d.Attempts, d.NextAttemptAt, d.LastStatusCode, d.LastError, d.ErrorType,
            d.CreatedAt, d.DeliveredAt, d.DeadAt, d.Replays, new JsonText(d.Payload));
}

/// <summary><c>NextCursor</c>: pass it as <c>cursor</c> for the next (older) page; null on the last.</summary>
public sealed record WebhookDeliveryPageView(IReadOnlyList<WebhookDeliveryView> Items, string? NextCursor);
