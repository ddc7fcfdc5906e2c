using Parley.Core.Membership;

namespace Parley.Core.Ports;

/// <summary>A new group, channel or broadcast; its creator is the owner.</summary>
public sealed record NewConversation(
    Guid Id,
    string Type,
    Guid Owner,
    IReadOnlyCollection<Guid> Members,
    string? Title,
    string? Description,
    string? AvatarUrl,
    string? Metadata,
    string Visibility)
{
    /// <summary>With a context, one conversation exists per context and initial member set: creating it again returns it.</summary>
    public ConversationContext? Context { get; init; }

    /// <summary>Members' sides (<see cref="MemberSides"/>), for a context conversation.</summary>
    public IReadOnlyDictionary<Guid, string> Sides { get; init; } = new Dictionary<Guid, string>();
}

/// <summary>A field a change may set: <see cref="IsSet"/> false leaves it as it is; true with a null value clears it.</summary>
public readonly record struct FieldChange<T>(bool IsSet, T Value)
{
    public static FieldChange<T> Unchanged => default;

    public static FieldChange<T> To(T value) => new(true, value);

    public T Or(T current) => IsSet ? Value : current;
}

/// <summary>
/// A change to a member's settings; an unset field stays as it is. <see cref="Muted"/> true mutes until
/// <see cref="MutedUntil"/> (indefinitely when null); false unmutes and clears the time. Pinning what is pinned keeps
/// its original pin time.
/// </summary>
public sealed record MemberSettingsChange(FieldChange<bool> Muted, DateTimeOffset? MutedUntil, FieldChange<bool> Pinned, FieldChange<bool> Archived)
{
    public MemberSettings ApplyTo(MemberSettings current, DateTimeOffset now) => new(
        Muted.Or(current.Muted),
        !Muted.IsSet ? current.MutedUntil : Muted.Value ? MutedUntil : null,
        !Pinned.IsSet ? current.PinnedAt : Pinned.Value ? current.PinnedAt ?? now : null,
        Archived.Or(current.Archived));
}

public sealed record ConversationEdit(
    FieldChange<string?> Title,
    FieldChange<string?> Description,
    FieldChange<string?> AvatarUrl,
    FieldChange<string?> Metadata,
    FieldChange<string> Visibility,
    FieldChange<string> Status,
    FieldChange<int?> MessageTtlSeconds = default)
{
    public bool ChangesDetails => Title.IsSet || Description.IsSet || AvatarUrl.IsSet || Metadata.IsSet || Visibility.IsSet;
}

/// <summary>
/// One change to who is in a conversation, or to the conversation itself, asked for by <see cref="Actor"/>. The store
/// loads what <see cref="Involved"/> names under the conversation's lock and lets the membership planner decide.
/// </summary>
public abstract record MembershipCommand(Guid Actor)
{
    /// <summary>The users whose membership rows the planner needs (the actor's always).</summary>
    public virtual IEnumerable<Guid> Involved => [Actor];

    /// <summary>The action the permission table is asked about.</summary>
    public abstract ConversationAction Action { get; }

    /// <summary>The invite the store loads for the planner, if the command is about one.</summary>
    public virtual string? InviteCode => null;
}

/// <summary>Adds users (those already members are left as they are) with <see cref="Role"/>, up to <see cref="MaxMembers"/> in all.</summary>
public sealed record AddMembersCommand(Guid Actor, IReadOnlyList<Guid> Users, string Role, int MaxMembers) : MembershipCommand(Actor)
{
    /// <summary>The newcomers' side, in a context conversation (refused elsewhere).</summary>
    public string? Side { get; init; }

    public override IEnumerable<Guid> Involved => Users.Prepend(Actor);

    public override ConversationAction Action => ConversationAction.AddMembers;
}

/// <summary>The actor joins a public channel by themselves (no permission needed beyond the channel being public).</summary>
public sealed record JoinCommand(Guid Actor, int MaxMembers) : MembershipCommand(Actor)
{
    public override ConversationAction Action => ConversationAction.Read;
}

public sealed record RemoveMemberCommand(Guid Actor, Guid Target) : MembershipCommand(Actor)
{
    /// <summary>
    /// The actor is a server admin (<c>Parley:Admins</c>) resolving a report: no membership or rank of theirs is
    /// needed, and any member but an owner may be removed (see the membership planner).
    /// </summary>
    public bool AsServerAdmin { get; init; }

    public override IEnumerable<Guid> Involved => [Actor, Target];

    public override ConversationAction Action => ConversationAction.RemoveMembers;
}

