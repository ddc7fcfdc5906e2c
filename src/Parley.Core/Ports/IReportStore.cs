using Parley.Core.Events;
using Parley.Core.Membership;

namespace Parley.Core.Ports;

/// <summary>
/// Reported messages and their moderation (M9). A report is the reporter's word about a message, seen only by the
/// conversation's moderators and the server admins, so it is written directly, not through the message log; what a
/// resolution does to the message or its sender goes through the usual paths (the log, the membership change).
/// Every change records its domain event in the same transaction.
/// </summary>
public interface IReportStore
{
    /// <summary>
    /// Records an open report. A reporter has at most one open report per message: when they already have one, that
    /// one is returned (Created false, nothing written, no event). Once it is resolved they may report again.
    /// </summary>
    Task<(ReportRecord Report, bool Created)> CreateAsync(ReportRecord report, EventContext context, CancellationToken cancellationToken);

    Task<ReportRecord?> GetAsync(Guid reportId, CancellationToken cancellationToken);

    /// <summary>The queue: reports with the query's status, newest first, each with its message as it is now.</summary>
    Task<ReportPage> ListAsync(ReportQuery query, CancellationToken cancellationToken);

    /// <summary>
    /// Resolves the report and every other open report on the same message with <paramref name="action"/>, one
    /// report.resolved event each. Unknown: <see cref="ReportResolution.NotFound"/>; no longer open (a concurrent
    /// resolve got there first): <see cref="ReportResolution.AlreadyResolved"/> with the report as it is.
    /// </summary>
    Task<ResolveReportResult> ResolveAsync(Guid reportId, Guid resolverId, string action, DateTimeOffset now, EventContext context, CancellationToken cancellationToken);
}

public static class ReportStatuses
{
    public const string Open = "open";
    public const string Resolved = "resolved";

    public static readonly IReadOnlyList<string> All = [Open, Resolved];
}

/// <summary>What a moderator does with a report.</summary>
public static class ReportActions
{
    /// <summary>Nothing is wrong: the report is closed and the message stays.</summary>
    public const string Dismiss = "dismiss";

    /// <summary>The message is deleted for everyone (through the log, like every such delete).</summary>
    public const string DeleteMessage = "delete_message";

    /// <summary>The message's sender is removed from the conversation (the message stays).</summary>
    public const string RemoveMember = "remove_member";

    public static readonly IReadOnlyList<string> All = [Dismiss, DeleteMessage, RemoveMember];
}

/// <param name="Reason">Trimmed, at most <see cref="Messaging.MessageChangeRequest.MaxReasonLength"/> characters.</param>
public sealed record ReportRecord(Guid Id, Guid MessageId, Guid ConversationId, Guid ReporterId, string Reason, DateTimeOffset CreatedAt)
{
    public string Status { get; init; } = ReportStatuses.Open;

    public Guid? ResolvedBy { get; init; }

    public DateTimeOffset? ResolvedAt { get; init; }

    /// <summary>One of <see cref="ReportActions"/> once resolved.</summary>
    public string? Action { get; init; }
}

public sealed record ReportSummary(ReportRecord Report, StoredMessage Message);

/// <summary>Keyset over (reported at, report id) descending, carried in a <see cref="ConversationCursor"/>'s (time, id).</summary>
public sealed record ReportPage(IReadOnlyList<ReportSummary> Items, ConversationCursor? Next);

/// <param name="Status">One of <see cref="ReportStatuses"/>.</param>
public sealed record ReportQuery(string Status, int Limit)
{
    /// <summary>Only this conversation's reports.</summary>
    public Guid? ConversationId { get; init; }

    /// <summary>
    /// Only reports in conversations where this user holds a role that may moderate them
    /// (<see cref="ConversationAction.ModerateReports"/>); null for every conversation (a server admin).
    /// </summary>
    public Guid? ModeratorId { get; init; }

    public ConversationCursor? After { get; init; }

    /// <summary>
    /// The permission table's answer for <see cref="ConversationAction.ModerateReports"/> as <c>kind:role</c> strings, which
    /// the engines match against <c>conversation type || ':' || participant role</c>: the table stays the one rule.
    /// </summary>
    public static IReadOnlyList<string> ModeratorGrants { get; } =
        [.. ConversationPermissions.Grants(ConversationAction.ModerateReports).Select(g => $"{g.Kind}:{g.Role}")];
}

public enum ReportResolution
{
    Resolved,
    NotFound,
    AlreadyResolved,
}

/// <param name="Report">The named report as it now is (null when not found).</param>
/// <param name="ResolvedCount">Reports this call resolved: the named one and every other open report on its message.</param>
public sealed record ResolveReportResult(ReportResolution Outcome, ReportRecord? Report, int ResolvedCount);
