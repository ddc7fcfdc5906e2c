using Dapper;
using Microsoft.Data.Sqlite;
using Parley.Core.Events;
using Parley.Core.Persistence;
using Parley.Core.Ports;
using Parley.Sqlite.Internal;

namespace Parley.Sqlite;

/// <summary>
/// Friend requests, friendships and blocks in the embedded store. The single writer makes each read of the pair's
/// state and the write that follows one step, so nothing can change the pair in between.
/// </summary>
public sealed class SqliteSocialStore(SqliteDatabase db) : ISocialStore
{
    public Task<FriendRequestResult> SendFriendRequestAsync(FriendRequestRecord request, EventContext context, CancellationToken cancellationToken) =>
        db.WriteAsync(async (connection, transaction) =>
        {
            var state = await PairAsync(connection, transaction, request.SenderId, request.RecipientId, cancellationToken);
            var outcome = SocialRules.DecideSend(request.SenderId, state);
            switch (outcome)
            {
                case FriendRequestOutcome.Created:
                    var (low, high) = Pair(request.SenderId, request.RecipientId);
                    await connection.ExecuteAsync(new CommandDefinition("""
                        INSERT INTO friend_requests (id, sender_id, recipient_id, user_low, user_high, created_at)
                        VALUES (@id, @sender, @recipient, @low, @high, @at)
                        """, new { id = request.Id.ToString(), sender = request.SenderId.ToString(), recipient = request.RecipientId.ToString(), low, high, at = SqliteTime.Ms(request.CreatedAt) },
                        transaction, cancellationToken: cancellationToken));
                    await SqliteOutbox.AppendAsync(connection, transaction,
                        ChangeEvents.FriendRequest(DomainEventTypes.FriendRequested, request, request.SenderId, request.CreatedAt, context), cancellationToken);
                    return new FriendRequestResult(outcome, request);
                case FriendRequestOutcome.AcceptedTheirs:
                    await ResolveAsync(connection, transaction, state.Pending!, request.SenderId, FriendRequestAction.Accept, request.CreatedAt, context, cancellationToken);
                    return new FriendRequestResult(outcome, state.Pending);
                default:
                    return new FriendRequestResult(outcome, state.Pending);
            }
        }, cancellationToken);

    public Task<FriendRequestRecord?> ResolveFriendRequestAsync(Guid requestId, Guid actorId, FriendRequestAction action, DateTimeOffset now, EventContext context,
        CancellationToken cancellationToken) =>
        db.WriteAsync(async (connection, transaction) =>
        {
            var request = (await connection.QuerySingleOrDefaultAsync<SqliteRequestRow>(new CommandDefinition(
                $"SELECT {SqliteRequestRow.RequestColumns} FROM friend_requests r WHERE r.id = @id", new { id = requestId.ToString() }, transaction,
                cancellationToken: cancellationToken)))?.ToRequest();
            if (request is null || !SocialRules.MayResolve(action, actorId, request))
            {
                return null;
            }

            await ResolveAsync(connection, transaction, request, actorId, action, now, context, cancellationToken);
            return request;
        }, cancellationToken);

    public Task<UsernamePage<FriendRequestEntry>> ListFriendRequestsAsync(Guid userId, FriendRequestDirection direction, UsernameCursor? after, int limit,
        CancellationToken cancellationToken)
    {
        var (mine, theirs) = direction == FriendRequestDirection.Incoming ? ("recipient_id", "sender_id") : ("sender_id", "recipient_id");
        return PageAsync<SqliteRequestRow, FriendRequestEntry>($"""
            SELECT {SqliteProfileRow.Columns}, {SqliteRequestRow.RequestColumns}
            FROM friend_requests r JOIN users u ON u.id = r.{theirs}
            WHERE r.{mine} = @me
            """, userId, after, limit, r => new FriendRequestEntry(r.ToRequest(), r.ToProfile()), cancellationToken);
    }

    public Task<UsernamePage<FriendEntry>> ListFriendsAsync(Guid userId, UsernameCursor? after, int limit, CancellationToken cancellationToken) =>
        PageAsync<SqliteProfileRow, FriendEntry>($"""
            SELECT {SqliteProfileRow.Columns}, f.created_at AS At
            FROM friendships f JOIN users u ON u.id = CASE WHEN f.user_low = @me THEN f.user_high ELSE f.user_low END
            WHERE (f.user_low = @me OR f.user_high = @me)
            """, userId, after, limit, r => new FriendEntry(r.ToProfile(), r.AtTime), cancellationToken);

