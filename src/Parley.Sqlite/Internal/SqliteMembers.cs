using Microsoft.Data.Sqlite;

namespace Parley.Sqlite.Internal;

internal static class SqliteMembers
{
    /// <summary>
    /// The members of each conversation in join order (joined_at, user id), in one read for any number of conversations;
    /// with <paramref name="sides"/>, the same read also collects the sides of the members that have one (context
    /// conversations), which the persist batch records on each message.
    /// </summary>
    public static async Task<Dictionary<Guid, List<Guid>>> LoadAsync(SqliteConnection connection, SqliteTransaction? transaction, IEnumerable<Guid> conversationIds,
        CancellationToken cancellationToken, Dictionary<Guid, Dictionary<Guid, string>>? sides = null)
    {
        var members = new Dictionary<Guid, List<Guid>>();
        await using var command = SqliteDatabase.Command(connection,
            "SELECT conversation_id, user_id, side FROM participants WHERE conversation_id IN (SELECT value FROM json_each($ids)) ORDER BY joined_at, user_id", transaction);
        command.Parameters.AddWithValue("$ids", SqliteRows.GuidsJson(conversationIds));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            var id = Guid.Parse(reader.GetString(0));
            if (!members.TryGetValue(id, out var list))
            {
                members[id] = list = [];
            }

            var user = Guid.Parse(reader.GetString(1));
            list.Add(user);
            if (sides is not null && !reader.IsDBNull(2))
            {
                (sides.TryGetValue(id, out var of) ? of : sides[id] = [])[user] = reader.GetString(2);
            }
        }

        return members;
    }
}
