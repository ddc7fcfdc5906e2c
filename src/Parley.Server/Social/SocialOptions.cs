namespace Parley.Server.Social;

/// <summary>Friends and blocks under <c>Parley:Social</c> (M3).</summary>
public sealed class SocialOptions
{
    public const string Section = "Parley:Social";

    /// <summary>When true, a direct conversation can be created only with a friend (403 FRIENDSHIP_REQUIRED otherwise).</summary>
    public bool DirectRequiresFriendship { get; set; }

    /// <summary>
    /// How long a node trusts the block state of a pair it read, for the send path. A block or unblock drops the entry on
    /// every node before its response returns (as membership changes do); this bounds only a node that did not answer.
    /// </summary>
    public TimeSpan BlockCacheTtl { get; set; } = TimeSpan.FromSeconds(30);

    public IEnumerable<string> Validate()
    {
        if (BlockCacheTtl < TimeSpan.Zero || BlockCacheTtl > TimeSpan.FromMinutes(5))
        {
            yield return $"{Section}:BlockCacheTtl must be between 00:00:00 and 00:05:00 (was {BlockCacheTtl}).";
        }
    }
}
