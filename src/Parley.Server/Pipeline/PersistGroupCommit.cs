using System.Runtime.ExceptionServices;
using Microsoft.Extensions.Options;
using Parley.Core.Messaging;
using Parley.Core.Ports;
using Parley.Hosting;
using Parley.Server.Hosting;

namespace Parley.Server.Pipeline;

/// <summary>
/// The partitions' batches share store transactions: while <see cref="LogOptions.PersistConcurrency"/> transactions are
/// in flight, batches that arrive from other partitions wait and go together in the next one, each under its own fence.
/// A commit (and its fsync) then serves many partitions, which is what small batches at a moderate rate and a backlog
/// being drained both lacked. A partition has one batch in flight at a time, so combining never reorders a partition.
/// A group that fails for a reason other than an outage is split and each batch tried alone, so one partition's poison
/// message or lost lease fails only that partition; an outage fails the whole group, and every batch waits it out.
/// </summary>
public sealed class PersistGroupCommit
{
    private readonly IMessageStore _store;
    private readonly TransientErrors _transient;
    private readonly DeliveryMetrics _metrics;
    private readonly TimeProvider _time;
    private readonly GroupCommit<Request, Outcome> _group;

    public PersistGroupCommit(IMessageStore store, TransientErrors transient, DeliveryMetrics metrics, IOptions<LogOptions> options, TimeProvider time)
    {
        _store = store;
        _transient = transient;
        _metrics = metrics;
        _time = time;
        _group = new GroupCommit<Request, Outcome>(RunAsync, lanes: options.Value.PersistConcurrency);
    }

    /// <summary>Stores one partition's batch under its fence, together with whatever other partitions' batches wait with it.</summary>
    public async Task<IReadOnlyList<PersistResult>> PersistAsync(IReadOnlyList<MessageEnvelope> batch, PartitionFence fence)
    {
        var outcome = await _group.SubmitAsync(new Request(batch, fence));
        outcome.Failure?.Throw();
        return outcome.Results!;
    }

    private async Task<IReadOnlyList<Outcome>> RunAsync(IReadOnlyList<Request> requests)
    {
        if (requests.Count == 1)
        {
            return [await AloneAsync(requests[0])];
        }

        try
        {
            var results = await TransactAsync([.. requests.SelectMany(r => r.Batch)], [.. requests.Select(r => r.Fence)]);
            var outcomes = new Outcome[requests.Count];
            var offset = 0;
            for (var i = 0; i < requests.Count; i++)
            {
                outcomes[i] = new Outcome(results.Skip(offset).Take(requests[i].Batch.Count).ToList(), null);
                offset += requests[i].Batch.Count;
            }

            return outcomes;
        }
        catch (Exception ex) when (_transient.IsTransient(ex))
        {
            var failure = ExceptionDispatchInfo.Capture(ex);
            return [.. requests.Select(_ => new Outcome(null, failure))];
        }
        catch (Exception)
        {
            var outcomes = new List<Outcome>(requests.Count);
            foreach (var request in requests)
            {
                outcomes.Add(await AloneAsync(request));
            }

            return outcomes;
        }
    }

    private async Task<Outcome> AloneAsync(Request request)
    {
        try
        {
            return new Outcome(await TransactAsync(request.Batch, [request.Fence]), null);
        }
        catch (Exception ex)
        {
            return new Outcome(null, ExceptionDispatchInfo.Capture(ex));
        }
    }

    private async Task<IReadOnlyList<PersistResult>> TransactAsync(IReadOnlyList<MessageEnvelope> batch, IReadOnlyList<PartitionFence> fences)
    {
        var started = _time.GetTimestamp();
        var status = "error";
        try
        {
            var results = await _store.PersistBatchAsync(batch, fences, CancellationToken.None);
            status = "ok";
            return results;
        }
        finally
        {
            _metrics.PersistTransaction(status, fences.Count, _time.GetElapsedTime(started));
        }
    }

    private sealed record Request(IReadOnlyList<MessageEnvelope> Batch, PartitionFence Fence);

    private sealed record Outcome(IReadOnlyList<PersistResult>? Results, ExceptionDispatchInfo? Failure);
}
