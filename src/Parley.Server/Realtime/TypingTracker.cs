using System.Collections.Concurrent;

namespace Parley.Server.Realtime;

/// <summary>Typing indicators that are on, with when they lapse. Never persisted.</summary>
public sealed class TypingTracker
{
    private readonly ConcurrentDictionary<(Guid Conversation, Guid User), (DateTimeOffset ExpiresAt, IReadOnlyList<Guid> Members)> _active = new();

    public void Start(Guid conversation, Guid user, IReadOnlyList<Guid> members, DateTimeOffset expiresAt) => _active[(conversation, user)] = (expiresAt, members);

    public bool Stop(Guid conversation, Guid user) => _active.TryRemove((conversation, user), out _);

    public IReadOnlyList<(Guid Conversation, Guid User, IReadOnlyList<Guid> Members)> Expire(DateTimeOffset now)
    {
        var expired = new List<(Guid, Guid, IReadOnlyList<Guid>)>();
        foreach (var (key, value) in _active)
        {
            if (value.ExpiresAt <= now && _active.TryRemove(new KeyValuePair<(Guid, Guid), (DateTimeOffset, IReadOnlyList<Guid>)>(key, value)))
            {
                expired.Add((key.Conversation, key.User, value.Members));
            }
        }

        return expired;
    }
}
