using Parley.Core.Events;
using Parley.Core.Messaging;

namespace Parley.Core.Ports;

/// <summary>Per-member delivered/read watermarks and the unread counts they drive.</summary>
public interface IReceiptStore
{
    /// <summary>
    /// Moves a member's delivered or read watermark forward as <c>Persistence.ReceiptPlanner</c> decides (capped at the
    /// conversation's last sequence, never backwards). Null when the user is not a member. Only a move records
    /// <c>receipt.advanced</c>.
    /// </summary>
    Task<ReceiptUpdate?> AdvanceReceiptAsync(Guid conversationId, Guid userId, ReceiptKind kind, long upToSequence, EventContext context, CancellationToken cancellationToken);
}
