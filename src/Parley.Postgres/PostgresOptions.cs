namespace Parley.Postgres;

/// <summary>Settings under <c>Parley:Postgres</c> (docs/configuration.md).</summary>
public sealed class PostgresOptions
{
    public const string Section = "Parley:Postgres";

    /// <summary>An Npgsql connection string.</summary>
    public string ConnectionString { get; set; } = "";

    /// <summary>The schema Parley owns; every table lives in it.</summary>
    public string Schema { get; set; } = "messaging";

    /// <summary>Apply pending migrations at start. Off when a deployment runs <c>migrate</c> as its own step.</summary>
    public bool MigrateOnStart { get; set; } = true;

    public IEnumerable<string> Validate()
    {
        if (string.IsNullOrWhiteSpace(ConnectionString))
        {
            yield return $"{Section}:ConnectionString is required when Parley:Engine is Production.";
        }

        if (string.IsNullOrWhiteSpace(Schema) || !Schema.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '_'))
        {
            yield return $"{Section}:Schema must be lower-case letters, digits and '_' (was '{Schema}').";
        }
    }
}
