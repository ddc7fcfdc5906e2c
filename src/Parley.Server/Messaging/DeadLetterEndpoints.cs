using Microsoft.Extensions.Options;
using Parley.Core.Errors;
using Parley.Core.Ports;
using Parley.Core.Validation;
using Parley.Hosting;
using Parley.Server.Contracts;
using Parley.Server.Hosting;
using Parley.Server.Http;

namespace Parley.Server.Messaging;

/// <summary>
/// One admin API for every kind of dead letter (E2): the message log's, push's and webhooks'. Each kind keeps its own
/// (<see cref="IDeadLetterKind"/>); here they are listed, inspected, replayed and discarded alike, by <c>{kind}:{id}</c>.
/// </summary>
public static class DeadLetterEndpoints
{
    public static void MapDeadLetterEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/v1/admin/dead-letters", ListAsync).RequireServerAdmin().Produces<DeadLetterPageView>().WithName("listDeadLetters")
            .WithQuery("kind", "string", "message, push or webhook; every kind when absent (then without paging).")
            .WithQuery("errorType", "string", "Only dead letters with this error type (e.g. Http500, DeliveryLimitExceeded).")
            .WithQuery("after", "string", "The nextCursor of the previous page (needs kind).")
            .WithQuery("limit", "integer", "Page size; the server's default when absent, capped at Parley:Limits:MaxPageSize.", minimum: 1, maximum: int.MaxValue);
        app.MapGet("/api/v1/admin/dead-letters/{id}", GetAsync).RequireServerAdmin().Produces<DeadLetterView>().WithName("getDeadLetter")
            .WithErrors(ErrorCodes.DeadLetterNotFound);
        app.MapPost("/api/v1/admin/dead-letters/{id}/replay", ReplayAsync).RequireServerAdmin().Produces<DeadLetterReplayView>().WithName("replayDeadLetter")
            .WithErrors(ErrorCodes.DeadLetterNotFound);
        app.MapDelete("/api/v1/admin/dead-letters/{id}", DiscardAsync).RequireServerAdmin().Produces(StatusCodes.Status204NoContent).WithName("discardDeadLetter")
            .WithErrors(ErrorCodes.DeadLetterNotFound);
    }

    public static DeadLetterView View(DeadLetterRecord d) =>
        new($"{d.Kind}:{d.Id}", d.Kind, d.ErrorType, d.Error, Failures.OfErrorType(d.ErrorType).ToString().ToLowerInvariant(), d.Attempts, d.Replays, d.DeadAt, d.Subject, new JsonText(d.Payload));

    private static async Task<IResult> ListAsync(HttpRequest request, IEnumerable<IDeadLetterKind> kinds, IOptions<LimitsOptions> limits, CancellationToken ct)
    {
        var all = kinds.ToList();
        var kind = JsonRequest.QueryOneOf(request, "kind", [.. all.Select(k => k.Kind)]);
        var errorType = JsonRequest.QueryString(request, "errorType") is { } type ? TextRules.Require("errorType", type) : null;
        if (errorType is { Length: > 200 })
        {
            throw Errors.TooLong("errorType", 200, errorType.Length).ToException();
        }

        var after = JsonRequest.QueryString(request, "after");
        if (after is not null && kind is null)
        {
            throw Errors.InvalidValue("after", "needs kind: a cursor pages within one kind").ToException();
        }

        if (after is not null && (after.Length > 200 || !after.StartsWith(kind + ":", StringComparison.Ordinal)))
        {
            throw Errors.InvalidValue("after", "must be a nextCursor this API returned").ToException();
        }

        var limit = JsonRequest.QueryPageSize(request, "limit", limits.Value);
        if (kind is not null)
        {
            var source = all.First(k => k.Kind == kind);
            var page = await source.ListAsync(new DeadLetterQuery(limit, errorType, after?[(kind.Length + 1)..]), ct);
            return Results.Ok(new DeadLetterPageView([.. page.Select(View)], page.Count == limit ? $"{kind}:{page[^1].Id}" : null));
        }

        var merged = new List<DeadLetterRecord>();
        foreach (var source in all)
        {
            merged.AddRange(await source.ListAsync(new DeadLetterQuery(limit, errorType), ct));
        }

        return Results.Ok(new DeadLetterPageView([.. merged.OrderByDescending(d => d.DeadAt).Take(limit).Select(View)], null));
    }

    private static async Task<IResult> GetAsync(string id, IEnumerable<IDeadLetterKind> kinds, CancellationToken ct)
    {
        var (kind, own) = Resolve(id, kinds);
        return Results.Ok(View(await kind.GetAsync(own, ct) ?? throw Errors.DeadLetterNotFound(id).ToException()));
    }

    private static async Task<IResult> ReplayAsync(string id, IEnumerable<IDeadLetterKind> kinds, TimeProvider time, ILoggerFactory loggers, HttpRequest request, CancellationToken ct)
    {
        var (kind, own) = Resolve(id, kinds);
        if (!await kind.ReplayAsync(own, time.GetUtcNow(), ct))
        {
            throw Errors.DeadLetterNotFound(id).ToException();
        }

        Log.DeadLetterReplayed(loggers.CreateLogger(typeof(DeadLetterEndpoints).FullName!), id, "admin");
        return Results.Ok(new DeadLetterReplayView(id, true));
    }

    private static async Task<IResult> DiscardAsync(string id, IEnumerable<IDeadLetterKind> kinds, ILoggerFactory loggers, CancellationToken ct)
    {
        var (kind, own) = Resolve(id, kinds);
        if (!await kind.DiscardAsync(own, ct))
        {
            throw Errors.DeadLetterNotFound(id).ToException();
        }

        Log.DeadLetterDiscarded(loggers.CreateLogger(typeof(DeadLetterEndpoints).FullName!), id);
        return Results.NoContent();
    }

    /// <summary>The kind and its own id from <c>{kind}:{id}</c>; an id no kind owns is not found (never a 500).</summary>
    private static (IDeadLetterKind Kind, string Id) Resolve(string id, IEnumerable<IDeadLetterKind> kinds)
    {
        var colon = id.IndexOf(':', StringComparison.Ordinal);
        var kind = colon > 0 && id.Length <= 200 ? kinds.FirstOrDefault(k => string.Equals(k.Kind, id[..colon], StringComparison.Ordinal)) : null;
        return kind is null || colon == id.Length - 1 ? throw Errors.DeadLetterNotFound(id).ToException() : (kind, id[(colon + 1)..]);
    }
}
