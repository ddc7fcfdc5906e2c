using System.Security.Cryptography;
using Microsoft.Extensions.Options;
using Parley.Core.Errors;
using Parley.Core.Events;
using Parley.Core.Ports;
using Parley.Core.Validation;
using Parley.Server.Auth;
using Parley.Server.Contracts;
using Parley.Server.Hosting;
using Parley.Server.Http;
using Parley.Server.Messaging;

namespace Parley.Server.Webhooks;

/// <summary>
/// Webhook subscriptions for server admins (E5): which domain events go to which URL, signed with which secret, and
/// each subscription's delivery log with a manual redeliver. The secret is shown once, in the answer to the create.
/// </summary>
public static class WebhookEndpoints
{
    public const int MaxUrlLength = 2000;
    public const int MinSecretLength = 16;
    public const int MaxSecretLength = 256;
    public const int MaxDescriptionLength = 500;
    public const int MaxEventTypes = 100;

    public sealed record CreateWebhookBody(string Url, IReadOnlyList<string> EventTypes, string? Secret, string? Description, bool? Enabled);

    public sealed record UpdateWebhookBody(string? Url, IReadOnlyList<string>? EventTypes, string? Secret, string? Description, bool? Enabled);

    public static void MapWebhookEndpoints(this IEndpointRouteBuilder app)
    {
        const string Path = "/api/v1/admin/webhooks";
        app.MapGet(Path, ListAsync).RequireServerAdmin().Produces<WebhookListView>().WithName("listWebhooks");
        app.MapPost(Path, CreateAsync).RequireServerAdmin().Accepts<CreateWebhookBody>("application/json").Produces<WebhookCreatedView>(StatusCodes.Status201Created)
            .WithName("createWebhook");
        app.MapPatch(Path + "/{id}", UpdateAsync).RequireServerAdmin().Accepts<UpdateWebhookBody>("application/json").Produces<WebhookView>().WithName("updateWebhook")
            .WithErrors(ErrorCodes.WebhookNotFound);
        app.MapDelete(Path + "/{id}", DeleteAsync).RequireServerAdmin().Produces(StatusCodes.Status204NoContent).WithName("deleteWebhook")
            .WithErrors(ErrorCodes.WebhookNotFound);
        app.MapGet(Path + "/{id}/deliveries", ListDeliveriesAsync).RequireServerAdmin().Produces<WebhookDeliveryPageView>().WithName("listWebhookDeliveries")
            .WithErrors(ErrorCodes.WebhookNotFound)
            .WithQuery("status", "string", "Only deliveries in this status: pending, delivered, failed (dead) or discarded.")
            .WithPaging();
        app.MapPost(Path + "/{id}/deliveries/{deliveryId}/redeliver", RedeliverAsync).RequireServerAdmin().Produces<WebhookDeliveryView>(StatusCodes.Status202Accepted)
            .WithName("redeliverWebhook").WithErrors(ErrorCodes.WebhookNotFound, ErrorCodes.WebhookDeliveryNotFound);
    }

    private static async Task<IResult> ListAsync(IWebhookStore store, CancellationToken ct) =>
        Results.Json(new WebhookListView([.. (await store.ListSubscriptionsAsync(ct)).Select(WebhookView.From)]), RestJsonContext.Default.WebhookListView);

    private static async Task<IResult> CreateAsync(HttpRequest request, IWebhookStore store, TimeProvider time, ILogger<WebhookDispatcher> logger, CancellationToken ct)
    {
        var me = CurrentUser.Id(request.HttpContext.User);
        var body = await JsonRequest.ReadAsync(request, ct);
        var url = Url(body, required: true)!;
        var eventTypes = EventTypes(body, required: true)!;
        var secret = Secret(body) ?? NewSecret();
        var description = body.OptionalString("description", MaxDescriptionLength);
        var enabled = body.OptionalBool("enabled") ?? true;
        var now = time.GetUtcNow();
        var created = await store.CreateSubscriptionAsync(
            new WebhookSubscription(Guid.CreateVersion7(now), url, eventTypes, secret, enabled, description, now) { DisabledAt = enabled ? null : now }, EventContext.New(me), ct);
        Log.WebhookSubscriptionChanged(logger, created.Id, "created", me);
        return Results.Json(new WebhookCreatedView(WebhookView.From(created), secret), RestJsonContext.Default.WebhookCreatedView, statusCode: StatusCodes.Status201Created);
    }

    /// <summary>Absent fields stay as they are; <c>description: null</c> removes it; <c>enabled: true</c> also clears the run of failures.</summary>
    private static async Task<IResult> UpdateAsync(string id, HttpRequest request, IWebhookStore store, TimeProvider time, ILogger<WebhookDispatcher> logger, CancellationToken ct)
    {
        var me = CurrentUser.Id(request.HttpContext.User);
        var webhookId = JsonRequest.RouteId(id, "webhookId");
        var body = await JsonRequest.ReadAsync(request, ct);
        var description = body.OptionalString("description", MaxDescriptionLength);
        var change = new WebhookSubscriptionChange(Url(body, required: false), EventTypes(body, required: false), Secret(body),
            body.OptionalBool("enabled"), description, ClearDescription: description is null && body.Has("description"));
        var updated = await store.UpdateSubscriptionAsync(webhookId, change, time.GetUtcNow(), EventContext.New(me), ct)
            ?? throw Errors.WebhookNotFound(webhookId).ToException();
        Log.WebhookSubscriptionChanged(logger, webhookId, "updated", me);
        return Results.Json(WebhookView.From(updated), RestJsonContext.Default.WebhookView);
    }

