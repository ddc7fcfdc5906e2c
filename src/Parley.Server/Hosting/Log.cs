namespace Parley.Server.Hosting;

/// <summary>Every log line the server writes, with stable event ids (grep the event id to find the call site).</summary>
internal static partial class Log
{
    private static readonly Func<ILogger, Guid, Guid, string, IDisposable?> s_messageScope =
        LoggerMessage.DefineScope<Guid, Guid, string>("Message {MessageId} (correlation {CorrelationId}, trace {TraceId})");

    /// <summary>Every line logged inside carries the message's id, correlation id and trace id (with IncludeScopes or JSON logs).</summary>
    public static IDisposable? MessageScope(ILogger logger, Guid messageId, Guid correlationId, string? traceParent) =>
        s_messageScope(logger, messageId, correlationId, ParleyActivities.ParentOf(traceParent).TraceId.ToString());

    [LoggerMessage(1000, LogLevel.Information, "Parley started on {Urls}: engine {Engine}, data directory {DataDirectory}, {Partitions} log partitions (this node takes its share by lease; each take is logged at Debug)")]
    public static partial void Started(ILogger logger, string urls, string engine, string dataDirectory, int partitions);

    [LoggerMessage(1001, LogLevel.Information, "Generated a new JWT signing key {KeyId} in {Path}")]
    public static partial void SigningKeyGenerated(ILogger logger, string keyId, string path);

    [LoggerMessage(1100, LogLevel.Error, "Unhandled error on {Method} {Path}")]
    public static partial void UnhandledRequestError(ILogger logger, Exception exception, string method, string path);

    [LoggerMessage(1102, LogLevel.Warning, "A backing service is unavailable for {Method} {Path}; answered 503")]
    public static partial void DependencyUnavailable(ILogger logger, Exception exception, string method, string path);

    [LoggerMessage(1103, LogLevel.Warning, "The store is unavailable; serving membership of conversation {ConversationId} from the last known state")]
    public static partial void MembershipFromStale(ILogger logger, Exception exception, Guid conversationId);

    [LoggerMessage(1104, LogLevel.Warning, "Not every node confirmed dropping its cached membership of conversation {ConversationId} within {TimeoutMs} ms; their entries expire on their own")]
    public static partial void MembershipInvalidationUnconfirmed(ILogger logger, Guid conversationId, double timeoutMs);

    [LoggerMessage(1105, LogLevel.Warning, "Could not tell the other nodes that the membership of conversation {ConversationId} changed; their entries expire on their own")]
    public static partial void MembershipInvalidationFailed(ILogger logger, Exception exception, Guid conversationId);

    [LoggerMessage(1101, LogLevel.Warning, "Log append failed for conversation {ConversationId} (correlation {CorrelationId})")]
    public static partial void AppendFailed(ILogger logger, Exception exception, Guid conversationId, Guid correlationId);

    // 1200-1203 (consumer loops) are in Parley.Hosting's HostingLog.

    [LoggerMessage(1300, LogLevel.Warning, "Persisting entry {EntryId} of partition {Partition} failed (delivery {Delivery}, correlation {CorrelationId})")]
    public static partial void PersistAttemptFailed(ILogger logger, Exception exception, string entryId, int partition, int delivery, Guid? correlationId);

    [LoggerMessage(1301, LogLevel.Error, "Dead-lettered entry {EntryId} of partition {Partition} after {Deliveries} deliveries: {ErrorType}: {Error} (correlation {CorrelationId})")]
    public static partial void DeadLettered(ILogger logger, string entryId, int partition, int deliveries, string errorType, string error, Guid? correlationId);

    [LoggerMessage(1303, LogLevel.Warning, "{Operation} failed transiently (attempt {Attempt}); holding the batch of partition {Partition} and retrying in {Delay}")]
    public static partial void TransientFailure(ILogger logger, Exception exception, string operation, int attempt, int partition, TimeSpan delay);

    [LoggerMessage(1304, LogLevel.Information, "{Operation} recovered after {Attempts} attempt(s) on partition {Partition}")]
    public static partial void TransientRecovered(ILogger logger, string operation, int attempts, int partition);

