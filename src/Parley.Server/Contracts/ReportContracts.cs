using System.Text.Json.Serialization;
using Parley.Core.Ports;

namespace Parley.Server.Contracts;

/// <summary>
/// A report (M9). <c>ResolvedBy</c>, <c>ResolvedAt</c> and <c>Action</c> only once it is resolved; <c>Message</c> (in the
/// moderation queue) is the reported message as it is now: a tombstone without content once deleted for everyone.
/// </summary>
public sealed record ReportView(
    Guid Id,
    Guid MessageId,
    Guid ConversationId,
    Guid ReporterId,
    string Reason,
    DateTimeOffset CreatedAt,
    string Status,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] Guid? ResolvedBy,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] DateTimeOffset? ResolvedAt,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Action,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] MessageView? Message)
{
    public static ReportView From(ReportRecord r, StoredMessage? message = null) =>
        new(r.Id, r.MessageId, r.ConversationId, r.ReporterId, r.Reason, r.CreatedAt, r.Status, r.ResolvedBy, r.ResolvedAt, r.Action,
            message is null ? null : MessageView.From(message));
}

public sealed record ReportPageView(IReadOnlyList<ReportView> Items, string? NextCursor);

/// <summary>
/// <c>POST /moderation/reports/{id}/resolve</c>: the report as resolved, how many open reports on its message the
/// resolution closed (this one included), and for <c>delete_message</c> the delete's pending ack (it goes through the log).
/// </summary>
public sealed record ReportResolutionView(
    ReportView Report,
    int Resolved,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] ChangeAck? Change);
