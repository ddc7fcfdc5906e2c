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
}
