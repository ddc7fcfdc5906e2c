using Npgsql;
using Parley.Core.Events;
using Parley.Core.Persistence;
using Parley.Core.Ports;
using static Parley.Postgres.Internal.PostgresRows;

namespace Parley.Postgres;

/// <summary>
/// The read models on PostgreSQL. A rebuild locks the three tables that hold them against writes (EXCLUSIVE: plain reads
/// go on, every INSERT, UPDATE, DELETE and FOR UPDATE waits), in the order the writers take them (conversations, then
/// messages, then participants), so it cannot deadlock with them. Once it holds them no transaction that changed a read
/// model is still open: the events it then reads are every change there is, and the writers that queued behind it apply
/// their updates on top of the rebuilt values when it commits. Delivery and receipts pause for as long as it runs.
/// </summary>
public sealed class PostgresReadModelStore(NpgsqlDataSource dataSource) : IReadModelStore
{
    public async Task<ReadModelSet> ReadAsync(CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return await ReadAsync(connection, null, cancellationToken);
    }

    public async Task<ReadModelReport> RebuildAsync(bool apply, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using (var locks = new NpgsqlCommand("LOCK TABLE conversations, messages, participants IN EXCLUSIVE MODE", connection, transaction))
        {
            await locks.ExecuteNonQueryAsync(cancellationToken);
        }

        var projection = new ReadModelProjection();
        // Every committed event, without the consumers' "older than every open transaction" bound: the locks above
        // leave no open transaction that could still add one of these.
        await using (var events = new NpgsqlCommand("""
            SELECT transaction_id::text::bigint, position, id, type, occurred_at, data::text FROM domain_events
            WHERE type = ANY($1) ORDER BY transaction_id, position
            """, connection, transaction))
        {
            events.Parameters.Add(new() { Value = ReadModelProjection.EventTypes.ToArray() });
            await using var reader = await events.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                projection.Apply(new DomainEvent(reader.GetGuid(2), "", "", reader.GetString(3), ChangeEvents.Version, Guid.Empty, null, null, Time(reader, 4), reader.GetString(5), null)
                {
                    Cursor = new EventCursor(reader.GetInt64(0), reader.GetInt64(1)),
                });
            }
        }

        var report = ReadModelComparison.Compare(await ReadAsync(connection, transaction, cancellationToken), projection, apply);
        if (apply)
        {
            await WriteAsync(connection, transaction, report.Changes, cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
        return report;
    }

    public async Task ReplaceAsync(ReadModelSet values, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await WriteAsync(connection, transaction, values, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
    }

    private static async Task<ReadModelSet> ReadAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, CancellationToken cancellationToken)
    {
        var conversations = new Dictionary<Guid, ConversationReadModel>();
        var members = new Dictionary<(Guid, Guid), MemberReadModel>();
        var messages = new Dictionary<Guid, MessageReadModel>();
        await using var batch = new NpgsqlBatch(connection, transaction)
        {
            BatchCommands =
            {
                new("SELECT id, last_activity_at, last_message_id FROM conversations"),
                new("SELECT conversation_id, user_id, unread_count, unread_mentions FROM participants"),
                new("SELECT id, reply_count, reactions FROM messages WHERE reply_count <> 0 OR reactions IS NOT NULL"),
            },
        };
        await using var reader = await batch.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            conversations[reader.GetGuid(0)] = new ConversationReadModel(Time(reader, 1), reader.IsDBNull(2) ? null : reader.GetGuid(2));
        }

        await reader.NextResultAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            members[(reader.GetGuid(0), reader.GetGuid(1))] = new MemberReadModel(reader.GetInt64(2), reader.GetInt64(3));
        }

        await reader.NextResultAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            messages[reader.GetGuid(0)] = new MessageReadModel(reader.GetInt32(1), reader.IsDBNull(2) ? null : reader.GetString(2));
        }

        return new ReadModelSet(conversations, members, messages);
    }

    /// <summary>Set-based: one statement per read model whatever the number of rows.</summary>
    private static async Task WriteAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, ReadModelSet values, CancellationToken cancellationToken)
    {
        var (conversations, members, messages) = (values.Conversations.ToList(), values.Members.ToList(), values.Messages.ToList());
        await using var batch = new NpgsqlBatch(connection, transaction)
        {
            BatchCommands =
            {
                Command("""
                    UPDATE conversations c SET last_activity_at = t.at, last_message_id = t.msg
                    FROM unnest($1::uuid[], $2::timestamptz[], $3::uuid[]) AS t(id, at, msg) WHERE c.id = t.id
                    """, conversations.Select(c => c.Key).ToArray(), conversations.Select(c => c.Value.LastActivityAt.ToUniversalTime()).ToArray(),
                    conversations.Select(c => c.Value.LastMessageId).ToArray()),
                Command("""
                    UPDATE participants p SET unread_count = t.n, unread_mentions = t.mentions
                    FROM unnest($1::uuid[], $2::uuid[], $3::bigint[], $4::bigint[]) AS t(c, u, n, mentions) WHERE p.conversation_id = t.c AND p.user_id = t.u
                    """, members.Select(m => m.Key.ConversationId).ToArray(), members.Select(m => m.Key.UserId).ToArray(),
                    members.Select(m => m.Value.UnreadCount).ToArray(), members.Select(m => m.Value.UnreadMentions).ToArray()),
                Command("""
                    UPDATE messages m SET reply_count = t.n, reactions = t.r
                    FROM unnest($1::uuid[], $2::int[], $3::text[]) AS t(id, n, r) WHERE m.id = t.id
                    """, messages.Select(m => m.Key).ToArray(), messages.Select(m => m.Value.ReplyCount).ToArray(), messages.Select(m => m.Value.Reactions).ToArray()),
            },
        };
        await batch.ExecuteNonQueryAsync(cancellationToken);
    }
}
