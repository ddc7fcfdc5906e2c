using Microsoft.AspNetCore.SignalR;
using Parley.Core.Ports;
using Parley.Server.Hosting;
using Parley.Server.Messaging;
using Parley.Server.Observability;

namespace Parley.Server.Realtime;

/// <summary>
/// Pushes events to every connected device of the given users. A failed push is logged, never thrown: the
/// message is already stored, and a client that missed it catches up from history by sequence.
/// </summary>
public sealed class RealtimeNotifier(IHubContext<ChatHub> hub, IConversationStore conversations, ParleyMetrics metrics, ILogger<RealtimeNotifier> logger)
{
    public async Task MessageCreatedAsync(StoredMessage message, IReadOnlyList<Guid> memberIds, CancellationToken cancellationToken)
    {
        metrics.FanoutAttempted.Add(memberIds.Count);
        try
        {
            await hub.Clients.Users(UserIds(memberIds)).SendAsync(RealtimeEvents.MessageCreated, MessageView.From(message), cancellationToken);
            metrics.FanoutDelivered.Add(memberIds.Count);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            metrics.FanoutFailed.Add(memberIds.Count, ParleyMetrics.Tag(Telemetry.Tags.Reason, ex.GetType().Name));
            Log.FanoutFailed(logger, ex, message.Id, message.CorrelationId);
        }
    }

    /// <summary>Tells every member (the senders among them) that a member's watermark moved.</summary>
    public async Task ReceiptAsync(ReceiptUpdate update, CancellationToken cancellationToken)
    {
        if (!update.Advanced)
        {
            return;
        }

        try
        {
            var members = await conversations.GetMemberIdsAsync(update.ConversationId, cancellationToken);
            await hub.Clients.Users(UserIds(members)).SendAsync(RealtimeEvents.Receipt, ReceiptView.From(update), cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            Log.ReceiptNotifyFailed(logger, ex, update.ConversationId);
        }
    }

    private static List<string> UserIds(IReadOnlyList<Guid> ids) => ids.Select(id => id.ToString()).ToList();
}
