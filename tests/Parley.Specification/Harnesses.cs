using Parley.Core.Messaging;
using Parley.Core.Ports;

namespace Parley.Specification;

/// <summary>One log engine under test. <see cref="RestartAsync"/> drops the instance and opens a new one over the same data.</summary>
public interface ILogHarness : IAsyncDisposable
{
    IMessageLog Log { get; }

    Task RestartAsync();
}

/// <summary>One store engine under test, with a restart over the same data.</summary>
public interface IStoreHarness : IAsyncDisposable
{
    IUserStore Users { get; }

    ISessionStore Sessions { get; }

    IConversationStore Conversations { get; }

    IMessageStore Messages { get; }

    IReceiptStore Receipts { get; }

    IDomainEventStore Events { get; }

    ISocialStore Social { get; }

    IPersonalStore Personal { get; }

    IReportStore Reports { get; }
    IScheduledMessageStore Scheduled { get; }

    IPushDeviceStore PushDevices { get; }
    IWebhookStore Webhooks { get; }
    IReadModelStore ReadModels { get; }

    Task RestartAsync();
}

public static class ConversationStoreExtensions
{
    /// <summary>A private group owned by <paramref name="owner"/>, for tests about what happens inside one.</summary>
    public static async Task<ConversationRecord> CreateGroupAsync(this IConversationStore store, Guid id, Guid owner, string? title, IReadOnlyCollection<Guid> members, DateTimeOffset now, Core.Events.EventContext context, CancellationToken cancellationToken) =>
        (await store.CreateAsync(new NewConversation(id, Core.Membership.ConversationTypes.Group, owner, members, title, null, null, null, Core.Membership.ConversationVisibility.Private), now, context, cancellationToken)).Conversation;
}

public static class Envelopes
{
    public static MessageEnvelope New(Guid conversationId, Guid senderId, string content = "hello", string? clientMessageId = null, DateTimeOffset? at = null)
    {
        var now = at ?? TruncatedNow();
        return new MessageEnvelope
        {
            MessageId = Guid.CreateVersion7(),
            ConversationId = conversationId,
            SenderId = senderId,
            Type = MessageTypes.Text,
            Content = content,
            ClientMessageId = clientMessageId ?? Guid.NewGuid().ToString("N"),
            IdempotencyKey = IdempotencyKeys.FromClientMessageId(conversationId, senderId, clientMessageId ?? Guid.NewGuid().ToString("N")),
            CorrelationId = Guid.CreateVersion7(),
            AcceptedAt = now,
        };
    }

    /// <summary>A change (edit, delete for everyone, reaction) to <paramref name="target"/> by <paramref name="actor"/>, as the ingress makes it.</summary>
    public static MessageEnvelope Change(StoredMessage target, Guid actor, string kind, string content = "", string? key = null, bool added = true, string? reason = null, string? clientChangeId = null)
    {
        var id = Guid.CreateVersion7();
        return new MessageEnvelope
        {
            MessageId = id,
            ConversationId = target.ConversationId,
            SenderId = actor,
            Type = kind,
            Content = content,
            IdempotencyKey = IdempotencyKeys.ForChange(target.ConversationId, actor, kind, target.Id, clientChangeId, id),
            CorrelationId = Guid.CreateVersion7(),
            AcceptedAt = TruncatedNow(),
            Kind = kind,
            TargetId = target.Id,
            Reason = reason,
            ReactionKey = key,
            Added = kind is MessageChangeKinds.Reaction or MessageChangeKinds.Pin ? added : null,
        };
    }

    /// <summary>A send replying to <paramref name="target"/>.</summary>
    public static MessageEnvelope Reply(StoredMessage target, Guid sender, string content) => New(target.ConversationId, sender, content) with { ReplyTo = target.Id };

    public static DateTimeOffset TruncatedNow()
    {
        var now = DateTimeOffset.UtcNow;
        return now.AddTicks(-(now.Ticks % TimeSpan.TicksPerMillisecond));
    }
}
