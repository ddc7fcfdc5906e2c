namespace Parley.Server.Hosting;

internal static partial class Log
{
    [LoggerMessage(1700, LogLevel.Information, "Domain event consumer {Consumer} follows the outbox from {Position}")]
    public static partial void EventConsumerStarted(ILogger logger, string consumer, string position);
}
