using Parley.Core.Events;

namespace Parley.Core.Ports;

/// <summary>
/// The read side of the outbox: every committed change's domain event, in commit-safe order, and where each consumer
/// has got to. The write side is not here: each store operation writes its event in its own transaction.
/// </summary>
public interface IDomainEventStore
{
    /// <summary>
    /// Up to <paramref name="limit"/> events after <paramref name="after"/>, oldest first. An event is withheld while a
    /// transaction that could still commit an earlier one is open, so a consumer that moves its cursor to the last event
    /// it got never skips one that appears later.
    /// </summary>
    Task<IReadOnlyList<DomainEvent>> ReadAsync(EventCursor after, int limit, CancellationToken cancellationToken);

    /// <summary>As the unfiltered read, only the events <paramref name="filter"/> matches (the admin events API, E1).</summary>
    Task<IReadOnlyList<DomainEvent>> ReadAsync(EventCursor after, int limit, EventFilter filter, CancellationToken cancellationToken);

    /// <summary>Where <paramref name="consumer"/> got to; <see cref="EventCursor.Start"/> for a new consumer.</summary>
    Task<EventCursor> GetCheckpointAsync(string consumer, CancellationToken cancellationToken);

    Task SaveCheckpointAsync(string consumer, EventCursor cursor, CancellationToken cancellationToken);
}

/// <summary>Which events a read returns: those of one aggregate, of one type, or both; null matches any.</summary>
public sealed record EventFilter(string? AggregateId = null, string? Type = null)
{
    public static readonly EventFilter None = new();
}
