namespace Parley.Core.Ports;

/// <summary>
/// Live delivery as the layers below realtime see it: the delivery pipeline hands over each stored message and the
/// receipts service each moved watermark, without knowing about hubs, devices or nodes. Never throws for a delivery
/// that failed: a lost push is made good by recovery by sequence.
/// </summary>
public interface IRealtimeFanout
{
    Task MessageStoredAsync(StoredMessage message, IReadOnlyList<Guid> memberIds, CancellationToken cancellationToken);

    /// <summary>An applied change (edit, delete for everyone, reaction), after the message it changes; a lost one is recovered by change position.</summary>
    Task MessageChangedAsync(StoredChange change, IReadOnlyList<Guid> memberIds, CancellationToken cancellationToken);

    Task ReceiptAdvancedAsync(ReceiptUpdate update, CancellationToken cancellationToken);
}
