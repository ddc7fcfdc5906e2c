using Microsoft.Data.Sqlite;
using Parley.Core.Messaging;
using Parley.Core.Persistence;
using Parley.Core.Ports;

namespace Parley.Sqlite.Internal;

/// <summary>
/// The engine half of a persist batch: load the state <see cref="PersistPlanner"/> needs, and write its plan. Both run in
/// the caller's write transaction. Writes use prepared statements re-executed per row, SQLite's bulk path.
/// </summary>
internal static class SqlitePersistBatch
{
    /// <summary>The batch's conversations (last sequence, members in join order) and the full rows of stored messages matching any id or key of the batch.</summary>
    public static async Task<PersistState> LoadStateAsync(SqliteConnection connection, SqliteTransaction transaction, IReadOnlyList<MessageEnvelope> batch, CancellationToken cancellationToken)
    {
        var lastSequences = new Dictionary<Guid, (long Messages, long Changes, int? Ttl)>();
        await using (var command = SqliteDatabase.Command(connection,
            "SELECT id, last_sequence, last_change_seq, message_ttl_seconds FROM conversations WHERE id IN (SELECT value FROM json_each($ids))", transaction))
        {
            command.Parameters.AddWithValue("$ids", SqliteRows.GuidsJson(batch.Select(e => e.ConversationId).Distinct()));
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                lastSequences[Guid.Parse(reader.GetString(0))] = (reader.GetInt64(1), reader.GetInt64(2), reader.IsDBNull(3) ? null : reader.GetInt32(3));
            }
        }

        var sides = new Dictionary<Guid, Dictionary<Guid, string>>();
        var members = lastSequences.Count == 0 ? [] : await SqliteMembers.LoadAsync(connection, transaction, lastSequences.Keys, cancellationToken, sides);
        var conversations = lastSequences.ToDictionary(c => c.Key, c => new ConversationSnapshot(c.Value.Messages, members.GetValueOrDefault(c.Key) ?? [])
        {
            Sides = sides.GetValueOrDefault(c.Key) ?? ConversationSnapshot.NoSides,
            LastChangeSequence = c.Value.Changes,
            MessageTtlSeconds = c.Value.Ttl,
        });

