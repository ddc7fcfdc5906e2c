namespace Parley.Server.Hosting;

internal static partial class Log
{
    [LoggerMessage(1110, LogLevel.Warning, "The store could not say what became of resent message {MessageId}; the ack reports what the log knows")]
    public static partial void IdempotentStateUnavailable(ILogger logger, Exception exception, Guid messageId);

    [LoggerMessage(1510, LogLevel.Warning, "Connection {ConnectionId} did not get its unread total: the store could not answer")]
    public static partial void UnreadTotalFailed(ILogger logger, Exception exception, string connectionId);
}