    public Task<bool> RemoveFriendAsync(Guid userId, Guid friendId, DateTimeOffset now, EventContext context, CancellationToken cancellationToken) =>
        db.WriteAsync(async (connection, transaction) =>
        {
            if (!await DeleteFriendshipAsync(connection, transaction, userId, friendId, cancellationToken))
            {
                return false;
            }

            await SqliteOutbox.AppendAsync(connection, transaction, ChangeEvents.FriendRemoved(userId, friendId, now, context), cancellationToken);
            return true;
        }, cancellationToken);

    public Task<bool> AreFriendsAsync(Guid a, Guid b, CancellationToken cancellationToken)
    {
        var (low, high) = Pair(a, b);
        return db.ReadAsync(async connection => await connection.ExecuteScalarAsync<long>(new CommandDefinition(
            "SELECT count(*) FROM friendships WHERE user_low = @low AND user_high = @high", new { low, high }, cancellationToken: cancellationToken)) > 0, cancellationToken);
    }

    public Task<BlockResult> BlockAsync(Guid blockerId, Guid blockedId, DateTimeOffset now, EventContext context, CancellationToken cancellationToken) =>
        db.WriteAsync(async (connection, transaction) =>
        {
            var state = await PairAsync(connection, transaction, blockerId, blockedId, cancellationToken);
            if (!state.OtherExists)
            {
                return new BlockResult(BlockOutcome.UserNotFound, default, false, null);
            }

            var inserted = await connection.ExecuteAsync(new CommandDefinition("""
                INSERT INTO user_blocks (blocker_id, blocked_id, created_at) VALUES (@blocker, @blocked, @at) ON CONFLICT DO NOTHING
                """, new { blocker = blockerId.ToString(), blocked = blockedId.ToString(), at = SqliteTime.Ms(now) }, transaction, cancellationToken: cancellationToken));
            if (inserted == 0)
            {
                var since = await connection.ExecuteScalarAsync<long>(new CommandDefinition(
                    "SELECT created_at FROM user_blocks WHERE blocker_id = @blocker AND blocked_id = @blocked",
                    new { blocker = blockerId.ToString(), blocked = blockedId.ToString() }, transaction, cancellationToken: cancellationToken));
                return new BlockResult(BlockOutcome.AlreadyBlocked, SqliteTime.FromMs(since), false, null);
            }

            var friendshipRemoved = await DeleteFriendshipAsync(connection, transaction, blockerId, blockedId, cancellationToken);
            if (state.Pending is not null)
            {
                await connection.ExecuteAsync(new CommandDefinition("DELETE FROM friend_requests WHERE id = @id", new { id = state.Pending.Id.ToString() }, transaction,
                    cancellationToken: cancellationToken));
            }

            var result = new BlockResult(BlockOutcome.Blocked, SqliteTime.FromMs(SqliteTime.Ms(now)), friendshipRemoved, state.Pending);
            await SqliteOutbox.AppendAsync(connection, transaction, ChangeEvents.Block(DomainEventTypes.UserBlocked, blockerId, blockedId, result, now, context), cancellationToken);
            return result;
        }, cancellationToken);

    public Task<bool> UnblockAsync(Guid blockerId, Guid blockedId, DateTimeOffset now, EventContext context, CancellationToken cancellationToken) =>
        db.WriteAsync(async (connection, transaction) =>
        {
            if (await connection.ExecuteAsync(new CommandDefinition("DELETE FROM user_blocks WHERE blocker_id = @blocker AND blocked_id = @blocked",
                new { blocker = blockerId.ToString(), blocked = blockedId.ToString() }, transaction, cancellationToken: cancellationToken)) == 0)
            {
                return false;
            }

            await SqliteOutbox.AppendAsync(connection, transaction, ChangeEvents.Block(DomainEventTypes.UserUnblocked, blockerId, blockedId, null, now, context), cancellationToken);
            return true;
        }, cancellationToken);

    public Task<UsernamePage<BlockEntry>> ListBlocksAsync(Guid blockerId, UsernameCursor? after, int limit, CancellationToken cancellationToken) =>
        PageAsync<SqliteProfileRow, BlockEntry>($"""
            SELECT {SqliteProfileRow.Columns}, b.created_at AS At
            FROM user_blocks b JOIN users u ON u.id = b.blocked_id
            WHERE b.blocker_id = @me
            """, blockerId, after, limit, r => new BlockEntry(r.ToProfile(), r.AtTime), cancellationToken);

