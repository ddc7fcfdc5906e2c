using Parley.Core.Events;

namespace Parley.Core.Ports;

/// <summary>Accounts. Writes record their domain event in the same transaction (docs/architecture.md, domain events).</summary>
public interface IUserStore
{
    /// <summary>False when the (normalized) username is taken; then nothing is written and no event recorded.</summary>
    Task<bool> CreateUserAsync(UserRecord user, EventContext context, CancellationToken cancellationToken);

    Task<UserRecord?> FindByUsernameAsync(string normalizedUsername, CancellationToken cancellationToken);

    Task<UserRecord?> GetUserAsync(Guid userId, CancellationToken cancellationToken);

    /// <summary>
    /// Applies <paramref name="change"/> and records <c>user.updated</c>, in one transaction. An email another user has
    /// (compared lower-cased) is <see cref="ProfileChangeOutcome.EmailTaken"/> and writes nothing.
    /// </summary>
    Task<ProfileChangeResult> ChangeProfileAsync(Guid userId, ProfileChange change, DateTimeOffset now, EventContext context, CancellationToken cancellationToken);

    /// <summary>The subset of <paramref name="userIds"/> that exist.</summary>
    Task<IReadOnlySet<Guid>> ExistingUsersAsync(IReadOnlyCollection<Guid> userIds, CancellationToken cancellationToken);

    /// <summary>
    /// Users whose username or folded display name starts with the query's prefix, or whose email key is the query's,
    /// by username after <paramref name="after"/>; never <paramref name="callerId"/> nor a user either of the two blocked.
    /// A user carries their email only when it is the one the query named.
    /// </summary>
    Task<UsernamePage<UserProfile>> SearchUsersAsync(Guid callerId, Validation.UserQuery query, UsernameCursor? after, int limit, CancellationToken cancellationToken);

    /// <summary>
    /// Writes the folded display name of users that have none (rows from before migration 005 with non-ASCII names),
    /// <paramref name="batchSize"/> at a time; idempotent. Returns how many rows it filled.
    /// </summary>
    Task<int> BackfillSearchKeysAsync(int batchSize, CancellationToken cancellationToken);
}