        var existing = new List<(StoredMessage, string)>();
        await using (var command = SqliteDatabase.Command(connection, $"""
            SELECT {SqliteRows.MessageColumns}, m.idempotency_key FROM messages m WHERE m.id IN (SELECT value FROM json_each($ids))
            UNION ALL
            SELECT {SqliteRows.MessageColumns}, m.idempotency_key FROM messages m WHERE m.idempotency_key IN (SELECT value FROM json_each($keys))
            """, transaction))
        {
            command.Parameters.AddWithValue("$ids", SqliteRows.GuidsJson(batch.Select(e => e.MessageId)));
            command.Parameters.AddWithValue("$keys", SqliteRows.StringsJson(batch.Select(e => e.IdempotencyKey)));
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                existing.Add((SqliteRows.ReadMessage(reader, 0), reader.GetString(SqliteRows.MessageColumnCount)));
            }
        }

        return batch.Any(e => e.IsChange || e.ReplyTo is not null)
            ? new PersistState(conversations, existing)
            {
                Targets = await LoadTargetsAsync(connection, transaction, PersistPlanner.Referenced(batch), cancellationToken),
                Reacted = await LoadReactedAsync(connection, transaction, PersistPlanner.ReactionsOf(batch), cancellationToken),
                Votes = await LoadVotesAsync(connection, transaction, PersistPlanner.VotersOf(batch), cancellationToken),
                ExistingChanges = await LoadChangesAsync(connection, transaction, [.. batch.Where(e => e.IsChange).Select(e => e.IdempotencyKey)], cancellationToken),
            }
            : new PersistState(conversations, existing);
    }

    private static async Task<IReadOnlyDictionary<Guid, StoredMessage>> LoadTargetsAsync(SqliteConnection connection, SqliteTransaction transaction, IReadOnlyList<Guid> ids, CancellationToken cancellationToken)
    {
        var targets = new Dictionary<Guid, StoredMessage>();
        await using var command = SqliteDatabase.Command(connection,
            $"SELECT {SqliteRows.MessageColumns} FROM messages m WHERE m.id IN (SELECT value FROM json_each($ids))", transaction);
        command.Parameters.AddWithValue("$ids", SqliteRows.GuidsJson(ids));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            var message = SqliteRows.ReadMessage(reader, 0);
            targets[message.Id] = message;
        }

        return targets;
    }

    private static async Task<IReadOnlySet<(Guid, Guid, string)>> LoadReactedAsync(SqliteConnection connection, SqliteTransaction transaction, IReadOnlyList<(Guid MessageId, Guid UserId, string Key)> reactions, CancellationToken cancellationToken)
    {
        var reacted = new HashSet<(Guid, Guid, string)>();
        if (reactions.Count == 0)
        {
            return reacted;
        }

        // Each reaction as [message, user, key], probing the primary key (message, key, user).
        await using var command = SqliteDatabase.Command(connection, """
            SELECT r.message_id, r.user_id, r.key FROM json_each($reactions) t
            JOIN reactions r ON r.message_id = json_extract(t.value, '$[0]') AND r.key = json_extract(t.value, '$[2]') AND r.user_id = json_extract(t.value, '$[1]')
            """, transaction);
        command.Parameters.AddWithValue("$reactions", SqliteRows.StringArraysJson(reactions.Select(r => new[] { r.MessageId.ToString(), r.UserId.ToString(), r.Key })));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            reacted.Add((Guid.Parse(reader.GetString(0)), Guid.Parse(reader.GetString(1)), reader.GetString(2)));
        }

        return reacted;
    }

    private static async Task<IReadOnlyDictionary<(Guid, Guid), IReadOnlyList<int>>> LoadVotesAsync(SqliteConnection connection, SqliteTransaction transaction, IReadOnlyList<(Guid MessageId, Guid UserId)> voters, CancellationToken cancellationToken)
    {
        var votes = new Dictionary<(Guid, Guid), IReadOnlyList<int>>();
        if (voters.Count == 0)
        {
            return votes;
        }

        await using var command = SqliteDatabase.Command(connection, """
            SELECT v.message_id, v.user_id, v.option_id FROM json_each($voters) t
            JOIN poll_votes v ON v.message_id = json_extract(t.value, '$[0]') AND v.user_id = json_extract(t.value, '$[1]')
            ORDER BY v.option_id
            """, transaction);
        command.Parameters.AddWithValue("$voters", SqliteRows.StringArraysJson(voters.Select(v => new[] { v.MessageId.ToString(), v.UserId.ToString() })));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            var voter = (Guid.Parse(reader.GetString(0)), Guid.Parse(reader.GetString(1)));
            votes[voter] = [.. votes.GetValueOrDefault(voter) ?? [], reader.GetInt32(2)];
        }

        return votes;
    }

    private static async Task<IReadOnlyDictionary<string, StoredChange>> LoadChangesAsync(SqliteConnection connection, SqliteTransaction transaction, IReadOnlyList<string> keys, CancellationToken cancellationToken)
    {
        var changes = new Dictionary<string, StoredChange>(StringComparer.Ordinal);
        if (keys.Count == 0)
        {
            return changes;
        }

        await using var command = SqliteDatabase.Command(connection, $"""
            SELECT {SqliteRows.ChangeColumns}, {SqliteRows.MessageColumns}, c.idempotency_key FROM message_changes c JOIN messages m ON m.id = c.message_id
            WHERE c.idempotency_key IN (SELECT value FROM json_each($keys))
            """, transaction);
        command.Parameters.AddWithValue("$keys", SqliteRows.StringsJson(keys));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            changes[reader.GetString(SqliteRows.ChangeColumnCount + SqliteRows.MessageColumnCount)] = SqliteRows.ReadChange(reader);
        }

        return changes;
    }

    public static async Task WriteAsync(SqliteConnection connection, SqliteTransaction transaction, PersistPlan plan, CancellationToken cancellationToken)
    {
        if (!plan.HasWrites)
        {
            return;
        }

        await InsertMessagesAsync(connection, transaction, plan.Inserts, cancellationToken);
        await AdvanceConversationsAsync(connection, transaction, plan.Conversations, cancellationToken);
        await ApplyParticipantEffectsAsync(connection, transaction, plan.Participants, cancellationToken);
        if (plan.Changes.Count > 0 || plan.ReplyCounts.Count > 0)
        {
            await SqliteMessageChanges.WriteAsync(connection, transaction, plan, cancellationToken);
        }

        await using var outbox = new SqliteOutbox(connection, transaction);
        await outbox.AppendAsync(plan.Events, cancellationToken);
    }

    private static async Task InsertMessagesAsync(SqliteConnection connection, SqliteTransaction transaction, IReadOnlyList<PlannedMessage> inserts, CancellationToken cancellationToken)
    {
        // No ON CONFLICT: the plan deduplicated under the write gate, so a conflict here is a bug and must fail the batch.
        await using var insert = SqliteDatabase.Command(connection, """
            INSERT INTO messages (id, conversation_id, sequence, sender_id, type, content, metadata, client_message_id,
                                  idempotency_key, content_hash, size, correlation_id, accepted_at, stored_at, sender_side,
                                  reply_to, reply_sender_id, reply_preview, thread_root_id, edit_count, edited_at, deleted_at, deleted_by, reactions, pinned_at, pinned_by,
                                  forwarded_from_id, forwarded_from_conversation_id, forwarded_from_sender_id, mentions, expires_at, poll)
            VALUES ($id, $c, $seq, $s, $type, $content, $meta, $cmid, $key, $hash, $size, $corr, $acc, $stored, $side,
                    $rto, $rsender, $rpreview, $root, $edits, $edited, $deleted, $deletedBy, $reactions, $pinnedAt, $pinnedBy, $fwd, $fwdConversation, $fwdSender, $mentions, $expires, $poll)
            """, transaction);
        var id = insert.Parameters.Add("$id", SqliteType.Text);
        var conversation = insert.Parameters.Add("$c", SqliteType.Text);
        var sequence = insert.Parameters.Add("$seq", SqliteType.Integer);
        var sender = insert.Parameters.Add("$s", SqliteType.Text);
        var type = insert.Parameters.Add("$type", SqliteType.Text);
        var content = insert.Parameters.Add("$content", SqliteType.Text);
        var metadata = insert.Parameters.Add("$meta", SqliteType.Text);
        var clientMessageId = insert.Parameters.Add("$cmid", SqliteType.Text);
        var key = insert.Parameters.Add("$key", SqliteType.Text);
        var hash = insert.Parameters.Add("$hash", SqliteType.Text);
        var size = insert.Parameters.Add("$size", SqliteType.Integer);
        var correlation = insert.Parameters.Add("$corr", SqliteType.Text);
        var acceptedAt = insert.Parameters.Add("$acc", SqliteType.Integer);
        var storedAt = insert.Parameters.Add("$stored", SqliteType.Integer);
        var side = insert.Parameters.Add("$side", SqliteType.Text);
        var replyTo = insert.Parameters.Add("$rto", SqliteType.Text);
        var replySender = insert.Parameters.Add("$rsender", SqliteType.Text);
        var replyPreview = insert.Parameters.Add("$rpreview", SqliteType.Text);
        var root = insert.Parameters.Add("$root", SqliteType.Text);
        var edits = insert.Parameters.Add("$edits", SqliteType.Integer);
        var edited = insert.Parameters.Add("$edited", SqliteType.Integer);
        var deleted = insert.Parameters.Add("$deleted", SqliteType.Integer);
        var deletedBy = insert.Parameters.Add("$deletedBy", SqliteType.Text);
        var reactions = insert.Parameters.Add("$reactions", SqliteType.Text);
        var pinnedAt = insert.Parameters.Add("$pinnedAt", SqliteType.Integer);
        var pinnedBy = insert.Parameters.Add("$pinnedBy", SqliteType.Text);
        var forwarded = insert.Parameters.Add("$fwd", SqliteType.Text);
        var forwardedConversation = insert.Parameters.Add("$fwdConversation", SqliteType.Text);
        var forwardedSender = insert.Parameters.Add("$fwdSender", SqliteType.Text);
        var mentions = insert.Parameters.Add("$mentions", SqliteType.Text);
        var expires = insert.Parameters.Add("$expires", SqliteType.Integer);
        var poll = insert.Parameters.Add("$poll", SqliteType.Text);
        foreach (var (message, idempotencyKey) in inserts)
        {
            id.Value = message.Id.ToString();
            conversation.Value = message.ConversationId.ToString();
            sequence.Value = message.Sequence;
            sender.Value = message.SenderId.ToString();
            type.Value = message.Type;
            content.Value = message.Content;
            metadata.Value = SqliteRows.OrNull(message.Metadata);
            clientMessageId.Value = SqliteRows.OrNull(message.ClientMessageId);
            key.Value = idempotencyKey;
            hash.Value = message.ContentHash;
            size.Value = message.Size;
            correlation.Value = message.CorrelationId.ToString();
            acceptedAt.Value = SqliteTime.Ms(message.AcceptedAt);
            storedAt.Value = SqliteTime.Ms(message.StoredAt);
            side.Value = SqliteRows.OrNull(message.SenderSide);
            replyTo.Value = SqliteRows.OrNull(message.ReplyTo?.MessageId.ToString());
            replySender.Value = SqliteRows.OrNull(message.ReplyTo?.SenderId.ToString());
            replyPreview.Value = SqliteRows.OrNull(message.ReplyTo?.Preview);
            root.Value = SqliteRows.OrNull(message.ThreadRootId?.ToString());
            // A message changed in the batch that stored it is inserted as the batch left it.
            edits.Value = message.EditCount;
            edited.Value = message.EditedAt is { } e ? SqliteTime.Ms(e) : DBNull.Value;
            deleted.Value = message.DeletedAt is { } d ? SqliteTime.Ms(d) : DBNull.Value;
            deletedBy.Value = SqliteRows.OrNull(message.DeletedBy?.ToString());
            reactions.Value = SqliteRows.OrNull(ReactionCountsJson.Format(message.Reactions));
            pinnedAt.Value = message.PinnedAt is { } p ? SqliteTime.Ms(p) : DBNull.Value;
            pinnedBy.Value = SqliteRows.OrNull(message.PinnedBy?.ToString());
            forwarded.Value = SqliteRows.OrNull(message.ForwardedFrom?.MessageId.ToString());
            forwardedConversation.Value = SqliteRows.OrNull(message.ForwardedFrom?.ConversationId.ToString());
            forwardedSender.Value = SqliteRows.OrNull(message.ForwardedFrom?.SenderId.ToString());
            mentions.Value = SqliteRows.OrNull(MentionsJson.Format(message.Mentions));
            expires.Value = message.ExpiresAt is { } x ? SqliteTime.Ms(x) : DBNull.Value;
            poll.Value = SqliteRows.OrNull(PollJson.Format(message.Poll));
            await insert.ExecuteNonQueryAsync(cancellationToken);
        }
    }

    private static async Task AdvanceConversationsAsync(SqliteConnection connection, SqliteTransaction transaction, IReadOnlyList<ConversationAdvance> advances, CancellationToken cancellationToken)
    {
        await using var advance = SqliteDatabase.Command(connection,
            "UPDATE conversations SET last_sequence = $seq, last_activity_at = MAX(last_activity_at, $at), last_message_id = $id WHERE id = $c", transaction);
        var sequence = advance.Parameters.Add("$seq", SqliteType.Integer);
        var at = advance.Parameters.Add("$at", SqliteType.Integer);
        var id = advance.Parameters.Add("$id", SqliteType.Text);
        var conversation = advance.Parameters.Add("$c", SqliteType.Text);
        foreach (var a in advances)
        {
            sequence.Value = a.LastSequence;
            at.Value = SqliteTime.Ms(a.LastActivityAt);
            id.Value = a.LastMessageId.ToString();
            conversation.Value = a.ConversationId.ToString();
            await advance.ExecuteNonQueryAsync(cancellationToken);
        }
    }

    /// <summary>
    /// Senders one row each (their unread resets, their watermarks move to their own message); everyone else grouped by
    /// conversation and count, one set-based update per group, so a large group costs a statement, not one per member.
    /// </summary>
    private static async Task ApplyParticipantEffectsAsync(SqliteConnection connection, SqliteTransaction transaction, IReadOnlyList<ParticipantEffect> effects, CancellationToken cancellationToken)
    {
        await using (var reset = SqliteDatabase.Command(connection, """
            UPDATE participants SET unread_count = $n, unread_mentions = $mentions, last_read_seq = MAX(last_read_seq, $seq), last_delivered_seq = MAX(last_delivered_seq, $seq)
            WHERE conversation_id = $c AND user_id = $u
            """, transaction))
        {
            var count = reset.Parameters.Add("$n", SqliteType.Integer);
            var resetMentions = reset.Parameters.Add("$mentions", SqliteType.Integer);
            var sequence = reset.Parameters.Add("$seq", SqliteType.Integer);
            var conversation = reset.Parameters.Add("$c", SqliteType.Text);
            var user = reset.Parameters.Add("$u", SqliteType.Text);
            foreach (var e in effects.Where(e => e.Reset))
            {
                count.Value = e.Added;
                resetMentions.Value = e.MentionsAdded;
                sequence.Value = e.ReadTo;
                conversation.Value = e.ConversationId.ToString();
                user.Value = e.UserId.ToString();
                await reset.ExecuteNonQueryAsync(cancellationToken);
            }
        }

        await using var add = SqliteDatabase.Command(connection, """
            UPDATE participants SET unread_count = unread_count + $n, unread_mentions = unread_mentions + $mentions
            WHERE conversation_id = $c AND user_id IN (SELECT value FROM json_each($users))
            """, transaction);
        var added = add.Parameters.Add("$n", SqliteType.Integer);
        var addedMentions = add.Parameters.Add("$mentions", SqliteType.Integer);
        var group = add.Parameters.Add("$c", SqliteType.Text);
        var users = add.Parameters.Add("$users", SqliteType.Text);
        foreach (var g in effects.Where(e => !e.Reset && e.Added > 0).GroupBy(e => (e.ConversationId, e.Added, e.MentionsAdded)))
        {
            added.Value = g.Key.Added;
            addedMentions.Value = g.Key.MentionsAdded;
            group.Value = g.Key.ConversationId.ToString();
            users.Value = SqliteRows.GuidsJson(g.Select(e => e.UserId));
            await add.ExecuteNonQueryAsync(cancellationToken);
        }
    }
}
