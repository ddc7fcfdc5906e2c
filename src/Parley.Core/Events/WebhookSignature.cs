using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Parley.Core.Events;

/// <summary>
/// How Parley signs what it POSTs to other systems (webhooks, E5, and the generic push gateway, P5): HMAC-SHA256 with a
/// shared secret over <c>{timestamp}.{body}</c>, sent as <c>Parley-Signature: t={unix seconds},v1={hex}</c>. The
/// timestamp is inside the signed text, so a receiver that rejects old timestamps (see <see cref="Verify"/>) cannot be
/// fed a recorded request again later. docs/webhooks.md shows a receiver's side.
/// </summary>
public static class WebhookSignature
{
    public const string Header = "Parley-Signature";

    /// <summary>How far a timestamp may be from the receiver's clock by default: long enough for clock skew and retries in flight.</summary>
    public static readonly TimeSpan DefaultTolerance = TimeSpan.FromMinutes(5);

    /// <summary>The header value for <paramref name="body"/> sent at <paramref name="timestamp"/>.</summary>
    public static string Sign(ReadOnlySpan<byte> secret, DateTimeOffset timestamp, ReadOnlySpan<byte> body)
    {
        var seconds = timestamp.ToUnixTimeSeconds();
        return $"t={seconds.ToString(CultureInfo.InvariantCulture)},v1={Convert.ToHexStringLower(Mac(secret, seconds, body))}";
    }

    public static string Sign(string secret, DateTimeOffset timestamp, ReadOnlySpan<byte> body) => Sign(Encoding.UTF8.GetBytes(secret), timestamp, body);

    /// <summary>
    /// True when <paramref name="header"/> carries a v1 signature of <paramref name="body"/> under <paramref name="secret"/>
    /// and its timestamp is within <paramref name="tolerance"/> of <paramref name="now"/>. Several v1 values are allowed
    /// (a secret being rotated signs with both); the comparison takes the same time whatever it finds.
    /// </summary>
    public static bool Verify(string secret, string? header, ReadOnlySpan<byte> body, DateTimeOffset now, TimeSpan tolerance)
    {
        if (string.IsNullOrEmpty(header))
        {
            return false;
        }

        long? seconds = null;
        var signatures = new List<byte[]>();
        foreach (var part in header.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            if (part.StartsWith("t=", StringComparison.Ordinal)
                && long.TryParse(part.AsSpan(2), NumberStyles.None, CultureInfo.InvariantCulture, out var t))
            {
                seconds = t;
            }
            else if (part.StartsWith("v1=", StringComparison.Ordinal) && part.Length == 3 + 64)
            {
                try
                {
                    signatures.Add(Convert.FromHexString(part.AsSpan(3)));
                }
                catch (FormatException)
                {
                    // Not hex: not a signature of ours; the others may still match.
                }
            }
        }

        if (seconds is not { } at || signatures.Count == 0
            || Math.Abs(now.ToUnixTimeSeconds() - at) > (long)tolerance.TotalSeconds)
        {
            return false;
        }

        var expected = Mac(Encoding.UTF8.GetBytes(secret), at, body);
        var match = false;
        foreach (var signature in signatures)
        {
            match |= CryptographicOperations.FixedTimeEquals(signature, expected);
        }

        return match;
    }

    private static byte[] Mac(ReadOnlySpan<byte> secret, long seconds, ReadOnlySpan<byte> body)
    {
        var prefix = Encoding.ASCII.GetBytes(seconds.ToString(CultureInfo.InvariantCulture) + ".");
        var signed = new byte[prefix.Length + body.Length];
        prefix.CopyTo(signed, 0);
        body.CopyTo(signed.AsSpan(prefix.Length));
        return HMACSHA256.HashData(secret, signed);
    }
}
