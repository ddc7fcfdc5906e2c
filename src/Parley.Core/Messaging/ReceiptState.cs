namespace Parley.Core.Messaging;

/// <summary>A message's state as its sender sees it. The order is the only allowed direction of travel.</summary>
public enum MessageState
{
    Pending = 0,
    Sent = 1,
    Delivered = 2,
    Read = 3,
    Failed = 4,
}

public enum ReceiptKind
{
    Delivered,
    Read,
}

public static class MessageStates
{
    public static string ToWire(this MessageState state) => state switch
    {
        MessageState.Pending => "pending",
        MessageState.Sent => "sent",
        MessageState.Delivered => "delivered",
        MessageState.Read => "read",
        MessageState.Failed => "failed",
        _ => throw new ArgumentOutOfRangeException(nameof(state)),
    };
}

/// <summary>
/// Receipts are per-member watermarks (highest delivered / read sequence). Moving one is monotonic and
/// idempotent: a lower or equal value is a no-op, and read implies delivered.
/// </summary>
public readonly record struct ReceiptWatermarks(long Delivered, long Read)
{
    public ReceiptWatermarks AdvanceDelivered(long upTo) => this with { Delivered = Math.Max(Delivered, upTo) };

    public ReceiptWatermarks AdvanceRead(long upTo) => new(Math.Max(Delivered, upTo), Math.Max(Read, upTo));

    /// <summary>Moves the watermark <paramref name="kind"/> names, never past the conversation's last sequence.</summary>
    public ReceiptWatermarks Advance(ReceiptKind kind, long upTo, long lastSequence)
    {
        var capped = Math.Min(upTo, lastSequence);
        return kind == ReceiptKind.Read ? AdvanceRead(capped) : AdvanceDelivered(capped);
    }

    public MessageState StateOf(long sequence) =>
        Read >= sequence ? MessageState.Read : Delivered >= sequence ? MessageState.Delivered : MessageState.Sent;
}
