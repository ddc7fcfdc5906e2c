using Microsoft.Extensions.Options;
using Parley.Core.Errors;
using Parley.Core.Events;
using Parley.Core.Messaging;
using Parley.Core.Ports;
using Parley.Server.Contracts;
using Parley.Server.Hosting;

namespace Parley.Server.Messaging;

/// <summary>
/// Scheduling a send (M8): checked exactly like a send now (rate limit, values, permission, conversation active, blocks,
/// reply and mentions), then kept in the store, not the log, until its time; <see cref="ScheduledReleaser"/> sends it
/// then. Listing and cancelling are the sender's alone.
/// </summary>
public sealed class ScheduledSends(
    MessageIngress ingress,
    IScheduledMessageStore store,
    SendRateLimiter rateLimiter,
    IOptions<MessagesOptions> options,
    IRealtimeEvents realtime,
    TimeProvider time)
{
    /// <summary>A send time closer than this is refused: the client wants a send now, and should make one.</summary>
    public static readonly TimeSpan MinimumAhead = TimeSpan.FromSeconds(1);

    public async Task<ScheduledMessageView> ScheduleAsync(Guid senderId, Func<SendMessageRequest> read, DateTimeOffset sendAt, CancellationToken cancellationToken)
    {
        rateLimiter.Acquire(senderId);
        var request = read();
        var now = time.GetUtcNow();
        if (sendAt - now < MinimumAhead)
        {
            throw Errors.InvalidValue("sendAt", $"must be at least {MinimumAhead.TotalSeconds:0} s in the future (send without sendAt to send now)").ToException();
        }

        var maxAhead = options.Value.MaxScheduleAhead;
        if (sendAt - now > maxAhead)
        {
            throw Errors.InvalidValue("sendAt", $"must be at most {maxAhead} ahead (Parley:Messages:MaxScheduleAhead)").ToException();
        }

        request = await ingress.CheckSendAsync(senderId, request, cancellationToken);
        var row = new ScheduledMessage(Guid.CreateVersion7(now), request.ConversationId, senderId, sendAt, request.ClientMessageId, ScheduledRequests.ToJson(request), now);
        var (scheduled, created) = await store.ScheduleAsync(row, EventContext.New(senderId), cancellationToken);
        var view = ScheduledMessageView.From(scheduled);
        if (created)
        {
            await PublishAsync(senderId, view, cancellationToken);
        }

        return view with { IdempotentHit = !created };
    }

    /// <summary>To the scheduler's devices, so each keeps its list of scheduled messages (scheduledMessageUpdated).</summary>
    public Task PublishAsync(Guid senderId, ScheduledMessageView view, CancellationToken cancellationToken) =>
        realtime.PublishAsync(new AddressedEvent(new ScheduledMessageUpdatedEvent(view), [senderId]), cancellationToken);

    public async Task<ScheduledPage> ListAsync(Guid senderId, Guid conversationId, ConversationCursor? after, int limit, CancellationToken cancellationToken) =>
        await store.ListPendingAsync(senderId, conversationId, after, limit, cancellationToken);

    /// <summary>Cancelled now or before (or failed: it will never be sent either way) is success; sent or being sent is a 409.</summary>
    public async Task CancelAsync(Guid senderId, Guid scheduledId, CancellationToken cancellationToken)
    {
        var outcome = await store.CancelAsync(scheduledId, senderId, time.GetUtcNow(), EventContext.New(senderId), cancellationToken);
        if (outcome == ScheduledCancelOutcome.NotFound)
        {
            throw Errors.ScheduledNotFound(scheduledId).ToException();
        }

        if (outcome == ScheduledCancelOutcome.AlreadySent)
        {
            throw Errors.ScheduledAlreadySent(scheduledId, (await store.GetAsync(scheduledId, cancellationToken))?.MessageId).ToException();
        }

        if (outcome == ScheduledCancelOutcome.Cancelled && await store.GetAsync(scheduledId, cancellationToken) is { } cancelled)
        {
            await PublishAsync(senderId, ScheduledMessageView.From(cancelled), cancellationToken);
        }
    }
}
