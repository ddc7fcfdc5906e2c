using Microsoft.Extensions.Options;
using Parley.Core.Ports;
using Parley.Server.Contracts;
using Parley.Server.Conversations;
using Parley.Server.Hosting;

namespace Parley.Server.Realtime;

/// <summary>
/// Hands events to the devices of the given users. Handing off never waits on a device: each has its own bounded
/// queue (<see cref="DeviceConnection"/>), so one slow device cannot hold up the delivery workers. Every event is
/// also published on the node bus so devices connected to other nodes get it too; a lost publish is made good by
/// recovery by sequence.
/// </summary>
public sealed class RealtimeNotifier(
    LocalDelivery local,
    NodeEventRelay relay,
    IConversationStore conversations,
    MembershipCache membership,
    IOptions<RealtimeOptions> options,
    RealtimeMetrics metrics,
    ILogger<RealtimeNotifier> logger) : IRealtimeFanout, IRealtimeEvents
{
    public async Task PublishAsync(AddressedEvent addressed, CancellationToken cancellationToken)
    {
        try
        {
            await SendAsync(addressed, cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            Log.RealtimeEventFailed(logger, ex, addressed.Event.Name);
        }
    }

    public async Task MessageStoredAsync(StoredMessage message, IReadOnlyList<Guid> memberIds, CancellationToken cancellationToken)
    {
        metrics.FanoutAttempted(memberIds.Count);
        try
        {
            await SendAsync(new AddressedEvent(new MessageCreatedEvent(MessageView.From(message)), memberIds), cancellationToken);
            metrics.FanoutDelivered(memberIds.Count);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            metrics.FanoutFailed(memberIds.Count, ex);
            Log.FanoutFailed(logger, ex, message.Id, message.CorrelationId);
        }
    }

    public async Task MessageChangedAsync(StoredChange change, IReadOnlyList<Guid> memberIds, CancellationToken cancellationToken)
    {
        try
        {
            await SendAsync(new AddressedEvent(MessageChangeEvent.From(change), memberIds), cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            metrics.FanoutFailed(memberIds.Count, ex);
            Log.FanoutFailed(logger, ex, change.Message.Id, change.Id);
        }
    }

    /// <summary>Until the delivery pipeline calls the <see cref="IRealtimeFanout"/> port.</summary>
    public Task MessageCreatedAsync(StoredMessage message, IReadOnlyList<Guid> memberIds, CancellationToken cancellationToken) =>
        MessageStoredAsync(message, memberIds, cancellationToken);

    /// <summary>Tells every member (the senders among them) that a member's watermark moved.</summary>
    public async Task ReceiptAdvancedAsync(ReceiptUpdate update, CancellationToken cancellationToken)
    {
        if (!update.Advanced)
        {
            return;
        }

        try
        {
            var members = await membership.MembersAsync(update.ConversationId, cancellationToken);
            await SendAsync(new AddressedEvent(new ReceiptEvent(ReceiptView.From(update)), members), cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            Log.ReceiptNotifyFailed(logger, ex, update.ConversationId);
        }
    }

    /// <summary>To every member's devices but the typist's own.</summary>
    public Task TypingAsync(IReadOnlyList<Guid> memberIds, TypingView typing, CancellationToken cancellationToken) =>
        SendAsync(new AddressedEvent(new TypingEvent(typing), memberIds, typing.UserId), cancellationToken);

    /// <summary>
    /// Pushes a user's presence change to the members of their direct conversations and of their groups up to
    /// <see cref="RealtimeOptions.PresenceMaxGroupSize"/> members (larger groups ask with GET …/presence instead).
    /// </summary>
    public async Task PresenceAsync(PresenceView presence, CancellationToken cancellationToken)
    {
        try
        {
            var audience = new HashSet<Guid>();
            ConversationCursor? cursor = null;
            do
            {
                var page = await conversations.ListConversationsAsync(presence.UserId, ConversationListFilter.All, cursor, 200, cancellationToken);
                foreach (var summary in page.Items.Where(s => s.MemberIds.Count <= options.Value.PresenceMaxGroupSize))
                {
                    audience.UnionWith(summary.MemberIds);
                }

                cursor = page.Next;
            }
            while (cursor is not null && audience.Count < 10_000);

            audience.Remove(presence.UserId);
            await SendAsync(new AddressedEvent(new PresenceEvent(presence), [.. audience]), cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            Log.PresenceNotifyFailed(logger, ex, presence.UserId);
        }
    }

    /// <summary>This node's devices first (no wait on the bus), then every other node's.</summary>
    private async Task SendAsync(AddressedEvent addressed, CancellationToken cancellationToken)
    {
        local.Deliver(addressed);
        await relay.PublishAsync(addressed, cancellationToken);
    }
}
