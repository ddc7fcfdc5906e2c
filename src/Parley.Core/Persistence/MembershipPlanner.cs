using System.Text.Json;
using Parley.Core.Errors;
using Parley.Core.Events;
using Parley.Core.Membership;
using Parley.Core.Ports;

namespace Parley.Core.Persistence;

/// <summary>
/// What an engine loads, under the conversation's lock, before planning a membership change.
/// <see cref="Members"/> holds the rows of the command's involved users that exist; <see cref="Successor"/> (loaded
/// for a leave) is the member who would inherit ownership: the longest-standing admin, else moderator, else member.
/// </summary>
public sealed record MembershipState(ConversationRecord Conversation, IReadOnlyDictionary<Guid, MemberRecord> Members, int MemberCount, int OwnerCount, MemberRecord? Successor)
{
    /// <summary>The invite the command names (<see cref="MembershipCommand.InviteCode"/>), if it exists and belongs to this conversation.</summary>
    public InviteRecord? Invite { get; init; }
}

/// <summary>What the engine writes, in the transaction that loaded the state; then it returns <see cref="Change"/>.</summary>
public sealed record MembershipPlan(
    MembershipChange Change,
    IReadOnlyList<MemberRecord> Inserts,
    IReadOnlyList<Guid> Deletes,
    IReadOnlyList<(Guid UserId, string Role)> RoleUpdates,
    ConversationRecord? ConversationUpdate,
    IReadOnlyList<DomainEvent> Events)
{
    /// <summary>A new invite to insert.</summary>
    public InviteRecord? InviteInsert { get; init; }

    /// <summary>An invite whose uses or revocation changed, as it now is.</summary>
    public InviteRecord? InviteUpdate { get; init; }
}