    private static async Task<IResult> DeleteAsync(string id, HttpContext context, IWebhookStore store, TimeProvider time, ILogger<WebhookDispatcher> logger, CancellationToken ct)
    {
        var me = CurrentUser.Id(context.User);
        var webhookId = JsonRequest.RouteId(id, "webhookId");
        if (!await store.DeleteSubscriptionAsync(webhookId, time.GetUtcNow(), EventContext.New(me), ct))
        {
            throw Errors.WebhookNotFound(webhookId).ToException();
        }

        Log.WebhookSubscriptionChanged(logger, webhookId, "deleted", me);
        return Results.NoContent();
    }

    private static async Task<IResult> ListDeliveriesAsync(string id, HttpRequest request, IWebhookStore store, IOptions<LimitsOptions> limits, CancellationToken ct)
    {
        var webhookId = JsonRequest.RouteId(id, "webhookId");
        var status = JsonRequest.QueryOneOf(request, "status", WebhookDeliveryStatuses.All);
        var before = JsonRequest.QueryString(request, "cursor") is { } text
            ? EventCursors.TryParse(text) ?? throw Errors.InvalidValue("cursor", "is not a cursor this API returned").ToException()
            : (EventCursor?)null;
        var limit = JsonRequest.QueryPageSize(request, "limit", limits.Value);
        _ = await store.GetSubscriptionAsync(webhookId, ct) ?? throw Errors.WebhookNotFound(webhookId).ToException();
        var page = await store.ListDeliveriesAsync(webhookId, status, before, limit, ct);
        return Results.Json(new WebhookDeliveryPageView([.. page.Items.Select(WebhookDeliveryView.From)], page.Next is { } next ? EventCursors.Format(next) : null),
            RestJsonContext.Default.WebhookDeliveryPageView);
    }

    /// <summary>202: the delivery is due again now and the dispatcher sends it as soon as its aggregate's turn comes.</summary>
    private static async Task<IResult> RedeliverAsync(string id, string deliveryId, IWebhookStore store, TimeProvider time, CancellationToken ct)
    {
        var webhookId = JsonRequest.RouteId(id, "webhookId");
        var delivery = JsonRequest.RouteId(deliveryId, "deliveryId");
        _ = await store.GetSubscriptionAsync(webhookId, ct) ?? throw Errors.WebhookNotFound(webhookId).ToException();
        var redelivered = await store.RedeliverAsync(webhookId, delivery, time.GetUtcNow(), ct) ?? throw Errors.WebhookDeliveryNotFound(webhookId, delivery).ToException();
        return Results.Json(WebhookDeliveryView.From(redelivered), RestJsonContext.Default.WebhookDeliveryView, statusCode: StatusCodes.Status202Accepted);
    }

    /// <summary>Absolute http or https, with a host and without user info (credentials in a URL end up in logs and the admin API).</summary>
    private static string? Url(JsonBody body, bool required)
    {
        var url = required ? body.RequireString("url", MaxUrlLength) : body.OptionalString("url", MaxUrlLength);
        if (url is not null
            && (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https") || uri.Host.Length == 0 || uri.UserInfo.Length > 0))
        {
            throw Errors.InvalidValue("url", "must be an absolute http or https URL without user info").ToException();
        }

        return url;
    }

    /// <summary>Domain event types (docs/architecture.md) or <c>*</c>; at least one, each once.</summary>
    private static IReadOnlyList<string>? EventTypes(JsonBody body, bool required)
    {
        if (!required && !body.Has("eventTypes"))
        {
            return null;
        }

        var types = body.RequireStringArray("eventTypes", MaxEventTypes, 64);
        if (types.Count == 0)
        {
            throw Errors.InvalidValue("eventTypes", "must name at least one event type (or \"*\" for all)").ToException();
        }

        foreach (var (type, i) in types.Select((t, i) => (t, i)))
        {
            if (type != WebhookSubscription.AllEvents && !DomainEventTypes.All.Contains(type, StringComparer.Ordinal))
            {
                throw Errors.InvalidValue($"eventTypes[{i}]", "must be a domain event type (docs/architecture.md lists them, e.g. message.stored) or \"*\"").ToException();
            }
        }

        return [.. types.Distinct(StringComparer.Ordinal)];
    }

    private static string? Secret(JsonBody body) => body.OptionalString("secret", MaxSecretLength, MinSecretLength);

    /// <summary>256 random bits, URL-safe: what a receiver pastes into its configuration.</summary>
    private static string NewSecret() => "whsec_" + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
