using System.Reflection;
using Npgsql;

namespace Parley.Postgres;

/// <summary>
/// Ordered, embedded SQL scripts (Migrations/NNN_name.sql) applied once each and recorded in
/// {schema}.schema_migrations. An advisory lock serializes nodes that start together.
/// </summary>
public static class PostgresMigrations
{
    private const long LockKey = 0x5041524C4559; // "PARLEY"

    public static IReadOnlyList<(int Version, string Name, string Sql)> All { get; } = Load();

    public static async Task<int> ApplyAsync(NpgsqlDataSource dataSource, string schema, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using (var setup = new NpgsqlCommand($"""
            SELECT pg_advisory_xact_lock({LockKey});
            CREATE SCHEMA IF NOT EXISTS {schema};
            CREATE TABLE IF NOT EXISTS {schema}.schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now());
            """, connection, transaction))
        {
            await setup.ExecuteNonQueryAsync(cancellationToken);
        }

        int current;
        await using (var read = new NpgsqlCommand($"SELECT COALESCE(MAX(version), 0) FROM {schema}.schema_migrations", connection, transaction))
        {
            current = Convert.ToInt32(await read.ExecuteScalarAsync(cancellationToken), System.Globalization.CultureInfo.InvariantCulture);
        }

        var applied = 0;
        foreach (var (version, name, sql) in All.Where(m => m.Version > current))
        {
            await using var command = new NpgsqlCommand($"SET LOCAL search_path TO {schema};\n{sql}\nINSERT INTO {schema}.schema_migrations (version, name) VALUES ({version}, '{name}');", connection, transaction);
            await command.ExecuteNonQueryAsync(cancellationToken);
            applied++;
        }

        await transaction.CommitAsync(cancellationToken);
        return applied;
    }

    private static List<(int, string, string)> Load()
    {
        var assembly = Assembly.GetExecutingAssembly();
        return assembly.GetManifestResourceNames()
            .Where(n => n.EndsWith(".sql", StringComparison.Ordinal))
            .Select(n =>
            {
                var file = n[(n.IndexOf(".Migrations.", StringComparison.Ordinal) + ".Migrations.".Length)..^".sql".Length];
                using var reader = new StreamReader(assembly.GetManifestResourceStream(n)!);
                return (int.Parse(file[..3], System.Globalization.CultureInfo.InvariantCulture), file, reader.ReadToEnd());
            })
            .OrderBy(m => m.Item1)
            .ToList();
    }
}
