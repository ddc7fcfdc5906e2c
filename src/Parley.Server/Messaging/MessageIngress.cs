using System.Diagnostics;
using System.Threading.RateLimiting;
using Microsoft.Extensions.Options;
using Parley.Core.Errors;
using Parley.Core.Membership;
using Parley.Core.Messaging;
using Parley.Core.Ports;
using Parley.Core.Validation;
using Parley.Server.Contracts;
using Parley.Server.Conversations;
using Parley.Server.Hosting;

namespace Parley.Server.Messaging;

/// <summary>
/// The hot path (P1): rate limit → validate → authorize (cached) → idempotency key → append to the log →
/// pending ack. It never writes to the store; the delivery workers do that. It reads the store only for a resend
/// (the log's idempotent hit, to report the current state) and for a send with a clientMessageId the log calls new.
/// </summary>
public sealed class MessageIngress(
    IMessageLog log,
    IMessageStore store,
    StoredKeyLookup storedKeys,
    MembershipCache membership,
    Social.SocialGate social,
    SendRateLimiter rateLimiter,
    IOptions<LimitsOptions> limits,
    IOptions<MessagesOptions> messageOptions,
    TimeProvider time,
    IngressMetrics metrics,
    RecentTargets recentTargets,
    ILogger<MessageIngress> logger)
{
    /// <summary>
    /// The store reads for resends must never hold a send hostage to a store outage (P1 survives one): each is capped,
    /// and after a failure they are skipped for a while, the ack then reporting what the log knows.
    /// </summary>
    private static readonly TimeSpan StoreReadTimeout = TimeSpan.FromMilliseconds(500);

    private static readonly TimeSpan StoreReadBackoff = TimeSpan.FromSeconds(5);

    private long _storeReadsResumeAt;

    public Task<SendAck> SendAsync(Guid senderId, SendMessageRequest request, CancellationToken cancellationToken) =>
        SendAsync(senderId, () => request, cancellationToken);

    /// <summary>Sends what <paramref name="read"/> produces; a request that fails to parse counts as a rejection too.</summary>
    public Task<SendAck> SendAsync(Guid senderId, Func<SendMessageRequest> read, CancellationToken cancellationToken) =>
        MeasuredAsync(ParleyActivities.Names.Send, async activity =>
        {
            var request = read();
            activity?.SetTag(ParleyActivities.Tags.ConversationId, request.ConversationId);
            var (ack, hitSource) = await AcceptAsync(senderId, request, cancellationToken);
            activity?.SetTag(ParleyActivities.Tags.MessageId, ack.MessageId)
                .SetTag(ParleyActivities.Tags.CorrelationId, ack.CorrelationId)
                .SetTag(ParleyActivities.Tags.IdempotentHit, ack.IdempotentHit)
                .SetTag(ParleyActivities.Tags.Partition, ack.Partition);
            return new Measured<SendAck>(ack, request.Type, ack.IdempotentHit, hitSource, ack.Partition);
        });

    /// <summary>What an accepted request reports to the ingress metrics besides its result.</summary>
    private readonly record struct Measured<T>(T Result, string Type, bool Hit, string HitSource, int Partition);

    /// <summary>
    /// Runs one acceptance in its activity and records it in the ingress metrics: accepted (type, idempotent hit, where
    /// the hit was found, partition) or rejected (the error's label and status, the activity marked with its code).
    /// </summary>
    private async Task<T> MeasuredAsync<T>(string activityName, Func<Activity?, Task<Measured<T>>> accept)
    {
        var started = time.GetTimestamp();
        using var activity = ParleyActivities.Ingress.StartActivity(activityName);
        try
        {
            var measured = await accept(activity);
            metrics.Accepted(measured.Type, measured.Hit, measured.HitSource, measured.Partition, time.GetElapsedTime(started));
            return measured.Result;
        }
        catch (ParleyException ex)
        {
            metrics.Rejected(ex.Error.TelemetryLabel, ex.Error.Status, time.GetElapsedTime(started));
            activity?.SetStatus(ActivityStatusCode.Error, ex.Error.Code);
            throw;
        }
    }

    /// <summary>The ack, and where an idempotent hit was found ("log" or "store").</summary>
    private async Task<(SendAck Ack, string HitSource)> AcceptAsync(Guid senderId, SendMessageRequest request, CancellationToken cancellationToken)
    {
        rateLimiter.Acquire(senderId);
        request = await CheckSendAsync(senderId, request, cancellationToken);
        var envelope = Envelope(senderId, request, key: null);

        // The store's key check runs beside the append, not after it: the ack waits for the slower of the two instead
        // of their sum. Its answer is used only when the log calls the send new (see StoredDuplicateAsync). It never
        // faults (a failed read is a null answer, an abandoned request a cancelled task), so it can be left unawaited.
        var storedCheck = envelope.ClientMessageId is not null ? StoredDuplicateAsync(envelope, cancellationToken) : null;
        var appended = await AppendAsync(envelope, cancellationToken);

        if (appended.Duplicate)
        {
            // The log remembered the key: answer with the original message as it stands now, not as it was accepted
            // (the key check beside the append already read that when the message is stored).
            var state = storedCheck is not null && await storedCheck is { } known && known.Message.Id == appended.MessageId
                ? known.State
                : await CurrentStateAsync(appended.MessageId, cancellationToken);
            return (Ack(appended.MessageId, appended.CorrelationId, state, appended.AcceptedAt, envelope.IdempotencyKey, true, appended.Partition), "log");
        }

        if (storedCheck is not null && await storedCheck is { } stored)
        {
            // The log said "new" only because its window forgot the key; the store never forgets it. The entry just
            // appended is folded at persist time (same key), so the stored message is the one this send is about.
            var m = stored.Message;
            return (Ack(m.Id, m.CorrelationId, stored.State, m.AcceptedAt, envelope.IdempotencyKey, true, appended.Partition), "store");
        }

        return (Ack(appended.MessageId, appended.CorrelationId, Core.Messaging.MessageState.Pending, appended.AcceptedAt, envelope.IdempotencyKey, false, appended.Partition), "");
    }

    /// <summary>
    /// Every check of a send but the rate limit, without appending: values, the sender's right to send in the
    /// conversation, that it is active, blocks, the message replied to and the mentions. Returns the request with its
    /// values normalized (what is appended, or what a scheduled send keeps for its release).
    /// </summary>
    public async Task<SendMessageRequest> CheckSendAsync(Guid senderId, SendMessageRequest request, CancellationToken cancellationToken)
    {
        var l = limits.Value;
        request = request.Validate(l.MaxContentBytes, l.MaxMetadataBytes, l.MaxClientMessageIdLength);

        var conversation = (await membership.RequireAsync(request.ConversationId, senderId, ConversationAction.Send, cancellationToken)).Conversation;
        if (!string.Equals(conversation.Status, ConversationStatuses.Active, StringComparison.Ordinal))
        {
            throw Errors.ConversationInactive(conversation.Id, conversation.Status).ToException();
        }

        await social.RequireNotBlockedAsync(conversation, senderId, cancellationToken);
        if (request.ReplyTo is { } replyTo && (await FindTargetAsync(replyTo, cancellationToken)).ConversationId != request.ConversationId)
        {
            throw Errors.MessageNotFound(replyTo).ToException();
        }

        if (request.Mentions is { Count: > 0 } mentions)
        {
            var members = await membership.MembersAsync(request.ConversationId, cancellationToken);
            if (mentions.Where(m => !members.Contains(m)).Take(1).ToList() is [var stranger])
            {
                throw Errors.InvalidValue("mentions", $"{stranger} is not a member of this conversation").ToException();
            }
        }

        // Kept to the millisecond, as the log and store keep times.
        var now = NowToTheMillisecond();
        SendMessageRequest.RequireExpiry(request.ExpiresAt, now);
        var poll = request.Poll?.Validate(now);
        return request with
        {
            ExpiresAt = request.ExpiresAt is { } expiry ? Core.Persistence.StoreTime.Truncate(expiry) : null,
            Poll = poll is null ? null : poll with { ClosesAt = poll.ClosesAt is { } closes ? Core.Persistence.StoreTime.Truncate(closes) : null },
        };
    }

    /// <summary>
    /// The send of a scheduled message at its time: checked again (the sender may have left, been blocked, or the
    /// conversation closed since), not rate limited (the sender paid when scheduling), and appended under
    /// <paramref name="idempotencyKey"/>, so a release repeated after a crash is the same message, not a second one.
    /// </summary>
    public Task<AppendResult> ReleaseScheduledAsync(Guid senderId, SendMessageRequest request, string idempotencyKey, CancellationToken cancellationToken) =>
        MeasuredAsync(ParleyActivities.Names.Send, async activity =>
        {
            activity?.SetTag(ParleyActivities.Tags.ConversationId, request.ConversationId);
            var checkedRequest = await CheckSendAsync(senderId, request, cancellationToken);
            var appended = await AppendAsync(Envelope(senderId, checkedRequest, idempotencyKey), cancellationToken);
            activity?.SetTag(ParleyActivities.Tags.MessageId, appended.MessageId).SetTag(ParleyActivities.Tags.IdempotentHit, appended.Duplicate);
            return new Measured<AppendResult>(appended, checkedRequest.Type, appended.Duplicate, appended.Duplicate ? "log" : "", appended.Partition);
        });

    /// <summary>A checked send as a log entry, accepted now; <paramref name="key"/> null means the send's own key (client id or content).</summary>
    private MessageEnvelope Envelope(Guid senderId, SendMessageRequest request, string? key)
    {
        var now = NowToTheMillisecond();
        return new MessageEnvelope
        {
            MessageId = Guid.CreateVersion7(now),
            ConversationId = request.ConversationId,
            SenderId = senderId,
            Type = request.Type,
            Content = request.Content,
            Metadata = request.Metadata,
            ClientMessageId = request.ClientMessageId,
            IdempotencyKey = key ?? IdempotencyKeys.For(request.ConversationId, senderId, request.ClientMessageId, request.Type, request.Content, now),
            CorrelationId = Guid.CreateVersion7(now),
            AcceptedAt = now,
            TraceParent = Activity.Current?.Id,
            ReplyTo = request.ReplyTo,
            ForwardedFrom = request.ForwardedFrom,
            Mentions = request.Mentions is { Count: > 0 } ? request.Mentions : null,
            ExpiresAt = request.ExpiresAt,
            Poll = request.Poll,
        };
    }

    /// <summary>
    /// An edit, a delete for everyone or a reaction: checked like a send (rate limit, values, the actor's right to make
    /// it on this message), then appended to the conversation's partition, so the worker applies it after the message
    /// it changes, even when that message is still in the log. The ack means durable, as for a send.
    /// </summary>
    public Task<ChangeAck> ChangeAsync(Guid actorId, Func<MessageChangeRequest> read, string? clientChangeId, CancellationToken cancellationToken) =>
        ChangeAsync(actorId, read, clientChangeId, moderated: false, cancellationToken);

    /// <summary>
    /// A delete for everyone that moderation decided (a report resolved with <c>delete_message</c>). The caller has
    /// established the actor's right (a moderator of the conversation, or a server admin, who need not be a member), so
    /// the membership and role checks are skipped; everything else is as for any delete: the rate limit, the target,
    /// the conversation's status, the log, the ack, and the worker applying it after the message.
    /// </summary>
    public Task<ChangeAck> ModerationDeleteAsync(Guid moderatorId, Guid messageId, string clientChangeId, CancellationToken cancellationToken) =>
        ChangeAsync(moderatorId, () => new MessageChangeRequest(MessageChangeKinds.Delete, messageId), clientChangeId, moderated: true, cancellationToken);

    private Task<ChangeAck> ChangeAsync(Guid actorId, Func<MessageChangeRequest> read, string? clientChangeId, bool moderated, CancellationToken cancellationToken) =>
        MeasuredAsync(ParleyActivities.Names.Change, async activity =>
        {
            var request = read();
            activity?.SetTag(ParleyActivities.Tags.MessageId, request.MessageId);
            var ack = await AcceptChangeAsync(actorId, request, clientChangeId, moderated, cancellationToken);
            activity?.SetTag(ParleyActivities.Tags.ConversationId, ack.ConversationId).SetTag(ParleyActivities.Tags.Partition, ack.Partition);
            return new Measured<ChangeAck>(ack, request.Kind, ack.IdempotentHit, ack.IdempotentHit ? "log" : "", ack.Partition);
        });

    private async Task<ChangeAck> AcceptChangeAsync(Guid actorId, MessageChangeRequest request, string? clientChangeId, bool moderated, CancellationToken cancellationToken)
    {
        rateLimiter.Acquire(actorId);
        request = request.Validate(limits.Value.MaxContentBytes);
        SendMessageRequest.RequireClientId("clientChangeId", clientChangeId, limits.Value.MaxClientMessageIdLength);

        var target = await FindTargetAsync(request.MessageId, cancellationToken, recent: request.Kind is MessageChangeKinds.Reaction or MessageChangeKinds.Vote);
        if (request.ConversationId is { } named && named != target.ConversationId)
        {
            // A pin names the conversation too: a message of another one is not in this one, whatever the caller may see.
            throw Errors.MessageNotFound(request.MessageId).ToException();
        }

        var own = target.SenderId == actorId;
        ConversationRecord conversation;
        if (moderated)
        {
            conversation = await membership.RequireConversationAsync(target.ConversationId, cancellationToken);
        }
        else
        {
            await membership.RequireMessageAccessAsync(target.ConversationId, request.MessageId, actorId, cancellationToken);
            var action = request.Kind switch
            {
                MessageChangeKinds.Edit => ConversationAction.Send,
                MessageChangeKinds.Delete when !own => ConversationAction.DeleteOthersMessages,
                MessageChangeKinds.Pin => ConversationAction.Pin,
                _ => ConversationAction.Read,
            };
            conversation = (await membership.RequireAsync(target.ConversationId, actorId, action, cancellationToken)).Conversation;
        }

        if (!string.Equals(conversation.Status, ConversationStatuses.Active, StringComparison.Ordinal))
        {
            throw Errors.ConversationInactive(conversation.Id, conversation.Status).ToException();
        }

        if (request.Kind == MessageChangeKinds.Edit)
        {
            if (!own)
            {
                throw Errors.NotMessageSender(request.MessageId).ToException();
            }

            if (messageOptions.Value.EditWindow is { } window && window > TimeSpan.Zero && time.GetUtcNow() - target.AcceptedAt > window)
            {
                throw Errors.EditWindowClosed(request.MessageId, window).ToException();
            }
        }

        if (target.Deleted && request.Kind != MessageChangeKinds.Delete)
        {
            throw Errors.MessageDeleted(request.MessageId).ToException();
        }

        if (request.Kind != MessageChangeKinds.Delete)
        {
            await social.RequireNotBlockedAsync(conversation, actorId, cancellationToken);
        }

        var now = NowToTheMillisecond();
        if (request.Kind == MessageChangeKinds.Vote)
        {
            RequireVote(target, request, now);
        }

        var envelope = ChangeEnvelope(target.ConversationId, actorId, request, clientChangeId, now);
        var appended = await AppendAsync(envelope, cancellationToken);

        return new ChangeAck(appended.MessageId, request.MessageId, target.ConversationId, request.Kind, Core.Messaging.MessageState.Pending.ToWire(),
            appended.AcceptedAt, envelope.IdempotencyKey, appended.Duplicate, appended.Partition);
    }

    /// <summary>
    /// The expiry worker's delete for everyone of a disappearing message that is due: no user made it, so no rate limit,
    /// permission or block applies. Its key is the message's own, so however often a pass or a node appends it (the
    /// message stays due until the worker has applied it), it is applied once.
    /// </summary>
    public async Task<bool> ExpireAsync(ExpiringMessage due, CancellationToken cancellationToken)
    {
        var envelope = ChangeEnvelope(due.ConversationId, ServerActors.Expiry, new MessageChangeRequest(MessageChangeKinds.Delete, due.MessageId), "expiry",
            NowToTheMillisecond());
        var appended = await log.AppendAsync(envelope, cancellationToken);
        return !appended.Duplicate;
    }

    /// <summary>A checked change as a log entry accepted at <paramref name="now"/>, carrying only the fields of its kind.</summary>
    private static MessageEnvelope ChangeEnvelope(Guid conversationId, Guid actorId, MessageChangeRequest request, string? clientChangeId, DateTimeOffset now)
    {
        var changeId = Guid.CreateVersion7(now);
        return new MessageEnvelope
        {
            MessageId = changeId,
            ConversationId = conversationId,
            SenderId = actorId,
            Type = request.Kind,
            Content = request.Kind == MessageChangeKinds.Edit ? request.Content! : "",
            ClientMessageId = clientChangeId,
            IdempotencyKey = IdempotencyKeys.ForChange(conversationId, actorId, request.Kind, request.MessageId, clientChangeId, changeId),
            CorrelationId = Guid.CreateVersion7(now),
            AcceptedAt = now,
            TraceParent = Activity.Current?.Id,
            Kind = request.Kind,
            TargetId = request.MessageId,
            Reason = request.Reason,
            ReactionKey = request.Kind == MessageChangeKinds.Reaction ? request.ReactionKey : null,
            Added = request.Kind is MessageChangeKinds.Reaction or MessageChangeKinds.Pin ? request.Added : null,
            OptionIds = request.Kind == MessageChangeKinds.Vote ? request.OptionIds : null,
        };
    }

    /// <summary>A vote must name a poll that is open and options it has (one, unless it takes several); a retraction (none) always fits.</summary>
    private static void RequireVote(Target target, MessageChangeRequest request, DateTimeOffset now)
    {
        if (target.Stored && target.Poll is null)
        {
            throw Errors.NotAPoll(request.MessageId).ToException();
        }

        if (target.Poll is { } poll)
        {
            if (poll.IsClosed(now))
            {
                throw Errors.PollClosed(request.MessageId, poll.ClosesAt!.Value).ToException();
            }

            if (poll.ProblemWith(request.OptionIds ?? []) is { } problem)
            {
                throw Errors.InvalidValue("optionIds", problem).ToException();
            }
        }
    }

    /// <summary>Millisecond precision: the log and store keep milliseconds, so a replayed ack matches the first one exactly.</summary>
    private DateTimeOffset NowToTheMillisecond()
    {
        var now = time.GetUtcNow();
        return now.AddTicks(-(now.Ticks % TimeSpan.TicksPerMillisecond));
    }

    /// <summary>The append every ack waits for; a failure the client cannot tell from success is ENQUEUE_FAILED (retry with the same id).</summary>
    private async Task<AppendResult> AppendAsync(MessageEnvelope envelope, CancellationToken cancellationToken)
    {
        try
        {
            using var append = ParleyActivities.Ingress.StartActivity(ParleyActivities.Names.Append, ActivityKind.Producer);
            return await log.AppendAsync(envelope, cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            Log.AppendFailed(logger, ex, envelope.ConversationId, envelope.CorrelationId);
            throw Errors.EnqueueFailed().ToException();
        }
    }

    /// <summary>
    /// What a change or a reply needs to know about the message it names. <see cref="Stored"/> false: still in the log,
    /// where its poll is not known (a vote on it is checked when it is applied).
    /// </summary>
    private sealed record Target(Guid ConversationId, Guid SenderId, DateTimeOffset AcceptedAt, bool Deleted, bool Stored = true, PollDefinition? Poll = null)
    {
        public static Target Of(StoredMessage m) => new(m.ConversationId, m.SenderId, m.AcceptedAt, m.Deleted, Poll: m.Poll?.Definition);
    }

    /// <summary>
    /// The message a change or reply names: stored, or still in the log (sent a moment ago; the change will be applied
    /// after it, being in the same partition). Unknown, or dead-lettered (it will never be stored): not found.
    /// </summary>
    /// <param name="recent">A read of the last <see cref="RecentTargets.Ttl"/> will do: for the kinds that come in floods
    /// (reactions, votes), where a change accepted just after a delete is left unchanged when applied. Edits, deletes and
    /// pins always read the store, so their MESSAGE_DELETED is exact.</param>
    private async Task<Target> FindTargetAsync(Guid messageId, CancellationToken cancellationToken, bool recent = false)
    {
        if (recent && recentTargets.TryGet(messageId, out Target? known) && known is not null)
        {
            return known;
        }

        if (await store.GetMessageAsync(messageId, cancellationToken) is { } stored)
        {
            var target = Target.Of(stored);
            if (recent && !target.Deleted)
            {
                recentTargets.Remember(messageId, target);
            }

            return target;
        }

        if (await log.FindAsync(messageId, cancellationToken) is { } logged)
        {
            return logged.State == LoggedMessageState.Pending
                ? new Target(logged.ConversationId, logged.SenderId, logged.AcceptedAt, false, Stored: false)
                : throw Errors.MessageNotFound(messageId).ToException();
        }

        // Stored and acknowledged between the two reads: the log forgets an entry only after the store has it.
        return await store.GetMessageAsync(messageId, cancellationToken) is { } justStored
            ? Target.Of(justStored)
            : throw Errors.MessageNotFound(messageId).ToException();
    }

    private static SendAck Ack(Guid messageId, Guid correlationId, Core.Messaging.MessageState state, DateTimeOffset acceptedAt, string key, bool hit, int partition) =>
        new(messageId, correlationId, state.ToWire(), acceptedAt, key, hit, $"/api/v1/messages/{messageId}/status", partition);

    /// <summary>
    /// The state GET /api/v1/messages/{id}/status would report. Best effort: the message is safe in the log either
    /// way, so a store that cannot answer costs the client only a "pending" it will see move on, never the send.
    /// </summary>
    private async Task<Core.Messaging.MessageState> CurrentStateAsync(Guid messageId, CancellationToken cancellationToken)
    {
        var status = await ReadStoreAsync(messageId, ct => store.GetMessageStatusAsync(messageId, ct), cancellationToken);
        if (status is not null)
        {
            return status.State;
        }

        try
        {
            return (await log.FindAsync(messageId, cancellationToken))?.State == LoggedMessageState.DeadLettered
                ? Core.Messaging.MessageState.Failed
                : Core.Messaging.MessageState.Pending;
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            // The log took the append a moment ago; if it cannot answer now, the message is at least pending.
            Log.IdempotentStateUnavailable(logger, ex, messageId);
            return Core.Messaging.MessageState.Pending;
        }
    }

    private async Task<MessageStatusRecord?> ReadStoreAsync(Guid messageId, Func<CancellationToken, Task<MessageStatusRecord?>> read, CancellationToken cancellationToken)
    {
        if (time.GetTimestamp() < Interlocked.Read(ref _storeReadsResumeAt))
        {
            return null;
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(StoreReadTimeout);
        try
        {
            return await read(timeout.Token);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            Interlocked.Exchange(ref _storeReadsResumeAt, time.GetTimestamp() + (long)(StoreReadBackoff.TotalSeconds * time.TimestampFrequency));
            Log.IdempotentStateUnavailable(logger, ex, messageId);
            return null;
        }
    }

    /// <summary>
    /// Only sends that carry a clientMessageId can outlive the log's window (a content key changes every second), so only
    /// they pay this key check (batched with the other sends in flight, see StoredKeyLookup), run beside the append and
    /// used only when the log says "new". A normal send
    /// without a clientMessageId never reads the store. Best effort like <see cref="CurrentStateAsync"/>: when the store
    /// cannot answer, the fresh ack stands and the persist step still folds the entry into the stored message by key.
    /// </summary>
    private async Task<MessageStatusRecord?> StoredDuplicateAsync(MessageEnvelope envelope, CancellationToken cancellationToken)
    {
        // Almost every send is new: the key check is batched with the other sends in flight, and only a hit pays the status read.
        // The key under this send's own id means the worker already stored this very append: not a resend.
        return await ReadStoreAsync(envelope.MessageId, async ct => await storedKeys.FindAsync(envelope.IdempotencyKey, ct) is { } id && id != envelope.MessageId
            ? await store.GetMessageStatusAsync(id, ct)
            : null, cancellationToken);
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
