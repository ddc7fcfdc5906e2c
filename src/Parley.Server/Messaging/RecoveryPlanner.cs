using Parley.Core.Errors;
using Parley.Core.Ports;
using Parley.Server.Contracts;
using Parley.Server.Conversations;

namespace Parley.Server.Messaging;

/// <summary>
/// Turns what a reconnecting client says it has into per-conversation start points, for Resume on the hub and for
/// POST /api/v1/sync: either the last sequence it holds per conversation (exact), or one time, <c>since</c>,
/// meaning "everything sent at or after this" across all its conversations.
/// </summary>
public sealed class RecoveryPlanner(IConversationStore conversations, IMessageStore messages, MembershipCache membership)
{
    /// <summary>Most conversations one recovery may cover, named or found by <c>since</c>.</summary>
    public const int MaxConversations = 1000;

    private const int WalkPage = 200;

    /// <summary>One conversation to recover: what the client has (<c>LastSequence</c>) and what the store has (<c>Latest</c>).</summary>
    public sealed record Start(Guid ConversationId, long LastSequence, long Latest)
    {
        /// <summary>The last change position the client has, when it gave one; then the changes after it are recovered too, up to <see cref="ChangeLatest"/>.</summary>
        public long? ChangeFrom { get; init; }

        public long ChangeLatest { get; init; }
    }

    /// <summary>Each named conversation, checked for membership (404/403 as for history), with its latest sequence.</summary>
    public async Task<IReadOnlyList<Start>> FromPositionsAsync(Guid user, IReadOnlyList<ResumePosition> positions, CancellationToken cancellationToken)
    {
        if (positions.Count == 0)
        {
            throw Errors.MissingField("positions").ToException();
        }

        if (positions.Count > MaxConversations)
        {
            throw Errors.InvalidValue("positions", $"at most {MaxConversations} conversations per call").ToException();
        }

        var starts = new List<Start>(positions.Count);
        // Shape first, for every position, so Resume and REST sync answer the same bad list with the same code
        // whichever conversation comes first.
        foreach (var position in positions)
        {
            if (position is null)
            {
                throw Errors.WrongType("positions", "an array of objects").ToException();
            }

            if (position.ConversationId == Guid.Empty)
            {
                throw Errors.MissingField("conversationId").ToException();
            }

            if (position.LastSequence < 0)
            {
                throw Errors.InvalidValue("lastSequence", "must not be negative").ToException();
            }

            if (position.LastChangeSequence < 0)
            {
                throw Errors.InvalidValue("lastChangeSequence", "must not be negative").ToException();
            }
        }

        foreach (var position in positions.DistinctBy(p => p.ConversationId))
        {

            await membership.RequireMemberAsync(position.ConversationId, user, cancellationToken);
            // Read again: the membership cache's copy of the conversation has a stale last sequence.
            var conversation = await conversations.GetConversationAsync(position.ConversationId, cancellationToken)
                ?? throw Errors.ConversationNotFound(position.ConversationId).ToException();
            starts.Add(new Start(position.ConversationId, Math.Min(position.LastSequence, conversation.LastSequence), conversation.LastSequence)
            {
                ChangeFrom = position.LastChangeSequence is { } changes ? Math.Min(changes, conversation.LastChangeSequence) : null,
                ChangeLatest = conversation.LastChangeSequence,
            });
        }

        return starts;
    }

    /// <summary>
    /// Every conversation of the user's with a message sent (accepted) at or after <paramref name="since"/>, most
    /// recent activity first, starting just before the first such message. Conversations are found from their last
    /// activity (the newest accept time, so none is missed); the start is found by walking history back from the
    /// newest message to the first one sent before <paramref name="since"/>.
    /// </summary>
    public async Task<IReadOnlyList<Start>> FromSinceAsync(Guid user, DateTimeOffset since, CancellationToken cancellationToken)
    {
        var starts = new List<Start>();
        ConversationCursor? cursor = null;
        do
        {
            var page = await conversations.ListConversationsAsync(user, ConversationListFilter.All, cursor, 100, cancellationToken);
            foreach (var item in page.Items)
            {
                var conversation = item.Conversation;
                if (conversation.LastActivityAt < since)
                {
                    return starts;
                }

                if (starts.Count == MaxConversations)
                {
                    throw Errors.InvalidValue("since", $"more than {MaxConversations} conversations have messages since then; recover with positions or read history").ToException();
                }

                var first = await FirstSentSinceAsync(conversation.Id, conversation.LastSequence, since, cancellationToken);
                starts.Add(new Start(conversation.Id, first - 1, conversation.LastSequence));
            }

            cursor = page.Next;
        }
        while (cursor is not null);

        return starts;
    }

    private async Task<long> FirstSentSinceAsync(Guid conversationId, long latest, DateTimeOffset since, CancellationToken cancellationToken)
    {
        var first = latest + 1;
        while (first > 1)
        {
            var page = await messages.GetMessagesAsync(conversationId, new HistoryQuery(first, null, WalkPage), cancellationToken);
            for (var i = page.Items.Count - 1; i >= 0; i--)
            {
                if (page.Items[i].AcceptedAt < since)
                {
                    return first;
                }

                first = page.Items[i].Sequence;
            }

            if (!page.HasMore || page.Items.Count == 0)
            {
                break;
            }
        }

        return first;
    }
}
