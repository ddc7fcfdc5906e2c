namespace Parley.Server.Hosting;

internal static partial class Log
{
    [LoggerMessage(1710, LogLevel.Debug, "Webhook delivery {DeliveryId} of event {EventId} to subscription {SubscriptionId} delivered ({StatusCode}) on attempt {Attempt}")]
    public static partial void WebhookDelivered(ILogger logger, Guid deliveryId, Guid eventId, Guid subscriptionId, int statusCode, int attempt);

    [LoggerMessage(1711, LogLevel.Information, "Webhook delivery {DeliveryId} to subscription {SubscriptionId} failed on attempt {Attempt} ({ErrorType}: {Error}); next attempt in {RetryIn}")]
    public static partial void WebhookAttemptFailed(ILogger logger, Guid deliveryId, Guid subscriptionId, int attempt, string errorType, string error, TimeSpan retryIn);

    [LoggerMessage(1712, LogLevel.Warning, "Webhook delivery {DeliveryId} of event {EventId} to subscription {SubscriptionId} is dead after {Attempts} attempt(s) ({ErrorType}: {Error})")]
    public static partial void WebhookDeliveryDead(ILogger logger, Guid deliveryId, Guid eventId, Guid subscriptionId, int attempts, string errorType, string error);

    [LoggerMessage(1713, LogLevel.Warning, "Webhook subscription {SubscriptionId} was disabled after {Failures} failed attempts in a row; PATCH it with enabled=true once the receiver is fixed")]
    public static partial void WebhookSubscriptionDisabled(ILogger logger, Guid subscriptionId, int failures);

    [LoggerMessage(1714, LogLevel.Information, "Webhook subscription {SubscriptionId} {Change} by {UserId}")]
    public static partial void WebhookSubscriptionChanged(ILogger logger, Guid subscriptionId, string change, Guid userId);

    [LoggerMessage(1715, LogLevel.Warning, "Finishing webhook delivery {DeliveryId} failed; it is claimed and sent again after {ClaimTimeout}")]
    public static partial void WebhookFinishFailed(ILogger logger, Exception exception, Guid deliveryId, TimeSpan claimTimeout);
}
