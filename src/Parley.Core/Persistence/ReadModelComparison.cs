using Parley.Core.Ports;

namespace Parley.Core.Persistence;

/// <summary>Compares a store's read models with the projection's; the same on every engine.</summary>
public static class ReadModelComparison
{
    public const string Conversations = "conversations";
    public const string Members = "members";
    public const string Messages = "messages";

    /// <summary>
    /// <paramref name="current"/> as the store holds it, against <paramref name="projection"/> after every event. Only what the
    /// events cover is compared: a conversation they created, its current members, the messages they stored.
    /// </summary>
    public static ReadModelReport Compare(ReadModelSet current, ReadModelProjection projection, bool applied)
    {
        var projected = projection.Result();
        var conversationChanges = new Dictionary<Guid, ConversationReadModel>();
        var memberChanges = new Dictionary<(Guid, Guid), MemberReadModel>();
        var messageChanges = new Dictionary<Guid, MessageReadModel>();

        var conversations = Check(Conversations, current.Conversations, id => projected.Conversations.TryGetValue(id, out var p) ? p : null,
            id => id.ToString(), conversationChanges);
        var members = Check(Members, current.Members, key => projected.Members.TryGetValue(key, out var p) ? p : null,
            key => $"{key.Item1}/{key.Item2}", memberChanges);

        // A message with empty counters is absent from both sides: compare the union, an absent one as empty.
        var messageIds = current.Messages.Keys.Union(projected.Messages.Keys);
        var examined = 0;
        var uncovered = 0;
        var drifts = new List<ReadModelDrift>();
        foreach (var id in messageIds)
        {
            if (!projection.Knows(id))
            {
                uncovered++;
                continue;
            }

            examined++;
            var now = current.Messages.GetValueOrDefault(id);
            var then = projected.Messages.GetValueOrDefault(id);
            if (now != then)
            {
                drifts.Add(new ReadModelDrift(Messages, id.ToString(), now.ToString(), then.ToString()));
                messageChanges[id] = then;
            }
        }

        return new ReadModelReport(
            [conversations, members, new ReadModelCheck(Messages, examined, uncovered, drifts)],
            new ReadModelSet(conversationChanges, memberChanges, messageChanges), projection.EventsApplied, applied);
    }

    private static ReadModelCheck Check<TKey, TValue>(string model, IReadOnlyDictionary<TKey, TValue> current, Func<TKey, TValue?> projected,
        Func<TKey, string> name, Dictionary<TKey, TValue> changes)
        where TKey : notnull
        where TValue : struct
    {
        var examined = 0;
        var uncovered = 0;
        var drifts = new List<ReadModelDrift>();
        foreach (var (key, value) in current)
        {
            if (projected(key) is not { } then)
            {
                uncovered++;
                continue;
            }

            examined++;
            if (!EqualityComparer<TValue>.Default.Equals(value, then))
            {
                drifts.Add(new ReadModelDrift(model, name(key), value.ToString()!, then.ToString()!));
                changes[key] = then;
            }
        }

        return new ReadModelCheck(model, examined, uncovered, drifts);
    }
}
