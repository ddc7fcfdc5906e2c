using System.Globalization;
using Parley.Core.Events;

namespace Parley.Core.Ports;

/// <summary>A conversation's list read model: what the conversation list sorts by and shows.</summary>
public readonly record struct ConversationReadModel(DateTimeOffset LastActivityAt, Guid? LastMessageId)
{
    public override string ToString() => $"lastActivityAt {LastActivityAt.UtcDateTime.ToString("O", CultureInfo.InvariantCulture)}, lastMessageId {LastMessageId?.ToString() ?? "null"}";
}

/// <summary>A member's unread read model.</summary>
public readonly record struct MemberReadModel(long UnreadCount, long UnreadMentions)
{
    public override string ToString() => $"unread {UnreadCount}, mentions {UnreadMentions}";
}

/// <summary>A message's counters: thread replies and reaction counts (the stored JSON of key to count, null when none).</summary>
public readonly record struct MessageReadModel(int ReplyCount, string? Reactions)
{
    public bool IsEmpty => ReplyCount == 0 && Reactions is null;

    public override string ToString() => $"replies {ReplyCount}, reactions {Reactions ?? "none"}";
}

/// <summary>
/// The read models the rebuild (E1) and reconciliation (E4) cover, keyed as the store keys them. From a store: every
/// conversation and member row, and the messages whose counters are not empty (an absent message has none).
/// </summary>
public sealed record ReadModelSet(
    IReadOnlyDictionary<Guid, ConversationReadModel> Conversations,
    IReadOnlyDictionary<(Guid ConversationId, Guid UserId), MemberReadModel> Members,
    IReadOnlyDictionary<Guid, MessageReadModel> Messages)
{
    public static readonly ReadModelSet Empty = new(new Dictionary<Guid, ConversationReadModel>(), new Dictionary<(Guid, Guid), MemberReadModel>(), new Dictionary<Guid, MessageReadModel>());

    public int Count => Conversations.Count + Members.Count + Messages.Count;
}

/// <summary>Thrown when the outbox holds events written before they carried what the rebuild needs.</summary>
public sealed class ReadModelHistoryException(EventCursor newestUnusable, string eventType)
    : InvalidOperationException(
        $"The outbox holds {eventType} events written before they recorded the thread root and mentions (the newest at position {newestUnusable}); " +
        $"read models cannot be rebuilt from this history. Only a history that starts after position {newestUnusable} can rebuild them.")
{
    public EventCursor NewestUnusable { get; } = newestUnusable;
}

/// <summary>One read model value that differs from what the events say.</summary>
public sealed record ReadModelDrift(string Model, string Key, string Current, string Projected)
{
    public override string ToString() => $"{Model} {Key}: {Current} -> {Projected}";
}

/// <summary>
/// One read model compared: how many values were examined, how many the events do not cover (rows older than the outbox,
/// left as they are), and those that differ.
/// </summary>
public sealed record ReadModelCheck(string Model, int Examined, int Uncovered, IReadOnlyList<ReadModelDrift> Drifts);

/// <summary>A rebuild or a check: the comparison, the values that differ (what a rebuild writes) and whether they were written.</summary>
public sealed record ReadModelReport(IReadOnlyList<ReadModelCheck> Checks, ReadModelSet Changes, long EventsRead, bool Applied)
{
    public int DriftCount => Checks.Sum(c => c.Drifts.Count);
}

