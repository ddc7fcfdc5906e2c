namespace Parley.Hosting;

/// <summary>Top-level settings under <c>Parley</c>.</summary>
public sealed class ParleyOptions
{
    public const string Section = "Parley";

    /// <summary><c>Embedded</c> (SQLite + in-process log) or <c>Production</c> (PostgreSQL store + Redis Streams log).</summary>
    public string Engine { get; set; } = Engines.Embedded;

    /// <summary>Where embedded data and generated keys live; relative paths are taken from the working directory.</summary>
    public string DataDirectory { get; set; } = "data";

    /// <summary>
    /// Whether this node runs the delivery workers (persist, fan out, acknowledge). <c>false</c> makes an
    /// ingress-only node: it accepts into the log, and other nodes (or this one after a restart) deliver.
    /// </summary>
    public bool DeliveryWorkers { get; set; } = true;

    public string ResolvedDataDirectory => Path.GetFullPath(DataDirectory);

    public IEnumerable<string> Validate()
    {
        if (!Engines.All.Contains(Engine, StringComparer.OrdinalIgnoreCase))
        {
            yield return $"{Section}:Engine must be one of {string.Join(", ", Engines.All)} (was '{Engine}').";
        }

        if (string.IsNullOrWhiteSpace(DataDirectory))
        {
            yield return $"{Section}:DataDirectory must not be empty.";
        }
    }
}

public static class Engines
{
    public const string Embedded = "Embedded";
    public const string Production = "Production";

    public static readonly IReadOnlyList<string> All = [Embedded, Production];
}
