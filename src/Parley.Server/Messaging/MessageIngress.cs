using System.Diagnostics;
using System.Threading.RateLimiting;
using Microsoft.Extensions.Options;
using Parley.Core.Errors;
using Parley.Core.Messaging;
using Parley.Core.Ports;
using Parley.Server.Conversations;
using Parley.Server.Hosting;
using Parley.Server.Observability;

namespace Parley.Server.Messaging;

/// <summary>
/// The hot path (P1): rate limit → validate → authorize (cached) → idempotency key → append to the log →
/// pending ack. It never writes to the store; the delivery workers do that.
/// </summary>
public sealed class MessageIngress(
    IMessageLog log,
    MembershipCache membership,
    SendRateLimiter rateLimiter,
    IOptions<LimitsOptions> limits,
    TimeProvider time,
    ParleyMetrics metrics,
    ILogger<MessageIngress> logger)
{
    public Task<SendAck> SendAsync(Guid senderId, SendMessageRequest request, CancellationToken cancellationToken) =>
        SendAsync(senderId, () => request, cancellationToken);

    /// <summary>Sends what <paramref name="read"/> produces; a request that fails to parse counts as a rejection too.</summary>
    public async Task<SendAck> SendAsync(Guid senderId, Func<SendMessageRequest> read, CancellationToken cancellationToken)
    {
        var started = time.GetTimestamp();
        using var activity = ParleyActivities.Ingress.StartActivity(ParleyActivities.Names.Send);
        try
        {
            var request = read();
            activity?.SetTag(ParleyActivities.Tags.ConversationId, request.ConversationId);
            var ack = await AcceptAsync(senderId, request, cancellationToken);
            metrics.ProducerEnqueued.Add(1, ParleyMetrics.Tag(Telemetry.Tags.ContentType, request.Type));
            if (ack.IdempotentHit)
            {
                metrics.IdempotencyHits.Add(1, ParleyMetrics.Tag(Telemetry.Tags.Operation, "ingress"), ParleyMetrics.Tag(Telemetry.Tags.Source, "log"));
            }
            else
            {
                metrics.StreamEnqueued.Add(1, ParleyMetrics.Tag(Telemetry.Tags.Partition, ack.Partition));
            }

            metrics.ProducerEnqueueDuration.Record(time.GetElapsedTime(started).TotalMilliseconds, ParleyMetrics.Tag(Telemetry.Tags.Status, ack.IdempotentHit ? "duplicate" : "accepted"));
            activity?.SetTag(ParleyActivities.Tags.MessageId, ack.MessageId)
                .SetTag(ParleyActivities.Tags.CorrelationId, ack.CorrelationId)
                .SetTag(ParleyActivities.Tags.IdempotentHit, ack.IdempotentHit)
                .SetTag(ParleyActivities.Tags.Partition, ack.Partition);
            return ack;
        }
        catch (ParleyException ex)
        {
            metrics.ProducerRejected.Add(1, ParleyMetrics.Tag(Telemetry.Tags.Reason, ex.Error.TelemetryLabel), ParleyMetrics.Tag(Telemetry.Tags.StatusCode, ex.Error.Status));
            metrics.ProducerEnqueueDuration.Record(time.GetElapsedTime(started).TotalMilliseconds, ParleyMetrics.Tag(Telemetry.Tags.Status, "rejected"));
            activity?.SetStatus(ActivityStatusCode.Error, ex.Error.Code);
            throw;
        }
    }

    private async Task<SendAck> AcceptAsync(Guid senderId, SendMessageRequest request, CancellationToken cancellationToken)
    {
        rateLimiter.Acquire(senderId);
        var l = limits.Value;
        request = request.Validate(l.MaxContentBytes, l.MaxMetadataBytes, l.MaxClientMessageIdLength);

        var conversation = await membership.RequireMemberAsync(request.ConversationId, senderId, cancellationToken);
        if (!string.Equals(conversation.Status, ConversationStatuses.Active, StringComparison.Ordinal))
        {
            throw Errors.ConversationInactive(conversation.Id, conversation.Status).ToException();
        }

        // Millisecond precision: the log and store keep milliseconds, so a replayed ack matches the first one exactly.
        var now = time.GetUtcNow();
        now = now.AddTicks(-(now.Ticks % TimeSpan.TicksPerMillisecond));
        var envelope = new MessageEnvelope
        {
            MessageId = Guid.CreateVersion7(now),
            ConversationId = request.ConversationId,
            SenderId = senderId,
            Type = request.Type,
            Content = request.Content,
            Metadata = request.Metadata,
            ClientMessageId = request.ClientMessageId,
            IdempotencyKey = IdempotencyKeys.For(request.ConversationId, senderId, request.ClientMessageId, request.Type, request.Content, now),
            CorrelationId = Guid.CreateVersion7(now),
            AcceptedAt = now,
            TraceParent = Activity.Current?.Id,
        };

        AppendResult appended;
        try
        {
            using var append = ParleyActivities.Ingress.StartActivity(ParleyActivities.Names.Append, ActivityKind.Producer);
            appended = await log.AppendAsync(envelope, cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            Log.AppendFailed(logger, ex, envelope.ConversationId, envelope.CorrelationId);
            throw Errors.EnqueueFailed().ToException();
        }

        return new SendAck(
            appended.MessageId,
            appended.CorrelationId,
            Core.Messaging.MessageState.Pending.ToWire(),
            appended.AcceptedAt,
            envelope.IdempotencyKey,
            appended.Duplicate,
            $"/api/v1/messages/{appended.MessageId}/status",
            appended.Partition);
    }
}

/// <summary>Per-user token bucket shared by every send path, so REST and realtime cannot be combined to exceed it.</summary>
public sealed class SendRateLimiter : IDisposable
{
    private readonly PartitionedRateLimiter<Guid> _limiter;

    public SendRateLimiter(IOptions<RateLimitOptions> options)
    {
        var o = options.Value;
        _limiter = PartitionedRateLimiter.Create<Guid, Guid>(user => RateLimitPartition.GetTokenBucketLimiter(user, _ => new TokenBucketRateLimiterOptions
        {
            TokenLimit = o.MessageBurst,
            TokensPerPeriod = o.MessagesPerSecond,
            ReplenishmentPeriod = TimeSpan.FromSeconds(1),
            QueueLimit = 0,
            AutoReplenishment = true,
        }));
    }

    public void Acquire(Guid userId)
    {
        using var lease = _limiter.AttemptAcquire(userId);
        if (!lease.IsAcquired)
        {
            var retryAfter = lease.TryGetMetadata(MetadataName.RetryAfter, out var wait) ? wait : TimeSpan.FromSeconds(1);
            throw Errors.RateLimited(retryAfter).ToException();
        }
    }

    public void Dispose() => _limiter.Dispose();
}
