using Dapper;
using Npgsql;
using Parley.Core.Events;
using Parley.Core.Persistence;
using Parley.Core.Ports;
using Parley.Postgres.Internal;

namespace Parley.Postgres;

/// <summary>
/// Friend requests, friendships and blocks on PostgreSQL. Every change to a pair first takes a transaction-scoped
/// advisory lock on the pair, so its state read and the write that follows are one step even across nodes (two users
/// asking each other at once: the second sees the first's request and accepts it). The unique pair key on
/// friend_requests and the friendship's primary key are the backstop: never two pending rows, never two friendships.
/// </summary>
public sealed class PostgresSocialStore(NpgsqlDataSource dataSource) : ISocialStore
{
    public Task<FriendRequestResult> SendFriendRequestAsync(FriendRequestRecord request, EventContext context, CancellationToken cancellationToken) =>
        InPairTransactionAsync(request.SenderId, request.RecipientId, async (connection, transaction) =>
        {
            var state = await PairAsync(connection, transaction, request.SenderId, request.RecipientId, cancellationToken);
            var outcome = SocialRules.DecideSend(request.SenderId, state);
            switch (outcome)
            {
                case FriendRequestOutcome.Created:
                    var (low, high) = SocialRules.Pair(request.SenderId, request.RecipientId);
                    await connection.ExecuteAsync(new CommandDefinition("""
                        INSERT INTO friend_requests (id, sender_id, recipient_id, user_low, user_high, created_at)
                        VALUES (@Id, @SenderId, @RecipientId, @low, @high, @CreatedAt)
                        """, new { request.Id, request.SenderId, request.RecipientId, low, high, request.CreatedAt }, transaction, cancellationToken: cancellationToken));
                    await PostgresOutbox.AppendAsync(connection, transaction,
                        ChangeEvents.FriendRequest(DomainEventTypes.FriendRequested, request, request.SenderId, request.CreatedAt, context), cancellationToken);
                    return new FriendRequestResult(outcome, request);
                case FriendRequestOutcome.AcceptedTheirs:
                    await ResolveAsync(connection, transaction, state.Pending!, request.SenderId, FriendRequestAction.Accept, request.CreatedAt, context, cancellationToken);
                    return new FriendRequestResult(outcome, state.Pending);
                default:
                    return new FriendRequestResult(outcome, state.Pending);
            }
        }, cancellationToken);

    public async Task<FriendRequestRecord?> ResolveFriendRequestAsync(Guid requestId, Guid actorId, FriendRequestAction action, DateTimeOffset now, EventContext context,
        CancellationToken cancellationToken)
    {
        var request = await ReadRequestAsync(requestId, cancellationToken);
        if (request is null || !SocialRules.MayResolve(action, actorId, request))
        {
            return null;
        }

        return await InPairTransactionAsync(request.SenderId, request.RecipientId, async (connection, transaction) =>
            await ResolveAsync(connection, transaction, request, actorId, action, now, context, cancellationToken) ? request : null, cancellationToken);
    }

    public Task<UsernamePage<FriendRequestEntry>> ListFriendRequestsAsync(Guid userId, FriendRequestDirection direction, UsernameCursor? after, int limit,
        CancellationToken cancellationToken)
    {
        var (mine, theirs) = direction == FriendRequestDirection.Incoming ? ("recipient_id", "sender_id") : ("sender_id", "recipient_id");
        return PageAsync<PostgresRequestRow, FriendRequestEntry>($"""
            SELECT {PostgresProfileRow.Columns}, {PostgresRequestRow.RequestColumns}
            FROM friend_requests r JOIN users u ON u.id = r.{theirs}
            WHERE r.{mine} = @me
            """, userId, after, limit, r => new FriendRequestEntry(r.ToRequest(), r.ToProfile()), cancellationToken);
    }

    public Task<UsernamePage<FriendEntry>> ListFriendsAsync(Guid userId, UsernameCursor? after, int limit, CancellationToken cancellationToken) =>
        PageAsync<PostgresProfileRow, FriendEntry>($"""
            SELECT {PostgresProfileRow.Columns}, f.created_at AS at
            FROM friendships f JOIN users u ON u.id = CASE WHEN f.user_low = @me THEN f.user_high ELSE f.user_low END
            WHERE (f.user_low = @me OR f.user_high = @me)
            """, userId, after, limit, r => new FriendEntry(r.ToProfile(), r.AtTime), cancellationToken);

