using System.Net;

namespace Parley.Hosting;

/// <summary>What a failed attempt means for the next one (E2): the one answer every retrying part of Parley uses.</summary>
public enum FailureKind
{
    /// <summary>Might work later (an outage, a timeout, a 5xx, a 429, an open circuit): retry with backoff.</summary>
    Retryable,

    /// <summary>Will fail the same way every time (a 4xx, a payload that cannot be decoded): stop, dead-letter, and never reprocess on a schedule.</summary>
    Permanent,

    /// <summary>The target no longer exists (a push token the provider reports as 404/410 unregistered): drop the target, do not retry.</summary>
    Gone,
}

/// <summary>
/// The classifier of failures for everything that retries: the delivery pipeline, push, webhooks and dead-letter
/// reprocessing. HTTP answers are judged by status; exceptions by <see cref="TransientErrors"/> (the engines' own
/// transient errors) plus the network and timeout failures of an outbound call.
/// </summary>
public static class Failures
{
    public static FailureKind OfStatus(HttpStatusCode status) => (int)status switch
    {
        404 or 410 => FailureKind.Gone,
        408 or 425 or 429 => FailureKind.Retryable,
        >= 500 => FailureKind.Retryable,
        _ => FailureKind.Permanent,
    };

    /// <summary>An exception from an outbound call or a store: network, timeouts, open circuits and engine outages are retryable.</summary>
    public static FailureKind OfException(Exception exception, TransientErrors transient) =>
        exception is HttpRequestException or TaskCanceledException or OperationCanceledException or TimeoutException or IOException
            || exception.GetType().Name is "BrokenCircuitException" or "IsolatedCircuitException" or "TimeoutRejectedException"
            || transient.IsTransient(exception)
            ? FailureKind.Retryable
            : FailureKind.Permanent;

    /// <summary>
    /// The kind recorded with a dead letter, from its stored error type: scheduled reprocessing retries only the
    /// retryable ones (an error type is the exception's or the failure's name, as each part stores it).
    /// </summary>
    public static FailureKind OfErrorType(string errorType) => errorType switch
    {
        "Retryable" or "HttpRequestException" or "TaskCanceledException" or "TimeoutException" or "TimeoutRejectedException"
            or "BrokenCircuitException" or "IsolatedCircuitException" => FailureKind.Retryable,
        "Gone" => FailureKind.Gone,
        _ when errorType.StartsWith("Http5", StringComparison.Ordinal) || errorType is "Http408" or "Http425" or "Http429" => FailureKind.Retryable,
        _ when errorType is "Http404" or "Http410" => FailureKind.Gone,
        _ => FailureKind.Permanent,
    };

    /// <summary>The error type a failed HTTP answer is stored under (<see cref="OfErrorType"/> reads it back).</summary>
    public static string ErrorType(HttpStatusCode status) => $"Http{(int)status}";
}
