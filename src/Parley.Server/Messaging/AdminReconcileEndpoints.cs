using Parley.Core.Errors;
using Parley.Core.Ports;
using Parley.Server.Contracts;
using Parley.Server.Hosting;
using Parley.Server.Http;

namespace Parley.Server.Messaging;

/// <summary>
/// The read models and reconciliation for operators (E1, E4): rebuild the read models from the outbox now; start a
/// reconciliation run and read its outcome. Server admins (<c>Parley:Admins</c>) only.
/// </summary>
public static class AdminReconcileEndpoints
{
    public static void MapAdminReconcileEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapPost("/api/v1/admin/read-models/rebuild", RebuildAsync).RequireServerAdmin().Produces<ReadModelRebuildView>().WithName("rebuildReadModels")
            .WithErrors(ErrorCodes.EventHistoryIncomplete);
        app.MapPost("/api/v1/admin/reconcile", ReconcileAsync).RequireServerAdmin().Accepts<ReconcileRequest>(isOptional: true, "application/json")
            .Produces<ReconcileRunView>(StatusCodes.Status202Accepted).WithName("startReconciliation");
        app.MapGet("/api/v1/admin/reconcile/{runId}", GetRunAsync).RequireServerAdmin().Produces<ReconcileRunView>().WithName("getReconciliation")
            .WithErrors(ErrorCodes.ReconcileRunNotFound);
    }

    /// <summary>Rebuilds now, in the request (the writers wait for it): 200 with what differed and was written.</summary>
    private static async Task<IResult> RebuildAsync(IReadModelStore readModels, ILogger<Reconciler> logger, CancellationToken ct)
    {
        try
        {
            var report = await readModels.RebuildAsync(apply: true, ct);
            Log.ReadModelsRebuilt(logger, report.EventsRead, report.DriftCount);
            return Results.Ok(ReadModelRebuildView.From(report));
        }
        catch (ReadModelHistoryException e)
        {
            throw Errors.EventHistoryIncomplete(e.Message).ToException();
        }
    }

    /// <summary>202 with the run (running): the node's reconciliation loop executes it; GET it for the outcome.</summary>
    private static async Task<IResult> ReconcileAsync(HttpRequest request, Reconciler reconciler, CancellationToken ct)
    {
        // The body is optional: none (or an empty one) reports without repairing.
        var none = request.ContentLength == 0 || (request.ContentLength is null && !request.HasJsonContentType());
        var repair = !none && ((await JsonRequest.ReadAsync(request, ct)).OptionalBool("repair") ?? false);
        var run = await reconciler.RequestAsync(repair, ct);
        return Results.Accepted($"/api/v1/admin/reconcile/{run.Id}", ReconcileRunView.From(run));
    }

    private static async Task<IResult> GetRunAsync(string runId, IReconciliationStore store, CancellationToken ct)
    {
        var id = JsonRequest.RouteId(runId, "runId");
        var run = await store.GetRunAsync(id, ct) ?? throw Errors.ReconcileRunNotFound(id).ToException();
        return Results.Ok(ReconcileRunView.From(run));
    }
}