/// <summary>The actor leaves; the last owner hands ownership on (see the planner).</summary>
public sealed record LeaveCommand(Guid Actor) : MembershipCommand(Actor)
{
    public override ConversationAction Action => ConversationAction.Leave;
}

public sealed record ChangeRoleCommand(Guid Actor, Guid Target, string Role) : MembershipCommand(Actor)
{
    public override IEnumerable<Guid> Involved => [Actor, Target];

    public override ConversationAction Action => ConversationAction.ChangeRoles;
}

public sealed record TransferOwnershipCommand(Guid Actor, Guid Target) : MembershipCommand(Actor)
{
    public override IEnumerable<Guid> Involved => [Actor, Target];

    public override ConversationAction Action => ConversationAction.TransferOwnership;
}

public sealed record EditConversationCommand(Guid Actor, ConversationEdit Edit) : MembershipCommand(Actor)
{
    /// <summary>The action of the edit's main part; the planner asks about the others it also makes (status, message TTL).</summary>
    public override ConversationAction Action =>
        Edit.ChangesDetails ? ConversationAction.EditConversation
        : Edit.MessageTtlSeconds.IsSet && !Edit.Status.IsSet ? ConversationAction.SetMessageTtl
        : ConversationAction.ChangeStatus;
}

/// <summary>Joins the conversation of the invite <see cref="Code"/> names, as a member.</summary>
public sealed record JoinByInviteCommand(Guid Actor, string Code, int MaxMembers) : MembershipCommand(Actor)
{
    public override string? InviteCode => Code;

    public override ConversationAction Action => ConversationAction.Read;
}

/// <summary>A new invite code; <see cref="ExpiresAt"/> and <see cref="MaxUses"/> are optional limits.</summary>
public sealed record CreateInviteCommand(Guid Actor, string Code, DateTimeOffset? ExpiresAt, int? MaxUses) : MembershipCommand(Actor)
{
    public override ConversationAction Action => ConversationAction.CreateInvites;
}

public sealed record RevokeInviteCommand(Guid Actor, string Code) : MembershipCommand(Actor)
{
    public override string? InviteCode => Code;

    public override ConversationAction Action => ConversationAction.CreateInvites;
}

/// <summary>An invite code and how far it has been used. It is usable while not revoked, not expired and not used up.</summary>
public sealed record InviteRecord(
    string Code,
    Guid ConversationId,
    Guid CreatedBy,
    DateTimeOffset CreatedAt,
    DateTimeOffset? ExpiresAt,
    int? MaxUses,
    int Uses,
    DateTimeOffset? RevokedAt)
{
    /// <summary>What the invite is at <paramref name="now"/>; a revocation wins over expiry, expiry over use.</summary>
    public InviteState StateAt(DateTimeOffset now) =>
        RevokedAt is not null ? InviteState.Revoked
        : ExpiresAt <= now ? InviteState.Expired
        : MaxUses <= Uses ? InviteState.UsedUp
        : InviteState.Active;
}

/// <summary>Only an <see cref="Active"/> invite admits anyone.</summary>
public enum InviteState
{
    Active,
    Expired,
    UsedUp,
    Revoked,
}

/// <summary>A membership row as the planner sees it.</summary>
public sealed record MemberRecord(Guid UserId, string Role, DateTimeOffset JoinedAt)
{
    public string? Side { get; init; }
}

/// <summary>What a membership change did, for the caller's answer and the realtime events.</summary>
public sealed record MembershipChange(
    ConversationRecord Conversation,
    IReadOnlyList<MemberRecord> Added,
    IReadOnlyList<(Guid UserId, string Reason)> Removed,
    IReadOnlyList<(Guid UserId, string Role)> RoleChanges,
    bool ConversationChanged)
{
    /// <summary>The invite created or revoked, as it now is.</summary>
    public InviteRecord? Invite { get; init; }

    public const string ReasonRemoved = "removed";
    public const string ReasonLeft = "left";

    /// <summary>Every user whose membership or role this change touched.</summary>
    public IEnumerable<Guid> AffectedUsers => Added.Select(a => a.UserId).Concat(Removed.Select(r => r.UserId)).Concat(RoleChanges.Select(r => r.UserId));
}

/// <summary>A refusal (<see cref="Error"/>) or what changed; a refused change wrote nothing.</summary>
public sealed record MembershipResult(Errors.ParleyError? Error, MembershipChange? Change)
{
    public MembershipChange Require() => Error is not null ? throw Error.ToException() : Change!;
}

/// <summary>A public channel in search results: its member count, not its member list.</summary>
public sealed record ChannelSummary(ConversationRecord Conversation, int MemberCount);

public sealed record ChannelPage(IReadOnlyList<ChannelSummary> Items, ConversationCursor? Next);
