using Npgsql;

namespace Parley.Postgres;

/// <summary>The node's one pooled PostgreSQL data source. Building it does no I/O: connections open on first use.</summary>
public static class PostgresDataSource
{
    public static NpgsqlDataSource Create(PostgresOptions options)
    {
        // Auto-prepare: the hot statements are few and repeated, so they are parsed and planned once per connection.
        var connection = new NpgsqlConnectionStringBuilder(options.ConnectionString) { SearchPath = options.Schema };
        if (connection.MaxAutoPrepare == 0)
        {
            connection.MaxAutoPrepare = 32;
        }

        return new NpgsqlDataSourceBuilder(connection.ConnectionString).Build();
    }
}
