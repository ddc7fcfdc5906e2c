using Microsoft.Extensions.Options;
using Parley.Core.Errors;
using Parley.Core.Events;
using Parley.Core.Ports;
using Parley.Core.Validation;
using Parley.Server.Auth;
using Parley.Server.Contracts;
using Parley.Server.Hosting;
using Parley.Server.Http;

namespace Parley.Server.Messaging;

/// <summary>
/// The outbox's read side for operators (E1): every committed change's domain event, oldest first, filtered by
/// aggregate and type and paged by outbox position. Server admins (<c>Parley:Admins</c>) only.
/// </summary>
public static class AdminEventEndpoints
{
    public const int MaxAggregateIdLength = 200;

    public static void MapAdminEventEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/v1/admin/events", ListAsync).RequireServerAdmin().Produces<EventPageView>().WithName("listEvents")
            .WithQuery("aggregateId", "string", "Only this aggregate's events (a conversation's or a user's id, as the events carry it).")
            .WithQuery("type", "string", "Only events of this type (docs/architecture.md lists them, e.g. message.stored).")
            .WithQuery("after", "string", "The nextCursor of the previous page (an event's cursor); absent for the oldest events.")
            .WithQuery("limit", "integer", "Page size; the server's default when absent, capped at Parley:Limits:MaxPageSize.", minimum: 1, maximum: int.MaxValue);
    }

    private static async Task<IResult> ListAsync(HttpRequest request, IDomainEventStore events, IOptions<LimitsOptions> limits, CancellationToken ct)
    {
        var aggregateId = JsonRequest.QueryString(request, "aggregateId");
        if (aggregateId is not null)
        {
            TextRules.Require("aggregateId", aggregateId);
            if (aggregateId.Length > MaxAggregateIdLength)
            {
                throw Errors.TooLong("aggregateId", MaxAggregateIdLength, aggregateId.Length).ToException();
            }
        }

        var type = JsonRequest.QueryOneOf(request, "type", DomainEventTypes.All);
        var after = JsonRequest.QueryString(request, "after") is { } text
            ? EventCursors.TryParse(text) ?? throw Errors.InvalidValue("after", "must be a nextCursor this API returned").ToException()
            : EventCursor.Start;
        var limit = JsonRequest.QueryPageSize(request, "limit", limits.Value);
        var page = await events.ReadAsync(after, limit, new EventFilter(aggregateId, type), ct);
        return Results.Ok(new EventPageView([.. page.Select(EventView.From)], page.Count == limit ? EventCursors.Format(page[^1].Cursor) : null));
    }
}
