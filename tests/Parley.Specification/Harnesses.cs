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

    Task RestartAsync();
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

    public static DateTimeOffset TruncatedNow()
    {
        var now = DateTimeOffset.UtcNow;
        return now.AddTicks(-(now.Ticks % TimeSpan.TicksPerMillisecond));
    }
}
