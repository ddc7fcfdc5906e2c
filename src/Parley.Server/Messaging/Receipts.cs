using Parley.Core.Errors;
using Parley.Core.Events;
using Parley.Core.Messaging;
using Parley.Core.Ports;
using Parley.Server.Contracts;
using Parley.Server.Conversations;

namespace Parley.Server.Messaging;

/// <summary>
/// Moves a member's delivered or read watermark, for the hub (AckDelivered, MarkRead) and REST (POST …/read) alike, as
/// <see cref="MessageIngress"/> serves both for sends: checks the call, moves the watermark in the store and hands the
/// change to live delivery (<see cref="IRealtimeFanout"/>), which tells every member's devices.
/// </summary>
public sealed class Receipts(IReceiptStore receipts, MembershipCache membership, IRealtimeFanout fanout)
{
    /// <param name="conversationId">The empty UUID stands for an absent one (a hub argument left out).</param>
    public async Task<ReceiptView> AdvanceAsync(Guid userId, Guid conversationId, ReceiptKind kind, long upTo, CancellationToken cancellationToken)
    {
        if (conversationId == Guid.Empty)
        {
            throw Errors.MissingField("conversationId").ToException();
        }

        if (upTo < 0)
        {
            throw Errors.InvalidValue(kind == ReceiptKind.Read ? "upToSequence" : "sequence", "must not be negative").ToException();
        }

        await membership.RequireMemberAsync(conversationId, userId, cancellationToken);
        var update = await receipts.AdvanceReceiptAsync(conversationId, userId, kind, upTo, EventContext.New(userId), cancellationToken)
            ?? throw Errors.NotMember(conversationId).ToException();
        await fanout.ReceiptAdvancedAsync(update, cancellationToken);
        return ReceiptView.From(update);
    }
}
