using System.Net.Mail;

namespace Parley.Core.Validation;

/// <summary>What a profile field may hold (M2). Pure rules: the endpoint reads the body, these decide.</summary>
public static class ProfileRules
{
    public const int MaxDisplayName = 64;
    public const int MaxEmail = 254;
    public const int MaxAvatarUrl = 2048;

    /// <summary>The form an address is unique by across users: lower-cased.</summary>
    public static string EmailKey(string email) => email.ToLowerInvariant();

    /// <summary>The address's key (<see cref="EmailKey"/>), or an INVALID_VALUE error naming the field.</summary>
    public static string NormalizeEmail(string email)
    {
        // One address, no display name or comments: "Ann <a@b.c>" parses as a MailAddress but is not an address.
        if (email.Any(char.IsWhiteSpace) || !MailAddress.TryCreate(email, out var parsed) || parsed.Address != email
            || parsed.Host.Length == 0 || !parsed.Host.Contains('.', StringComparison.Ordinal))
        {
            throw Errors.Errors.InvalidValue("email", "must be one email address, like name@example.com").ToException();
        }

        return EmailKey(email);
    }

    public static void RequireAvatarUrl(string url)
    {
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttps && uri.Scheme != Uri.UriSchemeHttp) || uri.Host.Length == 0)
        {
            throw Errors.Errors.InvalidValue("avatarUrl", "must be an absolute http or https URL").ToException();
        }
    }
}
