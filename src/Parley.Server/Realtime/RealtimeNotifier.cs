using Microsoft.Extensions.Options;
using Parley.Core.Ports;
using Parley.Server.Conversations;
using Parley.Server.Hosting;
using Parley.Server.Messaging;
using Parley.Server.Observability;

namespace Parley.Server.Realtime;

/// <summary>
/// Hands events to the devices of the given users. Handing off never waits on a device: each has its own bounded
/// queue (<see cref="DeviceConnection"/>), so one slow device cannot hold up the delivery workers. Every event is
/// also published on the node bus so devices connected to other nodes get it too; a lost publish is made good by
/// recovery by sequence.
/// </summary>
public sealed class RealtimeNotifier(
    ConnectionRegistry registry,
    RealtimeBus bus,
    IConversationStore conversations,
    MembershipCache membership,
    IOptions<RealtimeOptions> options,
    ParleyMetrics metrics,
    ILogger<RealtimeNotifier> logger) : IRealtimeFanout
{
    Task IRealtimeFanout.MessageStoredAsync(StoredMessage message, IReadOnlyList<Guid> memberIds, CancellationToken cancellationToken) =>
        MessageCreatedAsync(message, memberIds, cancellationToken);

    Task IRealtimeFanout.ReceiptAdvancedAsync(ReceiptUpdate update, CancellationToken cancellationToken) =>
        ReceiptAsync(update, cancellationToken);

    public async Task MessageCreatedAsync(StoredMessage message, IReadOnlyList<Guid> memberIds, CancellationToken cancellationToken)
    {
        metrics.FanoutAttempted.Add(memberIds.Count);
        try
        {
            await SendAsync(RealtimeEnvelope.ForMessage(MessageView.From(message), memberIds), cancellationToken);
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
            var members = await membership.MembersAsync(update.ConversationId, cancellationToken);
            await EventAsync(members, RealtimeEvents.Receipt, ReceiptView.From(update), null, cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            Log.ReceiptNotifyFailed(logger, ex, update.ConversationId);
        }
    }

    public Task TypingAsync(IReadOnlyList<Guid> memberIds, TypingEvent typing, CancellationToken cancellationToken) =>
        EventAsync(memberIds, RealtimeEvents.Typing, typing, typing.UserId, cancellationToken);

    /// <summary>
    /// Pushes a user's presence change to the members of their direct conversations and of their groups up to
    /// <see cref="RealtimeOptions.PresenceMaxGroupSize"/> members (larger groups ask with GET …/presence instead).
    /// </summary>
    public async Task PresenceAsync(PresenceEvent presence, CancellationToken cancellationToken)
    {
        try
        {
            var audience = new HashSet<Guid>();
            ConversationCursor? cursor = null;
            do
            {
                var page = await conversations.ListConversationsAsync(presence.UserId, cursor, 200, cancellationToken);
                foreach (var summary in page.Items.Where(s => s.MemberIds.Count <= options.Value.PresenceMaxGroupSize))
                {
                    audience.UnionWith(summary.MemberIds);
                }

                cursor = page.Next;
            }
            while (cursor is not null && audience.Count < 10_000);

            audience.Remove(presence.UserId);
            await EventAsync([.. audience], RealtimeEvents.Presence, presence, null, cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            Log.PresenceNotifyFailed(logger, ex, presence.UserId);
        }
    }

    private Task EventAsync(IReadOnlyList<Guid> userIds, string name, object payload, Guid? exceptUser, CancellationToken cancellationToken) =>
        SendAsync(RealtimeEnvelope.ForEvent(name, payload, userIds, exceptUser), cancellationToken);

    /// <summary>This node's devices first (no wait on the bus), then every other node's.</summary>
    private async Task SendAsync(RealtimeEnvelope envelope, CancellationToken cancellationToken)
    {
        DeliverLocal(envelope);
        await bus.PublishAsync(envelope, cancellationToken);
    }

    /// <summary>Hands an event to this node's devices of its users (called for local events and for the bus's).</summary>
    public void DeliverLocal(RealtimeEnvelope envelope)
    {
        foreach (var user in envelope.UserIds)
        {
            if (user == envelope.ExceptUser)
            {
                continue;
            }

            foreach (var device in registry.Of(user))
            {
                if (envelope.Message is { } message)
                {
                    device.Push(message);
                }
                else
                {
                    device.PushEvent(envelope.Name, envelope.Payload!);
                }
            }
        }
    }
}
