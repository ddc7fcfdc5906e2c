using Npgsql;

namespace Parley.Postgres;

/// <summary>How the store's <see cref="NpgsqlDataSource"/> is built: every port class of this engine shares one.</summary>
public static class PostgresDataSources
{
    /// <summary>A data source whose connections use <paramref name="schema"/>; migrations applied when asked.</summary>
    public static async Task<NpgsqlDataSource> CreateDataSourceAsync(string connectionString, string schema, bool migrate, CancellationToken cancellationToken)
    {
        // Auto-prepare: the hot statements are few and repeated, so they are parsed and planned once per connection.
        var builder = new NpgsqlConnectionStringBuilder(connectionString) { SearchPath = schema };
        if (builder.MaxAutoPrepare == 0)
        {
            builder.MaxAutoPrepare = 32;
        }

        var dataSource = NpgsqlDataSource.Create(builder.ConnectionString);
        if (migrate)
        {
            await PostgresMigrations.ApplyAsync(dataSource, schema, cancellationToken);
        }

        return dataSource;
    }
}
