using Npgsql;
using Parley.Core.Messaging;
using Parley.Core.Persistence;
using Parley.Core.Ports;
using Parley.Postgres.Internal;
using static Parley.Postgres.Internal.PostgresRows;

namespace Parley.Postgres;

/// <summary>Messages on PostgreSQL: the persist batch (the ingest hot path) and the history reads, hand-tuned Npgsql.</summary>
public sealed class PostgresMessageStore(NpgsqlDataSource dataSource, TimeProvider? time = null) : IMessageStore
{
    private readonly TimeProvider _time = time ?? TimeProvider.System;

    /// <summary>
    /// Two round trips whatever the batch size: one reads what <see cref="PersistPlanner"/> needs (the fence first, the
    /// batch's conversations locked in id order, their members, the stored messages the batch may repeat), the other
    /// writes its plan set-based (messages, conversation advances, member effects, message.stored events); then commit.
    /// </summary>
    public async Task<IReadOnlyList<PersistResult>> PersistBatchAsync(IReadOnlyList<MessageEnvelope> batch, IReadOnlyList<PartitionFence> fences, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var state = await LoadAsync(connection, transaction, batch, fences, cancellationToken);
        var plan = PersistPlanner.Plan(batch, state, _time.GetUtcNow());
        if (plan.HasWrites)
        {
            await using var write = new NpgsqlBatch(connection, transaction);
            var inserts = plan.Inserts;
            // A message changed in the batch that stored it is inserted as the batch left it.
            write.BatchCommands.Add(Command("""
                INSERT INTO messages (id, conversation_id, sequence, sender_id, type, content, metadata, client_message_id,
                                      idempotency_key, content_hash, size, correlation_id, accepted_at, stored_at, sender_side,
                                      reply_to, reply_sender_id, reply_preview, thread_root_id, edit_count, edited_at, deleted_at, deleted_by, reactions, pinned_at, pinned_by,
                                      forwarded_from_id, forwarded_from_conversation_id, forwarded_from_sender_id, mentions, expires_at, poll)
                SELECT id, conversation_id, sequence, sender_id, type, content, metadata::json, client_message_id,
                       idempotency_key, content_hash, size, correlation_id, accepted_at, stored_at, sender_side,
                       reply_to, reply_sender_id, reply_preview, thread_root_id, edit_count, edited_at, deleted_at, deleted_by, reactions, pinned_at, pinned_by,
                       forwarded_from_id, forwarded_from_conversation_id, forwarded_from_sender_id, mentions, expires_at, poll
                FROM unnest($1::uuid[], $2::uuid[], $3::bigint[], $4::uuid[], $5::text[], $6::text[], $7::text[], $8::text[],
                            $9::text[], $10::text[], $11::int[], $12::uuid[], $13::timestamptz[], $14::timestamptz[], $15::text[],
                            $16::uuid[], $17::uuid[], $18::text[], $19::uuid[], $20::int[], $21::timestamptz[], $22::timestamptz[], $23::uuid[], $24::text[], $25::timestamptz[], $26::uuid[],
                            $27::uuid[], $28::uuid[], $29::uuid[], $30::text[], $31::timestamptz[], $32::text[])
                     AS t(id, conversation_id, sequence, sender_id, type, content, metadata, client_message_id,
                          idempotency_key, content_hash, size, correlation_id, accepted_at, stored_at, sender_side,
                          reply_to, reply_sender_id, reply_preview, thread_root_id, edit_count, edited_at, deleted_at, deleted_by, reactions, pinned_at, pinned_by,
                          forwarded_from_id, forwarded_from_conversation_id, forwarded_from_sender_id, mentions, expires_at, poll)
                """,
                inserts.Select(i => i.Message.Id).ToArray(), inserts.Select(i => i.Message.ConversationId).ToArray(), inserts.Select(i => i.Message.Sequence).ToArray(),
                inserts.Select(i => i.Message.SenderId).ToArray(), inserts.Select(i => i.Message.Type).ToArray(), inserts.Select(i => i.Message.Content).ToArray(),
                inserts.Select(i => i.Message.Metadata).ToArray(), inserts.Select(i => i.Message.ClientMessageId).ToArray(), inserts.Select(i => i.IdempotencyKey).ToArray(),
                inserts.Select(i => i.Message.ContentHash).ToArray(), inserts.Select(i => i.Message.Size).ToArray(), inserts.Select(i => i.Message.CorrelationId).ToArray(),
                inserts.Select(i => i.Message.AcceptedAt).ToArray(), inserts.Select(i => i.Message.StoredAt).ToArray(), inserts.Select(i => i.Message.SenderSide).ToArray(),
                inserts.Select(i => i.Message.ReplyTo?.MessageId).ToArray(), inserts.Select(i => i.Message.ReplyTo?.SenderId).ToArray(),
                inserts.Select(i => i.Message.ReplyTo?.Preview).ToArray(), inserts.Select(i => i.Message.ThreadRootId).ToArray(),
                inserts.Select(i => i.Message.EditCount).ToArray(), inserts.Select(i => i.Message.EditedAt).ToArray(), inserts.Select(i => i.Message.DeletedAt).ToArray(),
                inserts.Select(i => i.Message.DeletedBy).ToArray(), inserts.Select(i => ReactionCountsJson.Format(i.Message.Reactions)).ToArray(),
                inserts.Select(i => i.Message.PinnedAt).ToArray(), inserts.Select(i => i.Message.PinnedBy).ToArray(),
                inserts.Select(i => i.Message.ForwardedFrom?.MessageId).ToArray(), inserts.Select(i => i.Message.ForwardedFrom?.ConversationId).ToArray(),
                inserts.Select(i => i.Message.ForwardedFrom?.SenderId).ToArray(), inserts.Select(i => MentionsJson.Format(i.Message.Mentions)).ToArray(),
                inserts.Select(i => i.Message.ExpiresAt).ToArray(), inserts.Select(i => PollJson.Format(i.Message.Poll)).ToArray()));
            var advances = plan.Conversations;
            write.BatchCommands.Add(Command("""
                UPDATE conversations c SET last_sequence = t.seq, last_activity_at = GREATEST(c.last_activity_at, t.at), last_message_id = t.msg
                FROM unnest($1::uuid[], $2::bigint[], $3::timestamptz[], $4::uuid[]) AS t(id, seq, at, msg)
                WHERE c.id = t.id
                """,
                advances.Select(a => a.ConversationId).ToArray(), advances.Select(a => a.LastSequence).ToArray(),
                advances.Select(a => a.LastActivityAt).ToArray(), advances.Select(a => a.LastMessageId).ToArray()));
            var effects = plan.Participants;
            write.BatchCommands.Add(Command("""
                UPDATE participants p SET
                    unread_count = CASE WHEN t.reset THEN t.added ELSE p.unread_count + t.added END,
                    unread_mentions = CASE WHEN t.reset THEN t.mentions ELSE p.unread_mentions + t.mentions END,
                    last_read_seq = GREATEST(p.last_read_seq, t.read_to),
                    last_delivered_seq = GREATEST(p.last_delivered_seq, t.read_to)
                FROM unnest($1::uuid[], $2::uuid[], $3::boolean[], $4::bigint[], $5::bigint[], $6::bigint[]) AS t(conversation_id, user_id, reset, added, read_to, mentions)
                WHERE p.conversation_id = t.conversation_id AND p.user_id = t.user_id
                """,
                effects.Select(e => e.ConversationId).ToArray(), effects.Select(e => e.UserId).ToArray(), effects.Select(e => e.Reset).ToArray(),
                effects.Select(e => e.Added).ToArray(), effects.Select(e => e.ReadTo).ToArray(), effects.Select(e => e.MentionsAdded).ToArray()));
            PostgresMessageChanges.Add(write, plan);
            write.BatchCommands.Add(PostgresOutbox.Append(plan.Events));
            await write.ExecuteNonQueryAsync(cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
        return plan.Results;
    }

    /// <summary>The state a plan needs, in one round trip; the fence and the conversation locks are held to commit.</summary>
    private static async Task<PersistState> LoadAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, IReadOnlyList<MessageEnvelope> batch, IReadOnlyList<PartitionFence> fences, CancellationToken cancellationToken)
    {
        var conversationIds = batch.Select(e => e.ConversationId).Distinct().ToArray();
        var sequences = new Dictionary<Guid, long>();
        var members = new Dictionary<Guid, List<Guid>>();
        var existing = new List<(StoredMessage, string)>();
        await using var read = new NpgsqlBatch(connection, transaction);
        var ordered = fences.OrderBy(f => f.Partition).ToArray();
        if (ordered.Length > 0)
        {
            // First, in partition order, and held to commit: each partition's batches commit one after another, and a
            // holder whose lease was taken over finds the newer epoch here (no row back for it) and writes nothing.
            read.BatchCommands.Add(Command("""
                INSERT INTO partition_fences AS f (partition, epoch)
                SELECT partition, epoch FROM unnest($1::int[], $2::bigint[]) AS t(partition, epoch) ORDER BY partition
                ON CONFLICT (partition) DO UPDATE SET epoch = excluded.epoch WHERE f.epoch <= excluded.epoch
                RETURNING partition
                """, ordered.Select(f => f.Partition).ToArray(), ordered.Select(f => f.Epoch).ToArray()));
        }

        // Locked in id order, so concurrent batches cannot deadlock.
        read.BatchCommands.Add(Command("SELECT id, last_sequence, last_change_seq, message_ttl_seconds FROM conversations WHERE id = ANY($1) ORDER BY id FOR UPDATE", conversationIds));
        read.BatchCommands.Add(Command("SELECT conversation_id, user_id, side FROM participants WHERE conversation_id = ANY($1) ORDER BY joined_at, user_id", conversationIds));
        read.BatchCommands.Add(Command($"SELECT {MessageColumns}, m.idempotency_key FROM messages m WHERE m.id = ANY($1) OR m.idempotency_key = ANY($2)",
            batch.Select(e => e.MessageId).ToArray(), batch.Select(e => e.IdempotencyKey).ToArray()));
        var changes = batch.Any(e => e.IsChange || e.ReplyTo is not null);
        if (changes)
        {
            PostgresMessageChanges.AddLoads(read, batch);
        }

        await using var reader = await read.ExecuteReaderAsync(cancellationToken);
        if (ordered.Length > 0)
        {
            var held = new HashSet<int>();
            while (await reader.ReadAsync(cancellationToken))
            {
                held.Add(reader.GetInt32(0));
            }

            if (ordered.FirstOrDefault(f => !held.Contains(f.Partition)) is { } stale)
            {
                throw new PartitionFencedException(stale.Partition, stale.Epoch);
            }

            await reader.NextResultAsync(cancellationToken);
        }

        var changeSequences = new Dictionary<Guid, long>();
        var ttls = new Dictionary<Guid, int>();
        while (await reader.ReadAsync(cancellationToken))
        {
            sequences[reader.GetGuid(0)] = reader.GetInt64(1);
            changeSequences[reader.GetGuid(0)] = reader.GetInt64(2);
            if (!reader.IsDBNull(3))
            {
                ttls[reader.GetGuid(0)] = reader.GetInt32(3);
            }

            members[reader.GetGuid(0)] = [];
        }

        await reader.NextResultAsync(cancellationToken);
        var sides = new Dictionary<Guid, Dictionary<Guid, string>>();
        while (await reader.ReadAsync(cancellationToken))
        {
            members[reader.GetGuid(0)].Add(reader.GetGuid(1));
            if (!reader.IsDBNull(2))
            {
                (sides.TryGetValue(reader.GetGuid(0), out var of) ? of : sides[reader.GetGuid(0)] = [])[reader.GetGuid(1)] = reader.GetString(2);
            }
        }

        await reader.NextResultAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            existing.Add((ReadMessage(reader, 0), reader.GetString(MessageColumnCount)));
        }

        var state = new PersistState(sequences.ToDictionary(s => s.Key, s => new ConversationSnapshot(s.Value, members[s.Key])
        {
            Sides = sides.GetValueOrDefault(s.Key) ?? ConversationSnapshot.NoSides,
            LastChangeSequence = changeSequences[s.Key],
            MessageTtlSeconds = ttls.TryGetValue(s.Key, out var ttl) ? ttl : null,
        }), existing);
        return changes ? await PostgresMessageChanges.ReadLoadsAsync(reader, state, cancellationToken) : state;
    }

