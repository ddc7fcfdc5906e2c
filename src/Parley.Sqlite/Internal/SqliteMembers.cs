using Microsoft.Data.Sqlite;

namespace Parley.Sqlite.Internal;

internal static class SqliteMembers
{
    /// <summary>The members of each conversation in join order (joined_at, user id), in one read for any number of conversations.</summary>
    public static async Task<Dictionary<Guid, List<Guid>>> LoadAsync(SqliteConnection connection, SqliteTransaction? transaction, IEnumerable<Guid> conversationIds, CancellationToken cancellationToken)
    {
        var members = new Dictionary<Guid, List<Guid>>();
        await using var command = SqliteDatabase.Command(connection,
            "SELECT conversation_id, user_id FROM participants WHERE conversation_id IN (SELECT value FROM json_each($ids)) ORDER BY joined_at, user_id", transaction);
        command.Parameters.AddWithValue("$ids", SqliteRows.GuidsJson(conversationIds));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            var id = Guid.Parse(reader.GetString(0));
            if (!members.TryGetValue(id, out var list))
            {
                members[id] = list = [];
            }

            list.Add(Guid.Parse(reader.GetString(1)));
        }

        return members;
    }

    /// <summary>The sides of the members that have one (context conversations), per conversation.</summary>
    public static async Task<Dictionary<Guid, IReadOnlyDictionary<Guid, string>>> LoadSidesAsync(SqliteConnection connection, SqliteTransaction? transaction, IEnumerable<Guid> conversationIds, CancellationToken cancellationToken)
    {
        var sides = new Dictionary<Guid, Dictionary<Guid, string>>();
        await using var command = SqliteDatabase.Command(connection,
            "SELECT conversation_id, user_id, side FROM participants WHERE conversation_id IN (SELECT value FROM json_each($ids)) AND side IS NOT NULL", transaction);
        command.Parameters.AddWithValue("$ids", SqliteRows.GuidsJson(conversationIds));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            var id = Guid.Parse(reader.GetString(0));
            (sides.TryGetValue(id, out var of) ? of : sides[id] = [])[Guid.Parse(reader.GetString(1))] = reader.GetString(2);
        }

        return sides.ToDictionary(s => s.Key, s => (IReadOnlyDictionary<Guid, string>)s.Value);
    }
}
