using Microsoft.Extensions.Caching.Memory;

namespace Parley.Server.Messaging;

/// <summary>
/// The messages reactions and votes were made to a moment ago, as the ingress found them in the store: a hot message (a
/// flood of reactions or votes) is read once every <see cref="Ttl"/> instead of once per change, which took a store
/// round trip out of every such change's ack (docs/benchmarks.md, issue 15: acks at 2,000 reactions/s on one message
/// went from saturated to keeping up). Edits, deletes and pins still read the store each time.
/// Only what cannot change is relied on (conversation, sender, acceptance time, poll definition); "deleted" can go
/// stale, so this node forgets a message as soon as its worker applies a delete of it, and another node's entry is at
/// most <see cref="Ttl"/> old. A change accepted against a stale entry is refused or left unchanged when it is applied
/// (a delete wins), never applied to a deleted message.
/// </summary>
public sealed class RecentTargets(IMemoryCache cache)
{
    public static readonly TimeSpan Ttl = TimeSpan.FromSeconds(2);

    public bool TryGet<T>(Guid messageId, out T? target) where T : class => cache.TryGetValue(Key(messageId), out target);

    public void Remember<T>(Guid messageId, T target) where T : class => cache.Set(Key(messageId), target, Ttl);

    public void Forget(Guid messageId) => cache.Remove(Key(messageId));

    private static (string, Guid) Key(Guid messageId) => ("change-target", messageId);
}