    [LoggerMessage(1302, LogLevel.Debug, "Message {MessageId} was already stored (a replay); pushing it again for devices that missed it (correlation {CorrelationId})")]
    public static partial void PersistDuplicate(ILogger logger, Guid messageId, Guid correlationId);

    [LoggerMessage(1400, LogLevel.Warning, "Fanout of message {MessageId} failed (correlation {CorrelationId}); clients recover it from history")]
    public static partial void FanoutFailed(ILogger logger, Exception exception, Guid messageId, Guid correlationId);

    [LoggerMessage(1401, LogLevel.Warning, "Receipt notification for conversation {ConversationId} failed")]
    public static partial void ReceiptNotifyFailed(ILogger logger, Exception exception, Guid conversationId);

    [LoggerMessage(1402, LogLevel.Warning, "Realtime event {EventName} could not be handed to every node")]
    public static partial void RealtimeEventFailed(ILogger logger, Exception exception, string eventName);

    [LoggerMessage(1500, LogLevel.Warning, "Connection {ConnectionId} of user {UserId} is too slow ({Limit} events queued); disconnecting it")]
    public static partial void SlowConsumer(ILogger logger, string connectionId, Guid userId, int limit);

    [LoggerMessage(1501, LogLevel.Error, "The realtime writer of connection {ConnectionId} failed; closing the connection")]
    public static partial void RealtimeWriterFailed(ILogger logger, Exception exception, string connectionId);

    [LoggerMessage(1502, LogLevel.Information, "Connection {ConnectionId} of user {UserId} closed: its access token expired without a refresh")]
    public static partial void TokenExpiredClose(ILogger logger, string connectionId, Guid userId);

    [LoggerMessage(1503, LogLevel.Warning, "Connection {ConnectionId} sent a frame over the size limit and was closed")]
    public static partial void OversizedFrame(ILogger logger, string connectionId);

    [LoggerMessage(1504, LogLevel.Warning, "Presence push for user {UserId} failed")]
    public static partial void PresenceNotifyFailed(ILogger logger, Exception exception, Guid userId);

    [LoggerMessage(1505, LogLevel.Warning, "The realtime sweep (typing, token expiry, presence) failed; retrying in a second")]
    public static partial void RealtimeSweepFailed(ILogger logger, Exception exception);

    [LoggerMessage(1506, LogLevel.Debug, "Hub call {Method} on connection {ConnectionId} refused: {Code}: {Reason}")]
    public static partial void HubCallRefused(ILogger logger, string method, string connectionId, string code, string reason);

    [LoggerMessage(1507, LogLevel.Warning, "A backing service is unavailable for hub method {Method}; answered SERVICE_UNAVAILABLE")]
    public static partial void HubDependencyUnavailable(ILogger logger, Exception exception, string method);

    [LoggerMessage(1508, LogLevel.Error, "Hub method {Method} failed on connection {ConnectionId}")]
    public static partial void HubMethodFailed(ILogger logger, Exception exception, string method, string connectionId);

    [LoggerMessage(1600, LogLevel.Debug, "Node {Node} took partition {Partition} (lease epoch {Epoch})")]
    public static partial void PartitionAcquired(ILogger logger, int partition, long epoch, string node);

    [LoggerMessage(1601, LogLevel.Debug, "Node {Node} handed partition {Partition} back (lease epoch {Epoch})")]
    public static partial void PartitionReleased(ILogger logger, int partition, long epoch, string node);

    [LoggerMessage(1602, LogLevel.Warning, "Node {Node} lost its lease on partition {Partition} (epoch {Epoch}): it could not renew in time")]
    public static partial void PartitionLost(ILogger logger, int partition, long epoch, string node);

    [LoggerMessage(1603, LogLevel.Warning, "Node {Node} was fenced off partition {Partition}: the store has seen a newer epoch than {Epoch}; its batch was not written and stays pending for the new holder")]
    public static partial void PartitionFenced(ILogger logger, int partition, long epoch, string node);

    [LoggerMessage(1604, LogLevel.Warning, "Node {Node} could not hand its partition leases over on shutdown; they lapse on their own")]
    public static partial void LeaseHandOverFailed(ILogger logger, Exception exception, string node);
}
