using Parley.Core.Events;
using Parley.Core.Push;

namespace Parley.Core.Ports;

/// <summary>
/// Users' registered push targets (P5), in the store. A token belongs to one device: registering a token that is
/// already registered moves it to the caller (a phone that changed hands) instead of adding a second row. Registration
/// and removal record <c>device.registered</c> / <c>device.removed</c> (without the token) in the same transaction.
/// </summary>
public interface IPushDeviceStore
{
    /// <summary>Registers the target, or refreshes the registration of the same platform and token; Created says which.</summary>
    Task<(PushDevice Device, bool Created)> RegisterAsync(Guid userId, string platform, string token, DateTimeOffset now, EventContext context, CancellationToken cancellationToken);

    Task<IReadOnlyList<PushDevice>> ListAsync(Guid userId, CancellationToken cancellationToken);

    /// <summary>
    /// Removes the device if <paramref name="userId"/> owns it (null: whoever owns it, when a provider reported the token
    /// gone); <paramref name="reason"/> is <c>user</c> or <c>gone</c>. False when there is no such device.
    /// </summary>
    Task<bool> RemoveAsync(Guid deviceId, Guid? userId, string reason, DateTimeOffset now, EventContext context, CancellationToken cancellationToken);

    /// <summary>
    /// The conversation's members other than <paramref name="senderId"/> that have a push target, one row per target,
    /// with their settings for the conversation and the sum of their unread counts. One query, whatever the group's size.
    /// </summary>
    Task<IReadOnlyList<PushRecipient>> GetRecipientsAsync(Guid conversationId, Guid senderId, CancellationToken cancellationToken);
}
