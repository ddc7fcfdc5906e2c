using Parley.Core.Events;
using Parley.Core.Ports;
using Parley.Server.Contracts;

namespace Parley.Server.Conversations;

/// <summary>
/// Runs a membership or conversation change: the store decides and commits (with its domain events), then every node's
/// cached membership is dropped before this returns, then the users concerned are told live. The order matters: by the
/// time the caller gets the answer, no node accepts a removed member's send, and the events describe committed state.
/// </summary>
public sealed class MembershipChanges(IConversationStore store, MembershipCache membership, IRealtimeEvents realtime, TimeProvider time)
{
    public async Task<MembershipChange> ApplyAsync(Guid conversationId, MembershipCommand command, CancellationToken cancellationToken)
    {
        var change = (await store.ChangeMembershipAsync(conversationId, command, time.GetUtcNow(), EventContext.New(command.Actor), cancellationToken)).Require();
        if (!change.AffectedUsers.Any() && !change.ConversationChanged)
        {
            return change;
        }

        // Committed: whatever the caller does now, every node must stop serving the old membership and hear of the change.
        await membership.InvalidateEverywhereAsync(conversationId, CancellationToken.None);
        var members = await membership.MembersAsync(conversationId, CancellationToken.None);
        var by = command.Actor;
        var events = new List<AddressedEvent>();
        if (change.Added.Count > 0)
        {
            var added = change.Added.Select(m => new MemberView(m.UserId, m.Role)).ToList();
            events.Add(new AddressedEvent(new MemberAddedEvent(new MemberAddedView(conversationId, [.. added.Take(MemberAddedView.MaxListed)], added.Count, by)), members));
            events.AddRange(added.Select(m => Membership(conversationId, m.UserId, true, m.Role, "added", by)));
        }

        foreach (var (userId, reason) in change.Removed)
        {
            events.Add(new AddressedEvent(new MemberRemovedEvent(new MemberRemovedView(conversationId, userId, reason, by)), members));
            events.Add(Membership(conversationId, userId, false, null, reason, by));
        }

        foreach (var (userId, role) in change.RoleChanges)
        {
            events.Add(new AddressedEvent(new MemberRoleChangedEvent(new MemberRoleChangedView(conversationId, userId, role, by)), members));
            events.Add(Membership(conversationId, userId, true, role, "roleChanged", by));
        }

        if (change.ConversationChanged)
        {
            events.Add(new AddressedEvent(new ConversationUpdatedEvent(ConversationDetailsView.From(change.Conversation, members.Count)), members));
        }

        // Started together, in order: each is handed to this node's devices as it starts, and the node bus packs
        // concurrent publishes into shared frames, so 1,000 newcomers' membershipChanged cost a few bus messages, not 1,000.
        await Task.WhenAll(events.Select(addressed => realtime.PublishAsync(addressed, CancellationToken.None)).ToList());

        return change;
    }

    private static AddressedEvent Membership(Guid conversationId, Guid userId, bool member, string? role, string reason, Guid by) =>
        new(new MembershipChangedEvent(new MembershipChangedView(conversationId, userId, member, role, reason, by)), [userId]);
}

/// <summary>Starts listening for the other nodes' membership changes as the host starts (after the engines connected).</summary>
public sealed class MembershipListener(MembershipCache membership) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        membership.ListenToOtherNodes();
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
