using Parley.Core.Events;

namespace Parley.Server.Events;

/// <summary>
/// Something that follows the domain events in order: webhooks, push, analytics, the event file. Register one with
/// <c>services.AddDomainEventConsumer&lt;T&gt;()</c> and <see cref="OutboxReader"/> runs it in a consumer loop of its own.
/// Delivery is at least once: after a crash or a failed save the last batch comes again, so a consumer must treat an
/// event id it has already handled as done.
/// </summary>
public interface IDomainEventConsumer
{
    /// <summary>Stable: it names the consumer's stored position. Renaming it starts the consumer from the beginning.</summary>
    string Name { get; }

    /// <summary>
    /// True when one node at a time may run this consumer (its effects leave the cluster: pushes, webhooks), so several
    /// nodes following the shared position do not each act on the same events; false for a node's own sink (a file).
    /// </summary>
    bool SingleActive => true;

    /// <summary>Handles a batch, oldest first. Throwing retries the same batch after a backoff; the position does not move.</summary>
    Task HandleAsync(IReadOnlyList<DomainEvent> events, CancellationToken cancellationToken);
}
