using System.Text.Json;
using Microsoft.Extensions.Options;
using Parley.Core.Events;
using Parley.Core.Messaging;
using Parley.Core.Persistence;
using Parley.Core.Ports;
using Parley.Core.Push;
using Parley.Server.Events;
using Parley.Server.Hosting;

namespace Parley.Server.Push;

/// <summary>
/// Decides who gets a push (P5), following the outbox's <c>message.stored</c> events, never the delivery path: for each
/// stored message, every other member with a registered device, no online connection on any node, and the
/// conversation not muted, gets a job per device on the push queue, due after the coalescing window so that what
/// follows soon folds into it. A replayed batch (at least once) finds the message ids already in the waiting job.
/// </summary>
public sealed class PushPlanner(
    IPushDeviceStore devices,
    IPresenceStore presence,
    IPushQueue queue,
    IMessageStore messages,
    IConversationStore conversations,
    IUserStore users,
    PushMetrics metrics,
    IOptions<PushOptions> options,
    PushClock clock) : IDomainEventConsumer
{
    public string Name => "push";

    public async Task HandleAsync(IReadOnlyList<DomainEvent> events, CancellationToken cancellationToken)
    {
        if (!options.Value.Enabled)
        {
            return;
        }

        var names = new Dictionary<Guid, string>();
        foreach (var e in events)
        {
            if (e.Type != DomainEventTypes.MessageStored)
            {
                continue;
            }

            var stored = JsonSerializer.Deserialize(e.Data, ChangeEventsJson.Default.MessageStoredData)!;
            if (stored.Type == MessageTypes.System)
            {
                continue;
            }

            await PlanAsync(stored, names, cancellationToken);
        }
    }

    private async Task PlanAsync(MessageStoredData stored, Dictionary<Guid, string> names, CancellationToken cancellationToken)
    {
        var now = clock.Now;
        var recipients = (await devices.GetRecipientsAsync(stored.ConversationId, stored.SenderId, cancellationToken)).Where(r => !r.MutedAt(now)).ToList();
        if (recipients.Count == 0)
        {
            return;
        }

        var online = (await presence.GetAsync([.. recipients.Select(r => r.Device.UserId).Distinct()], cancellationToken))
            .Where(p => p.Online).Select(p => p.UserId).ToHashSet();
        recipients.RemoveAll(r => online.Contains(r.Device.UserId));
        if (recipients.Count == 0)
        {
            return;
        }

        var message = await messages.GetMessageAsync(stored.MessageId, cancellationToken);
        if (message is null || message.DeletedAt is not null)
        {
            // Deleted (or expired) before anyone was told: nothing to announce.
            return;
        }

        var conversation = await conversations.GetConversationAsync(stored.ConversationId, cancellationToken);
        if (!names.TryGetValue(stored.SenderId, out var sender))
        {
            sender = names[stored.SenderId] = (await users.GetUserAsync(stored.SenderId, cancellationToken))?.DisplayName ?? "Someone";
        }

        var (title, body) = PushJobs.Content(options.Value.Preview, conversation?.Title, sender, PreviewText(message));
        var jobs = recipients.Select(r => new PushJob(Guid.CreateVersion7(now), r.Device.Id, r.Device.UserId, r.Device.Platform, r.Device.Token, stored.ConversationId,
            [stored.MessageId], 1, title, body, r.UnreadTotal, now)).ToList();
        var merged = await queue.EnqueueAsync(jobs, now + options.Value.CoalesceWindow, PushJobs.Merge, cancellationToken);
        metrics.Enqueued(jobs.Count - merged, merged);
    }

    private static string PreviewText(StoredMessage message) => message.Type switch
    {
        MessageTypes.Text => message.Content,
        MessageTypes.Image => "Photo",
        MessageTypes.Video => "Video",
        MessageTypes.Audio => "Voice message",
        MessageTypes.File => "File",
        MessageTypes.Location => "Location",
        _ => "New message",
    };
}
