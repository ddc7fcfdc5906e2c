using Parley.Core.Events;
using Parley.Core.Messaging;
using Parley.Core.Ports;

namespace Parley.Core.Persistence;

/// <summary>A member's receipt state as the engine loaded it (under a row lock or the write gate).</summary>
public readonly record struct ReceiptState(ReceiptWatermarks Watermarks, long UnreadCount, long LastSequence);

/// <param name="RecountUnread">The read watermark moved: the engine recounts the member's unread messages after it.</param>
public sealed record ReceiptDecision(ReceiptWatermarks Watermarks, bool Advanced, bool RecountUnread);

/// <summary>The receipt rules, once for every engine: monotonic, idempotent, capped at the last sequence, read implies delivered.</summary>
public static class ReceiptPlanner
{
    public static ReceiptDecision Decide(ReceiptState state, ReceiptKind kind, long upToSequence)
    {
        var after = state.Watermarks.Advance(kind, upToSequence, state.LastSequence);
        return new ReceiptDecision(after, after != state.Watermarks, after.Read != state.Watermarks.Read);
    }

    /// <summary>The update the store returns for a move that was a no-op: nothing written, no event.</summary>
    public static ReceiptUpdate Unchanged(Guid conversationId, Guid userId, ReceiptKind kind, ReceiptState state) =>
        new(conversationId, userId, kind, state.Watermarks, state.UnreadCount, Advanced: false);

    /// <summary>The update of a move and its event, once the engine has written it (and recounted unread if asked).</summary>
    public static (ReceiptUpdate Update, DomainEvent Event) Advanced(Guid conversationId, Guid userId, ReceiptKind kind, ReceiptDecision decision, long unreadCount, DateTimeOffset now, EventContext context)
    {
        var update = new ReceiptUpdate(conversationId, userId, kind, decision.Watermarks, unreadCount, Advanced: true);
        return (update, ChangeEvents.ReceiptAdvanced(update, now, context));
    }
}
