using Parley.Core.Membership;
using Parley.Core.Ports;

namespace Parley.Core.Persistence;

/// <summary>How a new conversation and its first members look, and the orderings the stores share, written once.</summary>
public static class ConversationRecords
{
    public static ConversationRecord Created(NewConversation spec, DateTimeOffset now) =>
        new(spec.Id, spec.Type, spec.Title, ConversationStatuses.Active, spec.Owner, now, now, 0)
        {
            Description = spec.Description,
            AvatarUrl = spec.AvatarUrl,
            Metadata = spec.Metadata,
            Visibility = spec.Visibility,
            Context = spec.Context,
        };

    /// <summary>
    /// What makes a context conversation unique: its context and its initial members (the owner included), so "get or
    /// create the chat for booking X between these two" is one conversation however often and concurrently it is asked.
    /// </summary>
    public static string? ContextKey(NewConversation spec)
    {
        if (spec.Context is not { } context)
        {
            return null;
        }

        var members = string.Join(',', spec.Members.Append(spec.Owner).Distinct().Order().Select(m => m.ToString("N")));
        var digest = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes($"{context.Type}\n{context.Id}\n{members}")));
        return $"{context.Type}:{digest}";
    }

    /// <summary>The creator as owner, first; everyone else once, as a member.</summary>
    public static List<(Guid UserId, string Role)> InitialRoles(NewConversation spec) =>
        [.. spec.Members.Where(m => m != spec.Owner).Distinct().Select(m => (m, ParticipantRoles.Member)).Prepend((spec.Owner, ParticipantRoles.Owner))];

    /// <summary>
    /// SQL ordering of the candidates for ownership when the last owner leaves (the same text on both engines):
    /// admins, then moderators, then members; within a role the longest-standing first.
    /// </summary>
    public const string SuccessionOrder = "CASE role WHEN 'admin' THEN 0 WHEN 'moderator' THEN 1 ELSE 2 END";

    /// <summary>
    /// The conversation list's SQL (the same text on both engines) over participants <c>p</c> and conversations <c>c</c>,
    /// after the caller's own conditions: the filter's kind and archived state, then the keyset. The sort key puts
    /// pinned conversations first when <c>{pinnedFirst}</c> is true and is false for every row otherwise, so one
    /// statement serves both orders. Parameters are named by the engine (<paramref name="p"/> maps a name to its marker).
    /// </summary>
    public static string ListConditionsAndOrder(Func<string, string> p) => $"""
          AND ({p("kind")} IS NULL OR c.type = {p("kind")})
          AND ({p("archived")} IS NULL OR p.archived = {p("archived")})
          AND ({p("contextType")} IS NULL OR (c.context_type = {p("contextType")} AND ({p("contextId")} IS NULL OR c.context_id = {p("contextId")})))
          AND ({p("cursorAt")} IS NULL OR {PinnedKey(p)} < {p("cursorPinned")}
               OR ({PinnedKey(p)} = {p("cursorPinned")} AND (c.last_activity_at < {p("cursorAt")} OR (c.last_activity_at = {p("cursorAt")} AND c.id < {p("cursorId")}))))
        ORDER BY {PinnedKey(p)} DESC, c.last_activity_at DESC, c.id DESC
        """;

    private static string PinnedKey(Func<string, string> p) => $"({p("pinnedFirst")} AND p.pinned_at IS NOT NULL)";

    /// <summary>A LIKE pattern (escape character '\') matching lower-cased text that starts with <paramref name="prefix"/>.</summary>
    public static string PrefixPattern(string prefix) =>
        prefix.ToLowerInvariant().Replace("\\", "\\\\", StringComparison.Ordinal).Replace("%", "\\%", StringComparison.Ordinal).Replace("_", "\\_", StringComparison.Ordinal) + "%";
}
