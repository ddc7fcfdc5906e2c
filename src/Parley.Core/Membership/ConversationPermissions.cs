namespace Parley.Core.Membership;

/// <summary>
/// What a member may do in a conversation. Every endpoint and hub method that acts on a conversation names one of
/// these; a new one needs a row in <see cref="ConversationPermissions"/>, in docs/permissions.md and in the
/// authorization matrix test (which fails for an action it has no call for).
/// </summary>
public enum ConversationAction
{
    /// <summary>See the conversation, its members, history, presence; resume and mark read.</summary>
    Read,

    /// <summary>Send a message (and typing).</summary>
    Send,

    AddMembers,

    /// <summary>Remove another member, who must rank below the actor.</summary>
    RemoveMembers,

    /// <summary>Give another member (ranked below the actor) a role below the actor's own.</summary>
    ChangeRoles,

    TransferOwnership,

    /// <summary>Title, description, avatar, metadata, visibility.</summary>
    EditConversation,

    /// <summary>Set the status: active, archived or blocked.</summary>
    ChangeStatus,

    Leave,

    /// <summary>Create, list and revoke invite codes.</summary>
    CreateInvites,

    /// <summary>Delete another member's message for everyone (a sender may always delete their own).</summary>
    DeleteOthersMessages,

    /// <summary>Pin and unpin messages (everyone who reads the conversation sees its pins).</summary>
    Pin,

    /// <summary>Turn disappearing messages on or off (the conversation's message TTL, M8).</summary>
    SetMessageTtl,
    /// <summary>See the conversation's reported messages in the moderation queue and resolve them (M9).</summary>
    ModerateReports,
}

/// <summary>
/// The one permission table (M5): for each kind of conversation and action, the lowest role that may do it, or none.
/// Pure rules, no I/O: the ingress asks it from the cached role, the membership planner inside the store transaction.
/// </summary>
public static class ConversationPermissions
{
    private static readonly Dictionary<ConversationAction, string?> Managed = new()
    {
        [ConversationAction.Read] = ParticipantRoles.Member,
        [ConversationAction.Send] = ParticipantRoles.Member,
        [ConversationAction.AddMembers] = ParticipantRoles.Admin,
        [ConversationAction.RemoveMembers] = ParticipantRoles.Moderator,
        [ConversationAction.ChangeRoles] = ParticipantRoles.Admin,
        [ConversationAction.TransferOwnership] = ParticipantRoles.Owner,
        [ConversationAction.EditConversation] = ParticipantRoles.Admin,
        [ConversationAction.ChangeStatus] = ParticipantRoles.Admin,
        [ConversationAction.Leave] = ParticipantRoles.Member,
        [ConversationAction.CreateInvites] = ParticipantRoles.Admin,
        [ConversationAction.DeleteOthersMessages] = ParticipantRoles.Moderator,
        [ConversationAction.Pin] = ParticipantRoles.Moderator,
        [ConversationAction.SetMessageTtl] = ParticipantRoles.Admin,
        [ConversationAction.ModerateReports] = ParticipantRoles.Moderator,
    };

    private static readonly Dictionary<string, Dictionary<ConversationAction, string?>> Table = new(StringComparer.Ordinal)
    {
        // A direct conversation is the pair's: both read and send, nobody manages it.
        [ConversationTypes.Direct] = Enum.GetValues<ConversationAction>().ToDictionary(a => a, a =>
            a is ConversationAction.Read or ConversationAction.Send or ConversationAction.Pin or ConversationAction.SetMessageTtl ? ParticipantRoles.Member : (string?)null),
        // In a group every member may pin, as in a direct conversation; channels and broadcasts leave it to moderators.
        [ConversationTypes.Group] = new(Managed) { [ConversationAction.Pin] = ParticipantRoles.Member },
        [ConversationTypes.Channel] = Managed,
        [ConversationTypes.Broadcast] = new(Managed) { [ConversationAction.Send] = ParticipantRoles.Admin },
    };

    /// <summary>The lowest role that may do <paramref name="action"/> in a conversation of <paramref name="kind"/>; null when no role may.</summary>
    public static string? MinimumRole(string kind, ConversationAction action) =>
        Table.TryGetValue(kind, out var row) ? row.GetValueOrDefault(action) : null;

    /// <summary>Every (kind, role) pair that may do <paramref name="action"/>: for a store query that filters by the table.</summary>
    public static IReadOnlyList<(string Kind, string Role)> Grants(ConversationAction action) =>
        [.. ConversationTypes.All.SelectMany(kind => ParticipantRoles.All.Where(role => Can(kind, role, action)).Select(role => (kind, role)))];

    public static bool Can(string kind, string role, ConversationAction action) =>
        MinimumRole(kind, action) is { } minimum && ParticipantRoles.Rank(role) >= ParticipantRoles.Rank(minimum);

    /// <summary>Removing or re-roling someone needs a strictly higher role than theirs.</summary>
    public static bool Outranks(string actorRole, string targetRole) => ParticipantRoles.Rank(actorRole) > ParticipantRoles.Rank(targetRole);

    /// <summary>A role can be given only below the giver's own, and ownership only by a transfer.</summary>
    public static bool CanGrant(string actorRole, string role) =>
        !string.Equals(role, ParticipantRoles.Owner, StringComparison.Ordinal) && Outranks(actorRole, role);
}