    public Task<bool> IsBlockedAsync(Guid a, Guid b, CancellationToken cancellationToken) =>
        db.ReadAsync(async connection => await connection.ExecuteScalarAsync<long>(new CommandDefinition(
            "SELECT count(*) FROM user_blocks WHERE (blocker_id = @a AND blocked_id = @b) OR (blocker_id = @b AND blocked_id = @a)",
            new { a = a.ToString(), b = b.ToString() }, cancellationToken: cancellationToken)) > 0, cancellationToken);

    /// <summary>One page of a list of users: <paramref name="query"/> selects them (for <c>@me</c>), this pages it by username.</summary>
    private Task<UsernamePage<T>> PageAsync<TRow, T>(string query, Guid me, UsernameCursor? after, int limit, Func<TRow, T> map, CancellationToken cancellationToken)
        where TRow : SqliteProfileRow =>
        db.ReadAsync(async connection =>
        {
            var rows = await connection.QueryAsync<TRow>(new CommandDefinition($"{query} AND (@after IS NULL OR u.username > @after) ORDER BY u.username LIMIT @take",
                new { me = me.ToString(), after = after?.AfterUsername, take = limit + 1 }, cancellationToken: cancellationToken));
            var page = UsernamePage<TRow>.From([.. rows], limit, r => r.Username);
            return new UsernamePage<T>([.. page.Items.Select(map)], page.Next);
        }, cancellationToken);

    private static (string Low, string High) Pair(Guid a, Guid b)
    {
        var (low, high) = SocialRules.Pair(a, b);
        return (low.ToString(), high.ToString());
    }

    private static async Task<PairState> PairAsync(SqliteConnection connection, SqliteTransaction transaction, Guid me, Guid other, CancellationToken cancellationToken)
    {
        var (low, high) = Pair(me, other);
        var args = new { me = me.ToString(), other = other.ToString(), low, high };
        var (exists, blocked, friends) = await connection.QuerySingleAsync<(long, long, long)>(new CommandDefinition("""
            SELECT EXISTS (SELECT 1 FROM users WHERE id = @other),
                   EXISTS (SELECT 1 FROM user_blocks WHERE (blocker_id = @me AND blocked_id = @other) OR (blocker_id = @other AND blocked_id = @me)),
                   EXISTS (SELECT 1 FROM friendships WHERE user_low = @low AND user_high = @high)
            """, args, transaction, cancellationToken: cancellationToken));
        var pending = await connection.QuerySingleOrDefaultAsync<SqliteRequestRow>(new CommandDefinition(
            $"SELECT {SqliteRequestRow.RequestColumns} FROM friend_requests r WHERE r.user_low = @low AND r.user_high = @high", args, transaction,
            cancellationToken: cancellationToken));
        return new PairState(exists != 0, blocked != 0, friends != 0, pending?.ToRequest());
    }

    private static async Task ResolveAsync(SqliteConnection connection, SqliteTransaction transaction, FriendRequestRecord request, Guid actorId,
        FriendRequestAction action, DateTimeOffset now, EventContext context, CancellationToken cancellationToken)
    {
        await connection.ExecuteAsync(new CommandDefinition("DELETE FROM friend_requests WHERE id = @id", new { id = request.Id.ToString() }, transaction,
            cancellationToken: cancellationToken));
        if (action == FriendRequestAction.Accept)
        {
            var (low, high) = Pair(request.SenderId, request.RecipientId);
            await connection.ExecuteAsync(new CommandDefinition(
                "INSERT INTO friendships (user_low, user_high, created_at) VALUES (@low, @high, @at) ON CONFLICT DO NOTHING",
                new { low, high, at = SqliteTime.Ms(now) }, transaction, cancellationToken: cancellationToken));
        }

        await SqliteOutbox.AppendAsync(connection, transaction, ChangeEvents.FriendRequest(SocialRules.EventType(action), request, actorId, now, context), cancellationToken);
    }

    private static async Task<bool> DeleteFriendshipAsync(SqliteConnection connection, SqliteTransaction transaction, Guid a, Guid b, CancellationToken cancellationToken)
    {
        var (low, high) = Pair(a, b);
        return await connection.ExecuteAsync(new CommandDefinition("DELETE FROM friendships WHERE user_low = @low AND user_high = @high", new { low, high }, transaction,
            cancellationToken: cancellationToken)) > 0;
    }
}