/// <summary>
/// The membership rules (M5), once for every engine: the permission table, rank rules (act only on lower ranks,
/// grant only lower roles), the member limit, and ownership passing on when the last owner leaves — to the
/// longest-standing admin, else moderator, else member; with nobody left the conversation is archived.
/// </summary>
public static class MembershipPlanner
{
    public static (ParleyError? Error, MembershipPlan? Plan) Plan(Guid conversationId, MembershipState? state, MembershipCommand command, DateTimeOffset now, EventContext context)
    {
        now = StoreTime.Truncate(now);
        context = context with { UserId = context.UserId ?? command.Actor };
        if (state is null)
        {
            return (Errors.Errors.ConversationNotFound(conversationId), null);
        }

        var conversation = state.Conversation;
        var actor = state.Members.GetValueOrDefault(command.Actor);
        if (command is JoinCommand join)
        {
            return Join(state, join, now, context);
        }

        if (command is JoinByInviteCommand byInvite)
        {
            return JoinByInvite(state, byInvite, now, context);
        }

        if (command is RemoveMemberCommand { AsServerAdmin: true } moderation)
        {
            return RemoveAsServerAdmin(state, moderation, now, context);
        }

        if (actor is null)
        {
            return (Errors.Errors.NotMember(conversationId), null);
        }

        if (Refuse(conversation, actor.Role, command.Action) is { } refused)
        {
            return (refused, null);
        }

        var plan = new Builder(conversation, now, context);
        switch (command)
        {
            case AddMembersCommand add:
                if (!string.Equals(add.Role, ParticipantRoles.Member, StringComparison.Ordinal) && !ConversationPermissions.CanGrant(actor.Role, add.Role))
                {
                    return (Forbidden(conversation, $"add members as {add.Role}", actor.Role), null);
                }

                if (add.Side is not null && conversation.Context is null)
                {
                    return (Errors.Errors.InvalidValue("side", "only members of a context conversation have a side"), null);
                }

                var newcomers = add.Users.Distinct().Where(u => !state.Members.ContainsKey(u)).ToList();
                if (state.MemberCount + newcomers.Count > add.MaxMembers)
                {
                    return (Errors.Errors.MemberLimitReached(conversation.Id, add.MaxMembers), null);
                }

                plan.Add(newcomers.Select(u => new MemberRecord(u, add.Role, now) { Side = add.Side }).ToList());
                break;

            case RemoveMemberCommand remove:
                if (!state.Members.TryGetValue(remove.Target, out var removed))
                {
                    return (Errors.Errors.MemberNotFound(conversation.Id, remove.Target), null);
                }

                if (remove.Target == actor.UserId || !ConversationPermissions.Outranks(actor.Role, removed.Role))
                {
                    return (Forbidden(conversation, $"remove a {removed.Role}", actor.Role), null);
                }

                plan.Remove(removed.UserId, MembershipChange.ReasonRemoved);
                break;

            case LeaveCommand:
                plan.Remove(actor.UserId, MembershipChange.ReasonLeft);
                if (string.Equals(actor.Role, ParticipantRoles.Owner, StringComparison.Ordinal) && state.OwnerCount <= 1)
                {
                    if (state.Successor is { } heir && heir.UserId != actor.UserId)
                    {
                        plan.Role(heir.UserId, ParticipantRoles.Owner, heir.Role);
                    }
                    else
                    {
                        plan.Update(conversation with { Status = ConversationStatuses.Archived });
                    }
                }
                else if (state.MemberCount <= 1)
                {
                    plan.Update(conversation with { Status = ConversationStatuses.Archived });
                }

                break;

            case ChangeRoleCommand change:
                if (!state.Members.TryGetValue(change.Target, out var target))
                {
                    return (Errors.Errors.MemberNotFound(conversation.Id, change.Target), null);
                }

                if (!ConversationPermissions.Outranks(actor.Role, target.Role) || !ConversationPermissions.CanGrant(actor.Role, change.Role))
                {
                    return (Forbidden(conversation, $"make a {target.Role} {change.Role}", actor.Role), null);
                }

                if (!string.Equals(target.Role, change.Role, StringComparison.Ordinal))
                {
                    plan.Role(target.UserId, change.Role, target.Role);
                }

                break;

            case TransferOwnershipCommand transfer:
                if (!state.Members.TryGetValue(transfer.Target, out var heirApparent))
                {
                    return (Errors.Errors.MemberNotFound(conversation.Id, transfer.Target), null);
                }

                if (heirApparent.UserId != actor.UserId)
                {
                    plan.Role(heirApparent.UserId, ParticipantRoles.Owner, heirApparent.Role);
                    plan.Role(actor.UserId, ParticipantRoles.Admin, actor.Role);
                }

                break;

            case EditConversationCommand edit:
                var e = edit.Edit;
                if (e.ChangesDetails && e.Status.IsSet && Refuse(conversation, actor.Role, ConversationAction.ChangeStatus) is { } noStatus)
                {
                    return (noStatus, null);
                }

                if (e.MessageTtlSeconds.IsSet && edit.Action != ConversationAction.SetMessageTtl
                    && Refuse(conversation, actor.Role, ConversationAction.SetMessageTtl) is { } noTtl)
                {
                    return (noTtl, null);
                }

                var visibility = e.Visibility.Or(conversation.Visibility);
                if (string.Equals(visibility, ConversationVisibility.Public, StringComparison.Ordinal)
                    && !string.Equals(conversation.Type, ConversationTypes.Channel, StringComparison.Ordinal))
                {
                    return (Errors.Errors.InvalidValue("visibility", "only a channel can be public"), null);
                }

                var updated = conversation with
                {
                    Title = e.Title.Or(conversation.Title),
                    Description = e.Description.Or(conversation.Description),
                    AvatarUrl = e.AvatarUrl.Or(conversation.AvatarUrl),
                    Metadata = e.Metadata.Or(conversation.Metadata),
                    Visibility = visibility,
                    Status = e.Status.Or(conversation.Status),
                    MessageTtlSeconds = e.MessageTtlSeconds.Or(conversation.MessageTtlSeconds),
                };
                if (updated != conversation)
                {
                    plan.Update(updated);
                }

                break;

            case CreateInviteCommand create:
                plan.CreateInvite(new InviteRecord(create.Code, conversation.Id, actor.UserId, now, create.ExpiresAt is { } at ? StoreTime.Truncate(at) : null, create.MaxUses, 0, null));
                break;

            case RevokeInviteCommand revoke:
                if (state.Invite is not { } invite)
                {
                    return (Errors.Errors.InviteNotFound(), null);
                }

                if (invite.RevokedAt is null)
                {
                    plan.UpdateInvite(invite with { RevokedAt = now }, revoked: true);
                }

                break;

            default:
                throw new ArgumentOutOfRangeException(nameof(command), command.GetType().Name, "No rule for this membership command");
        }

        return (null, plan.Build());
    }

