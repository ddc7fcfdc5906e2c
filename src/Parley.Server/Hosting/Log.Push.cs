namespace Parley.Server.Hosting;

internal static partial class Log
{
    [LoggerMessage(2400, LogLevel.Warning, "Push {JobId} to device {DeviceId} ({Platform}) failed (attempt {Attempt}, {ErrorType}): {Error}; next attempt at {RetryAt}")]
    public static partial void PushRetrying(ILogger logger, Guid jobId, Guid deviceId, string platform, int attempt, string errorType, string error, DateTimeOffset retryAt);

    [LoggerMessage(2401, LogLevel.Error, "Push {JobId} to device {DeviceId} ({Platform}) dead-lettered after {Attempts} attempt(s) ({ErrorType}): {Error}")]
    public static partial void PushDeadLettered(ILogger logger, Guid jobId, Guid deviceId, string platform, int attempts, string errorType, string error);

    [LoggerMessage(2402, LogLevel.Information, "Device {DeviceId} ({Platform}) of user {UserId} unregistered: the provider reported its token gone ({Error})")]
    public static partial void PushDeviceGone(ILogger logger, Guid deviceId, string platform, Guid userId, string error);

    [LoggerMessage(2403, LogLevel.Warning, "Push circuit breaker for {Platform} is {State}")]
    public static partial void PushBreakerChanged(ILogger logger, string platform, string state);

    [LoggerMessage(2404, LogLevel.Warning, "Finishing push {JobId} failed; it is claimed and sent again after {ClaimTimeout}")]
    public static partial void PushFinishFailed(ILogger logger, Exception exception, Guid jobId, TimeSpan claimTimeout);
}

internal static partial class Log
{
    [LoggerMessage(2410, LogLevel.Information, "Dead letter {DeadLetterId} replayed ({By})")]
    public static partial void DeadLetterReplayed(ILogger logger, string deadLetterId, string by);

    [LoggerMessage(2411, LogLevel.Information, "Dead letter {DeadLetterId} discarded by an admin")]
    public static partial void DeadLetterDiscarded(ILogger logger, string deadLetterId);
}
