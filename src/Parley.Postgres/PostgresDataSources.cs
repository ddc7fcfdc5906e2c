using Npgsql;

namespace Parley.Postgres;

/// <summary>For tools and tests that open the store outside a host: the node's data source, migrated when asked.</summary>
public static class PostgresDataSources
{
    public static async Task<NpgsqlDataSource> CreateDataSourceAsync(string connectionString, string schema, bool migrate, CancellationToken cancellationToken)
    {
        var dataSource = PostgresDataSource.Create(new PostgresOptions { ConnectionString = connectionString, Schema = schema });
        if (migrate)
        {
            await PostgresMigrations.ApplyAsync(dataSource, schema, cancellationToken);
        }

        return dataSource;
    }
}
