using Parley.Core.Errors;
using Parley.Core.Ports;
using Parley.Server.Contracts;
using Parley.Server.Http;

namespace Parley.Server.Messaging;

/// <summary>
/// History centred on one message (M10 <c>around</c>): jump to a search hit or a quoted reply and scroll either way
/// from there. The anchor is a sequence (<c>around</c>) or a message id (<c>aroundMessageId</c>); it pages by
/// sequence like the rest of history, so the cursors it hands out are the ordinary before/after ones.
/// </summary>
public static class HistoryAround
{
    public readonly record struct Anchor(long? Sequence, Guid? MessageId);

    /// <summary>The anchor from the query, if any. It replaces the bounds rather than combining with them.</summary>
    public static Anchor? Read(HttpRequest request, long? before, long? after)
    {
        var sequence = JsonRequest.QueryInt64(request, "around", 1, long.MaxValue);
        var rawId = request.Query["aroundMessageId"];
        Guid? messageId = null;
        if (rawId.Count > 0 && !string.IsNullOrEmpty(rawId[0]))
        {
            messageId = rawId.Count == 1 && Guid.TryParse(rawId[0], out var id)
                ? id
                : throw Errors.InvalidValue("aroundMessageId", "must be one UUID").ToException();
        }

        if (sequence is null && messageId is null)
        {
            return null;
        }

        var field = sequence is not null ? "around" : "aroundMessageId";
        if (sequence is not null && messageId is not null)
        {
            throw Errors.InvalidValue(field, "give around or aroundMessageId, not both").ToException();
        }

        if (before is not null || after is not null)
        {
            throw Errors.InvalidValue(field, "cannot be combined with before or after").ToException();
        }

        return new Anchor(sequence, messageId);
    }

    public static async Task<MessagePageView> PageAsync(IMessageStore messages, Guid conversationId, Anchor anchor, int limit, Guid viewer, CancellationToken ct)
    {
        var sequence = anchor.Sequence ?? await SequenceOfAsync(messages, conversationId, anchor.MessageId!.Value, ct);
        var page = await messages.GetMessagesAsync(conversationId, new HistoryQuery(null, null, limit) { Around = sequence, Viewer = viewer }, ct);
        var items = page.Items.Select(MessageView.From).ToList();
        return new MessagePageView(
            items,
            page.HasMore,
            NextBefore: page.HasMoreBefore && items.Count > 0 ? items[0].Sequence : null,
            NextAfter: page.HasMoreAfter && items.Count > 0 ? items[^1].Sequence : null);
    }

    private static async Task<long> SequenceOfAsync(IMessageStore messages, Guid conversationId, Guid messageId, CancellationToken ct)
    {
        // A message of another conversation is as unknown here as one that does not exist: the caller proved
        // membership of this conversation only.
        var message = await messages.GetMessageAsync(messageId, ct);
        return message is not null && message.ConversationId == conversationId
            ? message.Sequence
            : throw Errors.MessageNotFound(messageId).ToException();
    }
}
