using System.Reflection;

namespace Parley.Sqlite;

/// <summary>A numbered schema script; the number is what schema_migrations records, so it never changes once released.</summary>
public sealed record SqliteMigration(int Version, string Name, string Sql);

/// <summary>
/// The embedded engine's schema as ordered .sql files (Migrations/Store/NNN_name.sql for parley.db,
/// Migrations/Log/NNN_name.sql for log.db, Migrations/Push/NNN_name.sql for push.db), embedded in the assembly like PostgreSQL's.
/// </summary>
public static class SqliteMigrations
{
    public static IReadOnlyList<SqliteMigration> Store { get; } = Load("Store");

    public static IReadOnlyList<SqliteMigration> Log { get; } = Load("Log");

    public static IReadOnlyList<SqliteMigration> Push { get; } = Load("Push");

    private static List<SqliteMigration> Load(string folder)
    {
        var assembly = Assembly.GetExecutingAssembly();
        var prefix = $".Migrations.{folder}.";
        var migrations = assembly.GetManifestResourceNames()
            .Where(n => n.Contains(prefix, StringComparison.Ordinal) && n.EndsWith(".sql", StringComparison.Ordinal))
            .Select(n =>
            {
                var file = n[(n.IndexOf(prefix, StringComparison.Ordinal) + prefix.Length)..^".sql".Length];
                using var reader = new StreamReader(assembly.GetManifestResourceStream(n)!);
                return new SqliteMigration(int.Parse(file[..3], System.Globalization.CultureInfo.InvariantCulture), file, reader.ReadToEnd());
            })
            .OrderBy(m => m.Version)
            .ToList();
        if (migrations.Count == 0 || migrations.Select(m => m.Version).Distinct().Count() != migrations.Count)
        {
            throw new InvalidOperationException($"The embedded {folder} migrations are missing or numbered twice.");
        }

        return migrations;
    }
}
