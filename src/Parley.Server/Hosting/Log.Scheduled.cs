namespace Parley.Server.Hosting;

internal static partial class Log
{
    [LoggerMessage(1120, LogLevel.Information, "Scheduled message {ScheduledId} in conversation {ConversationId} was not sent at its time: {Reason}")]
    public static partial void ScheduledSendFailed(ILogger logger, Guid scheduledId, Guid conversationId, string reason);
}
