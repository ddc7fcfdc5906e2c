namespace Parley.Server.Hosting;

internal static partial class Log
{
    [LoggerMessage(1800, LogLevel.Warning, "The block state of direct conversation {ConversationId} could not be read; sends use the last state read (or go ahead) for a few seconds")]
    public static partial void BlockStateUnavailable(ILogger logger, Exception exception, Guid conversationId);

    [LoggerMessage(1805, LogLevel.Warning, "Not every node confirmed dropping a pair's cached block state within {TimeoutMs} ms; their entries expire on their own (Parley:Social:BlockCacheTtl)")]
    public static partial void BlockInvalidationUnconfirmed(ILogger logger, double timeoutMs);

    [LoggerMessage(1806, LogLevel.Warning, "Could not tell the other nodes that a block changed; their entries expire on their own (Parley:Social:BlockCacheTtl)")]
    public static partial void BlockInvalidationFailed(ILogger logger, Exception exception);

    [LoggerMessage(1803, LogLevel.Information, "Search keys written for {Count} users created before migration 005")]
    public static partial void SearchKeysBackfilled(ILogger logger, int count);

    [LoggerMessage(1804, LogLevel.Warning, "Search keys of users created before migration 005 could not be written; they are not found by display name until the next start")]
    public static partial void SearchKeysBackfillFailed(ILogger logger, Exception exception);
}