    public Task<bool> RemoveFriendAsync(Guid userId, Guid friendId, DateTimeOffset now, EventContext context, CancellationToken cancellationToken) =>
        InPairTransactionAsync(userId, friendId, async (connection, transaction) =>
        {
            if (!await DeleteFriendshipAsync(connection, transaction, userId, friendId, cancellationToken))
            {
                return false;
            }

            await PostgresOutbox.AppendAsync(connection, transaction, ChangeEvents.FriendRemoved(userId, friendId, now, context), cancellationToken);
            return true;
        }, cancellationToken);

    public async Task<bool> AreFriendsAsync(Guid a, Guid b, CancellationToken cancellationToken)
    {
        var (low, high) = SocialRules.Pair(a, b);
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return await connection.ExecuteScalarAsync<bool>(new CommandDefinition(
            "SELECT EXISTS (SELECT 1 FROM friendships WHERE user_low = @low AND user_high = @high)", new { low, high }, cancellationToken: cancellationToken));
    }

    public Task<BlockResult> BlockAsync(Guid blockerId, Guid blockedId, DateTimeOffset now, EventContext context, CancellationToken cancellationToken) =>
        InPairTransactionAsync(blockerId, blockedId, async (connection, transaction) =>
        {
            var state = await PairAsync(connection, transaction, blockerId, blockedId, cancellationToken);
            if (!state.OtherExists)
            {
                return new BlockResult(BlockOutcome.UserNotFound, default, false, null);
            }

            var inserted = await connection.ExecuteAsync(new CommandDefinition("""
                INSERT INTO user_blocks (blocker_id, blocked_id, created_at) VALUES (@blockerId, @blockedId, @now) ON CONFLICT DO NOTHING
                """, new { blockerId, blockedId, now }, transaction, cancellationToken: cancellationToken));
            if (inserted == 0)
            {
                var since = await connection.ExecuteScalarAsync<DateTime>(new CommandDefinition(
                    "SELECT created_at FROM user_blocks WHERE blocker_id = @blockerId AND blocked_id = @blockedId",
                    new { blockerId, blockedId }, transaction, cancellationToken: cancellationToken));
                return new BlockResult(BlockOutcome.AlreadyBlocked, PostgresRows.Utc(since), false, null);
            }

            var friendshipRemoved = await DeleteFriendshipAsync(connection, transaction, blockerId, blockedId, cancellationToken);
            if (state.Pending is not null)
            {
                await connection.ExecuteAsync(new CommandDefinition("DELETE FROM friend_requests WHERE id = @Id", new { state.Pending.Id }, transaction,
                    cancellationToken: cancellationToken));
            }

            var result = new BlockResult(BlockOutcome.Blocked, now, friendshipRemoved, state.Pending);
            await PostgresOutbox.AppendAsync(connection, transaction, ChangeEvents.Block(DomainEventTypes.UserBlocked, blockerId, blockedId, result, now, context), cancellationToken);
            return result;
        }, cancellationToken);

    public Task<bool> UnblockAsync(Guid blockerId, Guid blockedId, DateTimeOffset now, EventContext context, CancellationToken cancellationToken) =>
        InPairTransactionAsync(blockerId, blockedId, async (connection, transaction) =>
        {
            if (await connection.ExecuteAsync(new CommandDefinition("DELETE FROM user_blocks WHERE blocker_id = @blockerId AND blocked_id = @blockedId",
                new { blockerId, blockedId }, transaction, cancellationToken: cancellationToken)) == 0)
            {
                return false;
            }

            await PostgresOutbox.AppendAsync(connection, transaction, ChangeEvents.Block(DomainEventTypes.UserUnblocked, blockerId, blockedId, null, now, context), cancellationToken);
            return true;
        }, cancellationToken);

    public Task<UsernamePage<BlockEntry>> ListBlocksAsync(Guid blockerId, UsernameCursor? after, int limit, CancellationToken cancellationToken) =>
        PageAsync<PostgresProfileRow, BlockEntry>($"""
            SELECT {PostgresProfileRow.Columns}, b.created_at AS at
            FROM user_blocks b JOIN users u ON u.id = b.blocked_id
            WHERE b.blocker_id = @me
            """, blockerId, after, limit, r => new BlockEntry(r.ToProfile(), r.AtTime), cancellationToken);

    public async Task<bool> IsBlockedAsync(Guid a, Guid b, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return await connection.ExecuteScalarAsync<bool>(new CommandDefinition(
            "SELECT EXISTS (SELECT 1 FROM user_blocks WHERE (blocker_id = @a AND blocked_id = @b) OR (blocker_id = @b AND blocked_id = @a))",
            new { a, b }, cancellationToken: cancellationToken));
    }