    public Task<MessagePage> GetMessagesAsync(Guid conversationId, HistoryQuery query, CancellationToken cancellationToken) =>
        GetPageAsync("m.conversation_id", conversationId, query, cancellationToken);

    public Task<MessagePage> GetThreadAsync(Guid rootId, HistoryQuery query, CancellationToken cancellationToken) =>
        GetPageAsync("m.thread_root_id", rootId, query, cancellationToken);

    /// <summary>
    /// A page of the messages whose <paramref name="scope"/> column is <paramref name="id"/> (a conversation, or a thread's
    /// replies) in one round trip, walking the (scope, sequence) index; an around page reads both sides from the anchor.
    /// </summary>
    /// <summary>The page queries by scope and direction, built once: composed per request they were kilobytes of garbage a page.</summary>
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<(string Scope, string Direction), string> PageSql = new();

    private static string PageQuery(string scope, string direction) => PageSql.GetOrAdd((scope, direction), static key =>
    {
        var columns = $"{MessageColumns}, {string.Format(System.Globalization.CultureInfo.InvariantCulture, ViewerColumn, "$2::uuid")}";
        var filter = $"{key.Scope} = $1 AND {string.Format(System.Globalization.CultureInfo.InvariantCulture, ViewerFilter, "$2::uuid")}";
        return key.Direction == "AROUND"
            ? $"""
                (SELECT {columns} FROM messages m WHERE {filter} AND m.sequence < $3 ORDER BY m.sequence DESC LIMIT $4)
                UNION ALL
                (SELECT {columns} FROM messages m WHERE {filter} AND m.sequence >= $3 ORDER BY m.sequence ASC LIMIT $5)
                """
            : $"""
                SELECT {columns} FROM messages m
                WHERE {filter} AND m.sequence > $3 AND m.sequence < $4
                ORDER BY m.sequence {key.Direction} LIMIT $5
                """;
    });