    private static (ParleyError?, MembershipPlan?) Join(MembershipState state, JoinCommand join, DateTimeOffset now, EventContext context)
    {
        var conversation = state.Conversation;
        var open = string.Equals(conversation.Type, ConversationTypes.Channel, StringComparison.Ordinal)
            && string.Equals(conversation.Visibility, ConversationVisibility.Public, StringComparison.Ordinal);
        return SelfJoin(state, join.Actor, join.MaxMembers,
            open ? null : Errors.Errors.Forbidden("Only a public channel can be joined without an invite").With("conversationId", conversation.Id), null, now, context);
    }

    /// <summary>
    /// Joining by invite: the invite must be usable now, and its use is counted in the same transaction (under the
    /// conversation's lock, so concurrent joins never pass <see cref="InviteRecord.MaxUses"/>).
    /// </summary>
    private static (ParleyError?, MembershipPlan?) JoinByInvite(MembershipState state, JoinByInviteCommand join, DateTimeOffset now, EventContext context)
    {
        if (state.Invite is not { } invite)
        {
            return (Errors.Errors.InviteNotFound(), null);
        }

        var invalid = invite.StateAt(now) switch
        {
            InviteState.Active => null,
            InviteState.Revoked => "revoked",
            InviteState.Expired => "expired",
            _ => "used up",
        };
        return SelfJoin(state, join.Actor, join.MaxMembers, invalid is null ? null : Errors.Errors.InviteExpired(invalid), invite, now, context);
    }

    /// <summary>
    /// Someone joining by themselves, openly or with an invite: a member already in is a no-op whatever else holds;
    /// otherwise the way in must be open (<paramref name="shut"/> null), the conversation active and not full. A used
    /// <paramref name="invite"/> counts one use more.
    /// </summary>
    private static (ParleyError?, MembershipPlan?) SelfJoin(MembershipState state, Guid actor, int maxMembers, ParleyError? shut, InviteRecord? invite, DateTimeOffset now, EventContext context)
    {
        var conversation = state.Conversation;
        if (state.Members.ContainsKey(actor))
        {
            return (null, new Builder(conversation, now, context).Build());
        }

        if (shut is not null)
        {
            return (shut, null);
        }

        if (!string.Equals(conversation.Status, ConversationStatuses.Active, StringComparison.Ordinal))
        {
            return (Errors.Errors.ConversationInactive(conversation.Id, conversation.Status), null);
        }

        if (state.MemberCount + 1 > maxMembers)
        {
            return (Errors.Errors.MemberLimitReached(conversation.Id, maxMembers), null);
        }

        var plan = new Builder(conversation, now, context);
        plan.Add([new MemberRecord(actor, ParticipantRoles.Member, now)]);
        if (invite is not null)
        {
            plan.UpdateInvite(invite with { Uses = invite.Uses + 1 }, revoked: false);
        }

        return (null, plan.Build());
    }

