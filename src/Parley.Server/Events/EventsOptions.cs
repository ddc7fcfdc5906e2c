namespace Parley.Server.Events;

/// <summary>Settings under <c>Parley:Events</c>: how domain event consumers follow the outbox (docs/configuration.md).</summary>
public sealed class EventsOptions
{
    public const string Section = "Parley:Events";

    /// <summary>How long a consumer that has caught up waits before it looks for new events again.</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>Events a consumer is handed at once (and after which its position is saved).</summary>
    public int BatchSize { get; set; } = 256;

    /// <summary>
    /// When set, every domain event is appended to this file as one JSON line (relative paths are taken from the data
    /// directory): an audit trail and a feed for log shippers. Empty: no file.
    /// </summary>
    public string? FilePath { get; set; }

    public IEnumerable<string> Validate()
    {
        if (PollInterval < TimeSpan.FromMilliseconds(10) || PollInterval > TimeSpan.FromMinutes(1))
        {
            yield return $"{Section}:PollInterval must be between 00:00:00.010 and 00:01:00 (was {PollInterval}).";
        }

        if (BatchSize is < 1 or > 10_000)
        {
            yield return $"{Section}:BatchSize must be between 1 and 10000 (was {BatchSize}).";
        }

        if (FilePath is not null && FilePath.Length > 0 && string.IsNullOrWhiteSpace(FilePath))
        {
            yield return $"{Section}:FilePath must be a path or empty (was only whitespace).";
        }
    }
}