    private async Task<MessagePage> GetPageAsync(string scope, Guid id, HistoryQuery query, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(PageQuery(scope, query.Around is not null ? "AROUND" : query.After is not null ? "ASC" : "DESC"));
        command.Parameters.Add(new() { Value = id });
        command.Parameters.Add(new() { Value = (object?)query.Viewer ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Uuid });
        if (query.Around is { } around)
        {
            command.Parameters.Add(new() { Value = around });
            command.Parameters.Add(new() { Value = query.AroundOlder + 1 });
            command.Parameters.Add(new() { Value = query.AroundNewer + 1 });
        }
        else
        {
            command.Parameters.Add(new() { Value = query.After ?? 0L });
            command.Parameters.Add(new() { Value = query.Before ?? long.MaxValue });
            command.Parameters.Add(new() { Value = query.Limit + 1 });
        }

        var items = new List<StoredMessage>(query.Around is not null ? query.AroundOlder + query.AroundNewer + 2 : query.Limit + 1);
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                items.Add(WithViewer(reader, ReadMessage(reader, 0), MessageColumnCount, query.Viewer is not null));
            }
        }

        return query.Around is not null ? Paging.Around(items, query) : Paging.History(items, query);
    }

    public async Task<IReadOnlyList<StoredChange>> GetChangesAsync(Guid conversationId, long afterChangeSequence, int limit, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand($"""
            SELECT {PostgresMessageChanges.ChangeColumns}, {MessageColumns} FROM message_changes c JOIN messages m ON m.id = c.message_id
            WHERE c.conversation_id = $1 AND c.change_seq > $2 ORDER BY c.change_seq LIMIT $3
            """);
        command.Parameters.Add(new() { Value = conversationId });
        command.Parameters.Add(new() { Value = afterChangeSequence });
        command.Parameters.Add(new() { Value = limit });
        var changes = new List<StoredChange>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            changes.Add(PostgresMessageChanges.ReadChange(reader));
        }

        return changes;
    }

    public async Task<IReadOnlyList<ExpiringMessage>> GetExpiredAsync(DateTimeOffset now, int limit, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("""
            SELECT id, conversation_id, expires_at FROM messages
            WHERE expires_at IS NOT NULL AND deleted_at IS NULL AND expires_at <= $1 ORDER BY expires_at LIMIT $2
            """);
        command.Parameters.Add(new() { Value = now.ToUniversalTime() });
        command.Parameters.Add(new() { Value = limit });
        var due = new List<ExpiringMessage>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            due.Add(new ExpiringMessage(reader.GetGuid(0), reader.GetGuid(1), Time(reader, 2)));
        }

        return due;
    }

    public async Task<IReadOnlyList<PollVote>> GetVotesAsync(Guid messageId, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("SELECT user_id, option_id, voted_at FROM poll_votes WHERE message_id = $1 ORDER BY option_id, voted_at, user_id");
        command.Parameters.Add(new() { Value = messageId });
        var votes = new List<PollVote>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            votes.Add(new PollVote(reader.GetGuid(0), reader.GetInt32(1), Time(reader, 2)));
        }

        return votes;
    }

    public async Task<IReadOnlyList<StoredMessage>> GetPinsAsync(Guid conversationId, int limit, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand($"""
            SELECT {MessageColumns} FROM messages m
            WHERE m.conversation_id = $1 AND m.pinned_at IS NOT NULL ORDER BY m.pinned_at DESC, m.sequence DESC LIMIT $2
            """);
        command.Parameters.Add(new() { Value = conversationId });
        command.Parameters.Add(new() { Value = limit });
        var pins = new List<StoredMessage>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            pins.Add(ReadMessage(reader, 0));
        }

        return pins;
    }

    public async Task<IReadOnlyList<MessageEditRecord>> GetEditsAsync(Guid messageId, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(
            "SELECT edit_no, previous_content, previous_hash, reason, editor_id, edited_at FROM message_edits WHERE message_id = $1 ORDER BY edit_no");
        command.Parameters.Add(new() { Value = messageId });
        var edits = new List<MessageEditRecord>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            edits.Add(new MessageEditRecord(messageId, reader.GetInt32(0), reader.GetString(1), reader.GetString(2), reader.IsDBNull(3) ? null : reader.GetString(3),
                reader.GetGuid(4), Time(reader, 5)));
        }

        return edits;
    }

    public Task<StoredMessage?> GetMessageAsync(Guid messageId, CancellationToken cancellationToken) =>
        QueryMessageAsync("m.id = $1", messageId, cancellationToken);

    public Task<StoredMessage?> FindByIdempotencyKeyAsync(string idempotencyKey, CancellationToken cancellationToken) =>
        QueryMessageAsync("m.idempotency_key = $1", idempotencyKey, cancellationToken);

    private async Task<StoredMessage?> QueryMessageAsync(string where, object value, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand($"SELECT {MessageColumns} FROM messages m WHERE {where}");
        command.Parameters.Add(new() { Value = value });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? ReadMessage(reader, 0) : null;
    }

    public async Task<IReadOnlyDictionary<string, Guid>> FindIdsByIdempotencyKeysAsync(IReadOnlyCollection<string> idempotencyKeys, CancellationToken cancellationToken)
    {
        var found = new Dictionary<string, Guid>(StringComparer.Ordinal);
        if (idempotencyKeys.Count == 0)
        {
            return found;
        }

        await using var command = dataSource.CreateCommand("SELECT idempotency_key, id FROM messages WHERE idempotency_key = ANY($1)");
        command.Parameters.Add(new() { Value = idempotencyKeys.ToArray() });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            found[reader.GetString(0)] = reader.GetGuid(1);
        }

        return found;
    }

    public Task<MessageStatusRecord?> GetMessageStatusAsync(Guid messageId, CancellationToken cancellationToken) =>
        QueryMessageStatusAsync("m.id = $1", messageId, cancellationToken);

    public Task<MessageStatusRecord?> GetMessageStatusByIdempotencyKeyAsync(string idempotencyKey, CancellationToken cancellationToken) =>
        QueryMessageStatusAsync("m.idempotency_key = $1", idempotencyKey, cancellationToken);

    private async Task<MessageStatusRecord?> QueryMessageStatusAsync(string where, object value, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand($"""
            SELECT {MessageColumns},
                COUNT(p.user_id)::int,
                COUNT(p.user_id) FILTER (WHERE p.last_delivered_seq >= m.sequence)::int,
                COUNT(p.user_id) FILTER (WHERE p.last_read_seq >= m.sequence)::int
            FROM messages m
            LEFT JOIN participants p ON p.conversation_id = m.conversation_id AND p.user_id <> m.sender_id
            WHERE {where}
            GROUP BY m.id
            """);
        command.Parameters.Add(new() { Value = value });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken)
            ? new MessageStatusRecord(ReadMessage(reader, 0), reader.GetInt32(MessageColumnCount), reader.GetInt32(MessageColumnCount + 1), reader.GetInt32(MessageColumnCount + 2))
            : null;
    }
}
