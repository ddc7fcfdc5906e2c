using Parley.Core.Events;
using Parley.Core.Ports;

namespace Parley.Core.Persistence;

/// <summary>What a settings change writes, decided once for every engine from the row the engine read (and holds).</summary>
public static class MemberSettingsPlanner
{
    /// <summary>
    /// The settings to store and their event; no event when nothing changes, and then the engine writes nothing. Times
    /// are cut to the milliseconds every engine keeps, so the answer is what a later read returns.
    /// </summary>
    public static (MemberSettings Next, DomainEvent? Event) Plan(Guid conversationId, Guid userId, MemberSettings current, MemberSettingsChange change, DateTimeOffset now, EventContext context)
    {
        now = StoreTime.Truncate(now);
        var next = change.ApplyTo(current, now);
        next = next with { MutedUntil = next.MutedUntil is { } until ? StoreTime.Truncate(until) : null };
        return next == current ? (current, null) : (next, ChangeEvents.MemberSettingsChanged(conversationId, userId, next, now, context));
    }
}