    /// <summary>One page of a list of users: <paramref name="query"/> selects them (for <c>@me</c>), this pages it by username (byte order).</summary>
    private async Task<UsernamePage<T>> PageAsync<TRow, T>(string query, Guid me, UsernameCursor? after, int limit, Func<TRow, T> map, CancellationToken cancellationToken)
        where TRow : PostgresProfileRow
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var rows = await connection.QueryAsync<TRow>(new CommandDefinition(
            $"""{query} AND (@after::text IS NULL OR u.username COLLATE "C" > @after::text) ORDER BY u.username COLLATE "C" LIMIT @take""",
            new { me, after = after?.AfterUsername, take = limit + 1 }, cancellationToken: cancellationToken));
        var page = UsernamePage<TRow>.From([.. rows], limit, r => r.Username);
        return new UsernamePage<T>([.. page.Items.Select(map)], page.Next);
    }

    private async Task<T> InPairTransactionAsync<T>(Guid a, Guid b, Func<NpgsqlConnection, NpgsqlTransaction, Task<T>> work, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await connection.ExecuteAsync(new CommandDefinition("SELECT pg_advisory_xact_lock(@key)", new { key = SocialRules.PairLockKey(a, b) }, transaction,
            cancellationToken: cancellationToken));
        var result = await work(connection, transaction);
        await transaction.CommitAsync(cancellationToken);
        return result;
    }

    private async Task<FriendRequestRecord?> ReadRequestAsync(Guid requestId, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return (await connection.QuerySingleOrDefaultAsync<PostgresRequestRow>(new CommandDefinition(
            $"SELECT {PostgresRequestRow.RequestColumns} FROM friend_requests r WHERE r.id = @requestId", new { requestId }, cancellationToken: cancellationToken)))?.ToRequest();
    }

    private static async Task<PairState> PairAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, Guid me, Guid other, CancellationToken cancellationToken)
    {
        var (low, high) = SocialRules.Pair(me, other);
        var args = new { me, other, low, high };
        var (exists, blocked, friends) = await connection.QuerySingleAsync<(bool, bool, bool)>(new CommandDefinition("""
            SELECT EXISTS (SELECT 1 FROM users WHERE id = @other),
                   EXISTS (SELECT 1 FROM user_blocks WHERE (blocker_id = @me AND blocked_id = @other) OR (blocker_id = @other AND blocked_id = @me)),
                   EXISTS (SELECT 1 FROM friendships WHERE user_low = @low AND user_high = @high)
            """, args, transaction, cancellationToken: cancellationToken));
        var pending = await connection.QuerySingleOrDefaultAsync<PostgresRequestRow>(new CommandDefinition(
            $"SELECT {PostgresRequestRow.RequestColumns} FROM friend_requests r WHERE r.user_low = @low AND r.user_high = @high", args, transaction,
            cancellationToken: cancellationToken));
        return new PairState(exists, blocked, friends, pending?.ToRequest());
    }

    /// <summary>False when the request was resolved (or removed by a block) since it was read; then nothing is written.</summary>
    private static async Task<bool> ResolveAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, FriendRequestRecord request, Guid actorId,
        FriendRequestAction action, DateTimeOffset now, EventContext context, CancellationToken cancellationToken)
    {
        if (await connection.ExecuteAsync(new CommandDefinition("DELETE FROM friend_requests WHERE id = @Id", new { request.Id }, transaction,
            cancellationToken: cancellationToken)) == 0)
        {
            return false;
        }

        if (action == FriendRequestAction.Accept)
        {
            var (low, high) = SocialRules.Pair(request.SenderId, request.RecipientId);
            await connection.ExecuteAsync(new CommandDefinition(
                "INSERT INTO friendships (user_low, user_high, created_at) VALUES (@low, @high, @now) ON CONFLICT DO NOTHING",
                new { low, high, now }, transaction, cancellationToken: cancellationToken));
        }

        await PostgresOutbox.AppendAsync(connection, transaction, ChangeEvents.FriendRequest(SocialRules.EventType(action), request, actorId, now, context), cancellationToken);
        return true;
    }

    private static async Task<bool> DeleteFriendshipAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, Guid a, Guid b, CancellationToken cancellationToken)
    {
        var (low, high) = SocialRules.Pair(a, b);
        return await connection.ExecuteAsync(new CommandDefinition("DELETE FROM friendships WHERE user_low = @low AND user_high = @high", new { low, high }, transaction,
            cancellationToken: cancellationToken)) > 0;
    }
}
