using System.Text.Json.Serialization;
using Parley.Core.Messaging;
using Parley.Core.Ports;

namespace Parley.Server.Contracts;

/// <summary>
/// A scheduled send (M8) as its sender sees it: when it goes, its state (<c>scheduled</c>, <c>sent</c>,
/// <c>cancelled</c>, <c>failed</c>) and what it will send. The answer to scheduling too, with <c>idempotentHit</c>.
/// </summary>
public sealed record ScheduledMessageView(
    Guid ScheduledId,
    Guid ConversationId,
    DateTimeOffset SendAt,
    string Status,
    DateTimeOffset CreatedAt,
    string Type,
    string Content,
    JsonText? Metadata,
    string? ClientMessageId)
{
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public Guid? ReplyTo { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<Guid>? Mentions { get; init; }

    /// <summary>Once sent: the message it became (its sequence is assigned then, like any send's).</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public Guid? MessageId { get; init; }

    /// <summary>Once failed: the error code the send got at its time (the sender left, was blocked, the conversation closed, …).</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? FailureReason { get; init; }

    /// <summary>Only in the answer to scheduling: true when a schedule with the same clientMessageId was already there (this is it).</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public bool IdempotentHit { get; init; }

    public static ScheduledMessageView From(ScheduledMessage s)
    {
        var request = ScheduledRequests.FromJson(s.Request);
        return new ScheduledMessageView(s.Id, s.ConversationId, s.SendAt, s.Status, s.CreatedAt, request.Type, request.Content, JsonText.From(request.Metadata),
            s.ClientMessageId)
        {
            ReplyTo = request.ReplyTo,
            Mentions = request.Mentions is { Count: > 0 } ? request.Mentions : null,
            MessageId = s.MessageId,
            FailureReason = s.FailureReason,
        };
    }
}

public sealed record ScheduledPageView(IReadOnlyList<ScheduledMessageView> Items, string? NextCursor);
