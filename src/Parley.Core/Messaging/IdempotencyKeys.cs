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

    /// <summary>SHA-256 of the UTF-8 content, lower-case hex (M6 content hash).</summary>
    public static string ContentHash(string content) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(content)));

    private static string Hash(string text)
    {
        Span<byte> digest = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes(text), digest);
        return Convert.ToBase64String(digest).TrimEnd('=').Replace('+', '-').Replace('/', '_');
    }
}
