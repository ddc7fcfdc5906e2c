using System.Security.Cryptography;
using System.Text;

namespace Parley.Core.Messaging;

/// <summary>
/// P3 idempotency keys. A client message id is scoped to its conversation and sender, so two users can
/// never collide on it. Without one, the key covers conversation + sender + type + content within a
/// one-second window: an accidental double tap is folded, a deliberate repeat a second later is not.
/// </summary>
public static class IdempotencyKeys
{
    public static string FromClientMessageId(Guid conversationId, Guid senderId, string clientMessageId) =>
        "c:" + Hash($"{conversationId:N}\n{senderId:N}\n{clientMessageId}");

    public static string FromContent(Guid conversationId, Guid senderId, string type, string content, DateTimeOffset at) =>
        "h:" + Hash($"{conversationId:N}\n{senderId:N}\n{type}\n{at.ToUnixTimeSeconds()}\n{content}");

    public static string For(Guid conversationId, Guid senderId, string? clientMessageId, string type, string content, DateTimeOffset at) =>
        clientMessageId is null
            ? FromContent(conversationId, senderId, type, content, at)
            : FromClientMessageId(conversationId, senderId, clientMessageId);

    /// <summary>
    /// The release of a scheduled message without a client message id: one key per scheduled row, so a release repeated
    /// after a crash between the append and marking the row sent is folded into the first.
    /// </summary>
    public static string ForScheduled(Guid scheduledId) => "s:" + Hash($"{scheduledId:N}");

    /// <summary>
    /// A change's key: with the client's id for it, its actor, kind, target and that id, so a resent change is folded like
    /// a resent send. Without one, the change's own id: unlike a send, a change is not folded by its content, because
    /// add, remove and add again within a second are three changes; each kind is idempotent by itself instead (a
    /// reaction is a set member, a delete of a deleted message and an edit to the same content change nothing).
    /// </summary>
    public static string ForChange(Guid conversationId, Guid actorId, string kind, Guid targetId, string? clientChangeId, Guid changeId) =>
        "x:" + Hash(clientChangeId is null
            ? $"{changeId:N}"
            : $"{conversationId:N}\n{actorId:N}\n{kind}\n{targetId:N}\n{clientChangeId}");

    /// <summary>SHA-256 of the UTF-8 content, lower-case hex (M6 content hash).</summary>
    public static string ContentHash(string content) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(content)));

    private static string Hash(string text)
    {
        Span<byte> digest = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes(text), digest);
        return Convert.ToBase64String(digest).TrimEnd('=').Replace('+', '-').Replace('/', '_');
    }
}
