using System.Collections.Concurrent;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;
using Parley.Core.Ports;
using Parley.Hosting;
using Parley.Server.Http;

namespace Parley.Server.Messaging;

/// <summary><c>Parley:Admins</c>: the user names of the server admins, who see and resolve every report (M9).</summary>
public sealed partial class ModerationOptions
{
    public const string Section = ParleyOptions.Section;

    public string[] Admins { get; set; } = [];

    /// <summary>The names as the user store keeps them (lower case), each once.</summary>
    public IReadOnlyList<string> NormalizedAdmins() => [.. Admins.Select(a => a.Trim().ToLowerInvariant()).Distinct(StringComparer.Ordinal)];

    public IEnumerable<string> Validate()
    {
        for (var i = 0; i < Admins.Length; i++)
        {
            var name = Admins[i]?.Trim() ?? "";
            if (name.Length is < 3 or > 32 || !UsernamePattern().IsMatch(name))
            {
                yield return $"{Section}:Admins:{i} must be a user name (3 to 32 characters: letters, digits, '.', '_' or '-'; was '{Admins[i]}').";
            }
        }
    }

    [GeneratedRegex("^[A-Za-z0-9._-]+$")]
    private static partial Regex UsernamePattern();
}

/// <summary>
/// Who the server admins are: the configured names resolved to user ids through the user store, lazily (no I/O at
/// start) and cached. A name that resolved stays resolved (a user name never changes hands: there is no renaming and
/// no account deletion); a name nobody has registered yet is looked up again at most every <see cref="RetryUnknown"/>,
/// so an admin who registers after the start is one within seconds, and a caller who is not an admin costs no I/O once
/// every name is known.
/// </summary>
public sealed class ServerAdmins(IUserStore users, IOptions<ModerationOptions> options, TimeProvider time)
{
    public static readonly TimeSpan RetryUnknown = TimeSpan.FromSeconds(2);

    private readonly ConcurrentDictionary<string, Guid> _resolved = new(StringComparer.Ordinal);
    private long _nextLookupAt;

    public async ValueTask<bool> IsAdminAsync(Guid userId, CancellationToken cancellationToken)
    {
        if (_resolved.Values.Contains(userId))
        {
            return true;
        }

        var names = options.Value.NormalizedAdmins();
        if (_resolved.Count == names.Count || time.GetTimestamp() < Interlocked.Read(ref _nextLookupAt))
        {
            return false;
        }

        Interlocked.Exchange(ref _nextLookupAt, time.GetTimestamp() + (long)(RetryUnknown.TotalSeconds * time.TimestampFrequency));
        foreach (var name in names.Where(n => !_resolved.ContainsKey(n)))
        {
            if (await users.FindByUsernameAsync(name, cancellationToken) is { } user)
            {
                _resolved[name] = user.Id;
            }
        }

        return _resolved.Values.Contains(userId);
    }
}

public static class ServerAdminEndpoints
{
    /// <summary>
    /// Every <c>/api/v1/admin/…</c> endpoint: signed in, and a server admin (<c>Parley:Admins</c>), else 403 FORBIDDEN
    /// before the handler runs.
    /// </summary>
    public static RouteHandlerBuilder RequireServerAdmin(this RouteHandlerBuilder endpoint) =>
        endpoint.RequireAuthorization().WithTags("Admin").WithErrors(Parley.Core.Errors.ErrorCodes.Forbidden).AddEndpointFilter(static async (context, next) =>
        {
            var http = context.HttpContext;
            var admins = http.RequestServices.GetRequiredService<ServerAdmins>();
            if (!await admins.IsAdminAsync(Parley.Server.Auth.CurrentUser.Id(http.User), http.RequestAborted))
            {
                throw Parley.Core.Errors.Errors.Forbidden("Only server admins (Parley:Admins) may use the admin API").ToException();
            }

            return await next(context);
        });
}
