using Microsoft.Extensions.Options;
using Parley.Core.Errors;
using Parley.Core.Events;
using Parley.Core.Messaging;
using Parley.Core.Ports;
using Parley.Hosting;
using Parley.Server.Contracts;
using Parley.Server.Hosting;

namespace Parley.Server.Messaging;

/// <summary>
/// Sends scheduled messages at their time, in the consumer loop <c>scheduled-release</c>: claim the due rows, send each
/// through the ingress (checked again, not rate limited) under a key of its own, then mark it sent with the message it
/// became, or failed with the error code when the sender may no longer send. The sequence is assigned when the worker
/// stores it, as for any send.
/// At most once: a crash between the append and the mark leaves the row claimed; once the claim expires a node claims it
/// again and appends it again under the same key, which the log (or the store, after the log's window) folds into the
/// first, and the mark then records that first message. Claims keep nodes from releasing one row at the same time.
/// </summary>
public sealed class ScheduledReleaser(
    IScheduledMessageStore store,
    MessageIngress ingress,
    ScheduledSends scheduledSends,
    ConsumerLoopRegistry loops,
    IOptions<MessagesOptions> options,
    TimeProvider time,
    ILogger<ScheduledReleaser> logger) : BackgroundService
{
    public const string LoopName = "scheduled-release";

    /// <summary>Rows claimed per iteration; a full batch is followed at once by the next.</summary>
    public const int BatchSize = 100;

    /// <summary>The failure reason of a row whose stored request cannot be read back.</summary>
    public const string UndecodableRequest = "UNDECODABLE_REQUEST";

    private readonly string _claimant = $"{Environment.MachineName}/{Guid.NewGuid():N}";

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        loops.Create(LoopName, logger, time).RunAsync(async ct =>
        {
            if (await ReleaseDueAsync(ct) < BatchSize)
            {
                await Task.Delay(options.Value.ScheduleInterval, time, ct);
            }
        }, stoppingToken);

    /// <summary>One pass: releases what is due now and returns how many rows it claimed.</summary>
    public async Task<int> ReleaseDueAsync(CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var due = await store.ClaimDueAsync(now, _claimant, now + options.Value.ScheduleClaimTimeout, BatchSize, cancellationToken);
        foreach (var scheduled in due)
        {
            await ReleaseAsync(scheduled, cancellationToken);
        }

        return due.Count;
    }

    private async Task ReleaseAsync(ScheduledMessage scheduled, CancellationToken cancellationToken)
    {
        var context = EventContext.New(scheduled.SenderId);
        SendMessageRequest request;
        try
        {
            request = ScheduledRequests.FromJson(scheduled.Request);
        }
        catch (System.Text.Json.JsonException)
        {
            // A row no release can read would otherwise be claimed and fail again every claim timeout, for ever.
            await FailAsync(scheduled, UndecodableRequest, context, cancellationToken);
            return;
        }

        var key = request.ClientMessageId is { } clientId
            ? IdempotencyKeys.FromClientMessageId(scheduled.ConversationId, scheduled.SenderId, clientId)
            : IdempotencyKeys.ForScheduled(scheduled.Id);
        AppendResult appended;
        try
        {
            appended = await ingress.ReleaseScheduledAsync(scheduled.SenderId, request, key, cancellationToken);
        }
        catch (ParleyException ex) when (ex.Error.Status < 500)
        {
            // The sender may no longer send it (left, blocked, the conversation closed, the message replied to gone):
            // final. A 5xx (the log or the store unavailable) is not: the loop backs off and the claim's expiry retries it.
            await FailAsync(scheduled, ex.Error.Code, context, cancellationToken);
            return;
        }

        var now = time.GetUtcNow();
        if (await store.MarkSentAsync(scheduled.Id, appended.MessageId, now, context, cancellationToken))
        {
            await PublishAsync(scheduled with { Status = ScheduledStatuses.Sent, MessageId = appended.MessageId, FinishedAt = now }, cancellationToken);
        }
    }

    private async Task FailAsync(ScheduledMessage scheduled, string reason, EventContext context, CancellationToken cancellationToken)
    {
        Log.ScheduledSendFailed(logger, scheduled.Id, scheduled.ConversationId, reason);
        var now = time.GetUtcNow();
        if (await store.MarkFailedAsync(scheduled.Id, reason, now, context, cancellationToken))
        {
            await PublishAsync(scheduled with { Status = ScheduledStatuses.Failed, FailureReason = reason, FinishedAt = now }, cancellationToken);
        }
    }

    /// <summary>Best effort, as every realtime event: the scheduler's devices learn what became of it; the store has it either way.</summary>
    private async Task PublishAsync(ScheduledMessage scheduled, CancellationToken cancellationToken)
    {
        try
        {
            await scheduledSends.PublishAsync(scheduled.SenderId, ScheduledMessageView.From(scheduled), cancellationToken);
        }
        catch (System.Text.Json.JsonException)
        {
            // An undecodable row has no view to show; its failed status is in the store.
        }
    }
}