    /// <summary>
    /// A server admin resolving a report (M9) need not be a member and outranks every role but the owner's: an owner
    /// leaves by their own choice (ownership then passes on), and a direct conversation is its pair's, so neither is
    /// taken from them.
    /// </summary>
    private static (ParleyError? Error, MembershipPlan? Plan) RemoveAsServerAdmin(MembershipState state, RemoveMemberCommand remove, DateTimeOffset now, EventContext context)
    {
        var conversation = state.Conversation;
        if (!state.Members.TryGetValue(remove.Target, out var removed))
        {
            return (Errors.Errors.MemberNotFound(conversation.Id, remove.Target), null);
        }

        if (string.Equals(conversation.Type, ConversationTypes.Direct, StringComparison.Ordinal))
        {
            return (Forbidden(conversation, "remove a member of a direct conversation", "server admin"), null);
        }

        if (string.Equals(removed.Role, ParticipantRoles.Owner, StringComparison.Ordinal))
        {
            return (Forbidden(conversation, "remove an owner", "server admin"), null);
        }

        var plan = new Builder(conversation, now, context);
        plan.Remove(removed.UserId, MembershipChange.ReasonRemoved);
        return (null, plan.Build());
    }

    /// <summary>The 403 for a member whose role (or the conversation's kind) does not allow <paramref name="action"/>; null when it does.</summary>
    public static ParleyError? Refuse(ConversationRecord conversation, string role, ConversationAction action) =>
        ConversationPermissions.Can(conversation.Type, role, action)
            ? null
            : Errors.Errors.ForbiddenRole(conversation.Id, ActionName(action), role, ConversationPermissions.MinimumRole(conversation.Type, action));

    public static string ActionName(ConversationAction action) => JsonNamingPolicy.CamelCase.ConvertName(action.ToString());

    private static ParleyError Forbidden(ConversationRecord conversation, string what, string role) =>
        Errors.Errors.ForbiddenRole(conversation.Id, what, role, null) with { Message = $"A {role} may not {what}" };

    private sealed class Builder(ConversationRecord conversation, DateTimeOffset now, EventContext context)
    {
        private readonly List<MemberRecord> _inserts = [];
        private readonly List<(Guid, string)> _removed = [];
        private readonly List<(Guid, string)> _roles = [];
        private readonly List<DomainEvent> _events = [];
        private ConversationRecord? _update;
        private InviteRecord? _inviteInsert;
        private InviteRecord? _inviteUpdate;

        public void Add(IReadOnlyList<MemberRecord> members)
        {
            if (members.Count > 0)
            {
                _inserts.AddRange(members);
                _events.Add(ChangeEvents.MembersAdded(conversation.Id, members, conversation.LastSequence, now, context));
            }
        }

        public void Remove(Guid userId, string reason)
        {
            _removed.Add((userId, reason));
            _events.Add(ChangeEvents.MemberRemoved(conversation.Id, userId, reason, now, context));
        }

        public void Role(Guid userId, string role, string previous)
        {
            _roles.Add((userId, role));
            _events.Add(ChangeEvents.MemberRoleChanged(conversation.Id, userId, role, previous, now, context));
        }

        public void Update(ConversationRecord updated)
        {
            _update = updated;
            _events.Add(ChangeEvents.ConversationUpdated(updated, now, context));
        }

        public void CreateInvite(InviteRecord invite)
        {
            _inviteInsert = invite;
            _events.Add(ChangeEvents.InviteCreated(invite, context));
        }

        public void UpdateInvite(InviteRecord invite, bool revoked)
        {
            _inviteUpdate = invite;
            if (revoked)
            {
                _events.Add(ChangeEvents.InviteRevoked(invite, now, context));
            }
        }

        public MembershipPlan Build() => new(
            new MembershipChange(_update ?? conversation, _inserts, _removed, _roles, _update is not null) { Invite = _inviteInsert ?? _inviteUpdate },
            _inserts, [.. _removed.Select(r => r.Item1)], _roles, _update, _events)
        {
            InviteInsert = _inviteInsert,
            InviteUpdate = _inviteUpdate,
        };
    }
}
