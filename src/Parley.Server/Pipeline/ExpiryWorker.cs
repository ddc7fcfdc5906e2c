using Microsoft.Extensions.Options;
using Parley.Core.Partitioning;
using Parley.Core.Ports;
using Parley.Hosting;
using Parley.Server.Hosting;
using Parley.Server.Messaging;

namespace Parley.Server.Pipeline;

/// <summary>
/// Disappearing messages (M8): every <see cref="MessagesOptions.ExpiryInterval"/> it reads the messages whose expiry has
/// come and appends a delete for everyone of each to its conversation's partition, so the expiry is applied, fanned out
/// and recovered like any other delete. The store is the schedule, so nothing is lost across restarts; on several
/// nodes each deletes only what its own partitions hold, and the delete's key is the message's (see
/// <see cref="MessageIngress.ExpireAsync"/>) so a handover that makes two nodes append it still deletes once.
/// </summary>
public sealed class ExpiryWorker(
    IMessageStore store,
    MessageIngress ingress,
    PartitionOwnership ownership,
    IOptions<MessagesOptions> options,
    IOptions<LogOptions> log,
    ConsumerLoopRegistry loops,
    DeliveryMetrics metrics,
    TimeProvider time,
    ILogger<ExpiryWorker> logger) : BackgroundService
{
    /// <summary>How long an appended expiry is left alone before it is appended again if it is still not applied (a worker behind, a partition moving).</summary>
    private static readonly TimeSpan Reappend = TimeSpan.FromSeconds(30);

    private readonly Dictionary<Guid, DateTimeOffset> _appended = [];

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        loops.Create("expiry", logger, time).RunAsync(async ct =>
        {
            if (await PassAsync(ct) < options.Value.ExpiryBatch)
            {
                await Task.Delay(options.Value.ExpiryInterval, time, ct);
            }
        }, stoppingToken);

    /// <summary>One pass: how many due messages the store returned (a full batch means there may be more).</summary>
    private async Task<int> PassAsync(CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var due = await store.GetExpiredAsync(now, options.Value.ExpiryBatch, cancellationToken);
        var held = ownership.HeldPartitions.ToHashSet();
        var partitions = log.Value.Partitions;
        var seen = new HashSet<Guid>();
        foreach (var message in due)
        {
            seen.Add(message.MessageId);
            if (!held.Contains(Partitioner.PartitionOf(message.ConversationId, partitions))
                || (_appended.TryGetValue(message.MessageId, out var at) && now - at < Reappend))
            {
                continue;
            }

            if (await ingress.ExpireAsync(message, cancellationToken))
            {
                metrics.MessageExpired(now - message.ExpiresAt);
            }

            _appended[message.MessageId] = now;
        }

        // What the store no longer returns was applied: forget it.
        foreach (var id in _appended.Keys.Where(id => !seen.Contains(id)).ToList())
        {
            _appended.Remove(id);
        }

        return due.Count;
    }
}
