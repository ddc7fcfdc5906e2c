namespace Parley.Hosting;

/// <summary>
/// Each engine says which of its exceptions mean "unavailable right now, try again" (a connection refused,
/// a timeout, a busy database) as opposed to "this can never work". Retrying a transient failure must not
/// use up a message's retry budget, or a database outage would dead-letter everything in flight.
/// </summary>
public interface ITransientErrorClassifier
{
    bool IsTransient(Exception exception);
}

/// <summary>All registered classifiers together.</summary>
public sealed class TransientErrors(IEnumerable<ITransientErrorClassifier> classifiers)
{
    private readonly ITransientErrorClassifier[] _classifiers = [.. classifiers];

    public bool IsTransient(Exception exception) =>
        exception is TimeoutException or System.Net.Sockets.SocketException
        || _classifiers.Any(c => c.IsTransient(exception))
        || (exception.InnerException is { } inner && IsTransient(inner))
        || (exception is AggregateException aggregate && aggregate.InnerExceptions.Any(IsTransient));
}
