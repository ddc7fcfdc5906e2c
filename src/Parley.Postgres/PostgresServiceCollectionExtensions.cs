using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Npgsql;
using Parley.Core.Ports;
using Parley.Hosting;

namespace Parley.Postgres;

public static class PostgresServiceCollectionExtensions
{
    /// <summary>
    /// The PostgreSQL store on <c>Parley:Postgres</c>: one pooled <see cref="NpgsqlDataSource"/> (built without I/O),
    /// migrated by <see cref="PostgresStarter"/> as the host starts unless disabled.
    /// </summary>
    public static IHostApplicationBuilder AddParleyPostgres(this IHostApplicationBuilder builder)
    {
        builder.Services.AddValidatedSettings<PostgresOptions>(builder.Configuration, PostgresOptions.Section, o => o.Validate());
        builder.Services.AddSingleton(sp => PostgresDataSource.Create(sp.GetRequiredService<IOptions<PostgresOptions>>().Value));
        builder.Services.AddHostedService<PostgresStarter>();
        builder.Services.AddSingleton(sp => new PostgresMessageStore(sp.GetRequiredService<NpgsqlDataSource>(), sp.GetService<TimeProvider>()));
        builder.Services.AddSingleton<IUserStore, PostgresUserStore>();
        builder.Services.AddSingleton<ISessionStore, PostgresSessionStore>();
        builder.Services.AddSingleton<IConversationStore, PostgresConversationStore>();
        builder.Services.AddSingleton<IMessageStore>(sp => sp.GetRequiredService<PostgresMessageStore>());
        builder.Services.AddSingleton<IReceiptStore>(sp => new PostgresReceiptStore(sp.GetRequiredService<NpgsqlDataSource>(), sp.GetService<TimeProvider>()));
        builder.Services.AddSingleton<IDomainEventStore, PostgresDomainEventStore>();
        builder.Services.AddSingleton<ISocialStore, PostgresSocialStore>();
        builder.Services.AddSingleton<IPersonalStore, PostgresPersonalStore>();
        builder.Services.AddSingleton<IReportStore, PostgresReportStore>();
        builder.Services.AddSingleton<IScheduledMessageStore, PostgresScheduledMessageStore>();
        builder.Services.AddSingleton<IPushDeviceStore, PostgresPushDeviceStore>();
        builder.Services.AddSingleton<PostgresWebhookStore>();
        builder.Services.AddSingleton<IWebhookStore>(sp => sp.GetRequiredService<PostgresWebhookStore>());
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IDeadLetterKind, PostgresWebhookStore>(sp => sp.GetRequiredService<PostgresWebhookStore>()));
        builder.Services.AddSingleton<IReadModelStore, PostgresReadModelStore>();
        builder.Services.AddSingleton<IReconciliationStore, PostgresReconciliationStore>();
        builder.Services.AddSingleton<ITransientErrorClassifier, PostgresTransientErrors>();
        builder.Services.AddHealthChecks().AddCheck<PostgresHealthCheck>("postgres", failureStatus: HealthStatus.Degraded, tags: ["ready"]);
        return builder;
    }
}

/// <summary>Readiness: a round trip to PostgreSQL through the pool (the AspNetCore.HealthChecks.NpgSql package is too old here).</summary>
public sealed class PostgresHealthCheck(NpgsqlDataSource dataSource) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            await using var command = dataSource.CreateCommand("SELECT 1");
            await command.ExecuteScalarAsync(cancellationToken);
            return HealthCheckResult.Healthy("PostgreSQL reachable");
        }
        catch (Exception ex) when (ex is NpgsqlException or TimeoutException)
        {
            return new HealthCheckResult(context.Registration.FailureStatus, "PostgreSQL unreachable", ex);
        }
    }
}

/// <summary>Npgsql's own verdict (connection failures, timeouts, serialization failures), plus a server shutting down.</summary>
public sealed class PostgresTransientErrors : ITransientErrorClassifier
{
    public bool IsTransient(Exception exception) =>
        exception is NpgsqlException { IsTransient: true }
        || exception is PostgresException { SqlState: "57P01" or "57P02" or "57P03" or "53300" };
}
