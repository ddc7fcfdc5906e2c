using System.Text.Json;
using System.Text.Json.Serialization;

namespace Parley.Core.Push;

/// <summary>Where a device's pushes go (P5): the provider a registration names.</summary>
public static class PushPlatforms
{
    public const string WebPush = "webpush";
    public const string Webhook = "webhook";
    public const string Fcm = "fcm";
    public const string Apns = "apns";

    public static readonly IReadOnlyList<string> All = [WebPush, Webhook, Fcm, Apns];
}

/// <summary>How much of a message a push shows (<c>Parley:Push:Preview</c>): lock screens are public.</summary>
public static class PushPreviews
{
    /// <summary>"New message" only.</summary>
    public const string None = "none";

    /// <summary>Who wrote, not what.</summary>
    public const string Sender = "sender";

    /// <summary>Who wrote and the start of the text.</summary>
    public const string Preview = "preview";

    public static readonly IReadOnlyList<string> All = [None, Sender, Preview];
}

/// <summary>A registered push target. <see cref="Token"/> is the provider's opaque token, or a Web Push subscription as JSON.</summary>
public sealed record PushDevice(Guid Id, Guid UserId, string Platform, string Token, DateTimeOffset CreatedAt);

/// <summary>A conversation member with a push target, as the push planner needs them: their settings and total unread (the badge).</summary>
public sealed record PushRecipient(PushDevice Device, bool Muted, DateTimeOffset? MutedUntil, long UnreadTotal)
{
    public bool MutedAt(DateTimeOffset now) => Muted && (MutedUntil is not { } until || until > now);
}

/// <summary>
/// One push to one device, as queued. Messages that reach an offline device within the coalescing window are folded into
/// the job still waiting for it (<see cref="PushJobs.Merge"/>): one push says "3 new messages" instead of three pushes.
/// </summary>
public sealed record PushJob(
    Guid Id,
    Guid DeviceId,
    Guid UserId,
    string Platform,
    string Token,
    Guid ConversationId,
    IReadOnlyList<Guid> MessageIds,
    int Count,
    string Title,
    string Body,
    long Badge,
    DateTimeOffset CreatedAt)
{
    public byte[] Serialize() => JsonSerializer.SerializeToUtf8Bytes(this, PushJson.Default.PushJob);

    public static PushJob Deserialize(ReadOnlySpan<byte> json) =>
        JsonSerializer.Deserialize(json, PushJson.Default.PushJob) ?? throw new JsonException("A push job was null");
}

/// <summary>A job as the queue hands it out: with the attempts made so far (a retry) and how often it was replayed from dead letters.</summary>
public sealed record PushJobLease(string QueueId, PushJob Job, int Attempts, int Replays);

/// <summary>The rules of push jobs: what a push says, how jobs coalesce, when a failed one is tried again.</summary>
public static class PushJobs
{
    /// <summary>The most message ids a coalesced job remembers (the count goes on).</summary>
    public const int MaxMessageIds = 50;

    /// <summary>Characters of text a preview shows.</summary>
    public const int PreviewLength = 120;

    /// <summary>
    /// When a failed attempt is tried again (P5: 1 s, 5 s, 30 s); null after the third retry: the job is dead-lettered.
    /// <paramref name="attempts"/> counts the attempts made, the failed one included.
    /// </summary>
    public static TimeSpan? RetryDelay(int attempts) => attempts switch
    {
        1 => TimeSpan.FromSeconds(1),
        2 => TimeSpan.FromSeconds(5),
        3 => TimeSpan.FromSeconds(30),
        _ => null,
    };

    public const int MaxRetries = 3;

    /// <summary>The title and body a push shows for one message, under the configured preview mode.</summary>
    public static (string Title, string Body) Content(string preview, string? conversationTitle, string senderName, string? text)
    {
        var title = preview == PushPreviews.None ? "New message" : conversationTitle is { Length: > 0 } t ? t : senderName;
        var body = preview switch
        {
            PushPreviews.None => "You have a new message",
            PushPreviews.Sender => conversationTitle is { Length: > 0 } ? $"New message from {senderName}" : "New message",
            _ => Truncate(conversationTitle is { Length: > 0 } ? $"{senderName}: {text}" : text ?? ""),
        };
        return (title, body);
    }

    /// <summary>
    /// A job still waiting for its device, with one more message folded in: the newest message's conversation, title and
    /// badge, the count added up, and its body saying how many there are once there is more than one. A message the
    /// waiting job already has (an event handled again after a crash) changes nothing.
    /// </summary>
    public static PushJob Merge(PushJob waiting, PushJob next)
    {
        var added = next.MessageIds.Count(id => !waiting.MessageIds.Contains(id));
        if (added == 0)
        {
            return waiting;
        }

        var count = waiting.Count + added;
        var ids = waiting.MessageIds.Concat(next.MessageIds).Distinct().ToList();
        if (ids.Count > MaxMessageIds)
        {
            ids = ids[^MaxMessageIds..];
        }

        return waiting with
        {
            Token = next.Token,
            ConversationId = next.ConversationId,
            MessageIds = ids,
            Count = count,
            Title = next.Title,
            Body = count > 1 ? $"{count} new messages" : next.Body,
            Badge = Math.Max(waiting.Badge, next.Badge),
        };
    }

    private static string Truncate(string text) =>
        text.Length <= PreviewLength ? text : string.Concat(text.AsSpan(0, char.IsHighSurrogate(text[PreviewLength - 1]) ? PreviewLength - 2 : PreviewLength - 1), "…");
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(PushJob))]
internal sealed partial class PushJson : JsonSerializerContext;

/// <summary>The push kind of dead letter (E2): a job that failed its retries or failed for good.</summary>
public static class PushDeadLetters
{
    public const string Kind = "push";
}
