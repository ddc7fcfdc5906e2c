using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Parley.Core.Errors;
using Parley.Core.Ports;
using Parley.Hosting;
using Parley.Server.Auth;
using Parley.Server.Conversations;
using Parley.Server.Embedded;
using Parley.Server.Events;
using Parley.Server.Hosting;
using Parley.Server.Http;
using Parley.Server.Messaging;
using Parley.Server.Observability;
using Parley.Server.Pipeline;
using Parley.Server.Push;
using Parley.Server.Realtime;
using Parley.Server.Social;
using Parley.Server.Webhooks;
using Parley.Postgres;
using Parley.Sqlite;

namespace Parley.Server;

/// <summary>Composition of the server: what Program.cs runs and what the tests host in-process.</summary>
public static class ParleyApp
{
    /// <param name="configure">Runs after Parley's registrations, so a host (or a test) can override any of them.</param>
    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = ConfigurationSources.CreateBuilder(args);
        builder.AddParley();
        configure?.Invoke(builder);
        var app = builder.Build();
        app.MapParley();
        return app;
    }

    /// <summary>Applies pending store migrations for the configured engine and returns the exit code.</summary>
    public static Task<int> MigrateAsync(string[] args) => WithStoreAsync(args,
        async (dataSource, options) =>
        {
            var applied = await PostgresMigrations.ApplyAsync(dataSource, options.Schema, CancellationToken.None);
            Console.WriteLine($"Applied {applied} migration(s) to schema {options.Schema}.");
            return 0;
        },
        async (store, dataDirectory) =>
        {
            await store.MigrateAsync(SqliteMigrations.Store, CancellationToken.None);
            Console.WriteLine($"Embedded store in {dataDirectory} is up to date.");
            return 0;
        });

    /// <summary>
    /// Rebuilds the read models from the outbox (with <c>--check</c>, only compares) and prints what differed; exit code 0,
    /// or 3 when the outbox cannot rebuild them. Writers of a running server wait while it runs.
    /// </summary>
    public static Task<int> RebuildReadModelsAsync(string[] args)
    {
        var check = args.Contains("--check", StringComparer.Ordinal);
        return WithStoreAsync([.. args.Where(a => a != "--check")],
            (dataSource, _) => ReadModelCommand.RunAsync(new PostgresReadModelStore(dataSource), apply: !check, Console.Out),
            (store, _) => ReadModelCommand.RunAsync(new SqliteReadModelStore(store), apply: !check, Console.Out));
    }

    /// <summary>Runs a tool command against the configured engine's store, without starting the server.</summary>
    private static async Task<int> WithStoreAsync(string[] args, Func<Npgsql.NpgsqlDataSource, PostgresOptions, Task<int>> production, Func<SqliteDatabase, string, Task<int>> embedded)
    {
        var builder = ConfigurationSources.CreateBuilder(args);
        var configuration = builder.Configuration;
        var engine = configuration[$"{ParleyOptions.Section}:{nameof(ParleyOptions.Engine)}"] ?? Engines.Embedded;
        if (string.Equals(engine, Engines.Production, StringComparison.OrdinalIgnoreCase))
        {
            var options = configuration.GetSection(PostgresOptions.Section).Get<PostgresOptions>() ?? new PostgresOptions();
            var problems = options.Validate().ToList();
            if (problems.Count > 0)
            {
                await Console.Error.WriteLineAsync(string.Join(Environment.NewLine, problems));
                return 2;
            }

            await using var dataSource = PostgresDataSource.Create(options);
            return await production(dataSource, options);
        }

        var dataDirectory = Path.GetFullPath(configuration[$"{ParleyOptions.Section}:{nameof(ParleyOptions.DataDirectory)}"] ?? "data");
        using var store = new SqliteDatabase(Path.Combine(dataDirectory, "parley.db"));
        return await embedded(store, dataDirectory);
    }

    public static WebApplicationBuilder AddParley(this WebApplicationBuilder builder)
    {
        // Order matters twice: hosted services start in registration order (the engine's starters first) and stop in
        // reverse, and a later registration of a port replaces an earlier one.
        builder.AddParleyHosting();
        builder.AddParleyEngine();
        builder.AddParleyHttp();
        builder.AddParleyAuth();
        builder.AddParleyMessaging();
        builder.AddParleySocial();

        builder.Services.AddParleyRealtime(builder.Configuration);
        builder.Services.AddParleyEvents(builder.Configuration);
        builder.AddParleyWebhooks();
        builder.AddParleyDelivery();
        builder.AddParleyPush();
        builder.AddParleyObservability();
        return builder;
    }

    public static WebApplication MapParley(this WebApplication app)
    {
        app.UseSecurityHeaders();
        app.UseParleyCors();
        app.UseMiddleware<ErrorHandlingMiddleware>();
        app.UseStatusCodePages(static context => context.HttpContext.Response.StatusCode switch
        {
            StatusCodes.Status404NotFound => Problems.WriteAsync(context.HttpContext, Errors.RouteNotFound(context.HttpContext.Request.Path)),
            StatusCodes.Status405MethodNotAllowed => Problems.WriteAsync(context.HttpContext, Errors.MethodNotAllowed(context.HttpContext.Request.Method)),
            StatusCodes.Status401Unauthorized => Problems.WriteAsync(context.HttpContext, Errors.Unauthenticated()),
            StatusCodes.Status413PayloadTooLarge => Problems.WriteAsync(context.HttpContext, Errors.PayloadTooLarge(
                context.HttpContext.RequestServices.GetRequiredService<IOptions<LimitsOptions>>().Value.MaxRequestBodyBytes)),
            StatusCodes.Status415UnsupportedMediaType => Problems.WriteAsync(context.HttpContext, Errors.UnsupportedMediaType(context.HttpContext.Request.ContentType)),
            _ => Task.CompletedTask,
        });
        app.UseAuthentication();
        app.UseAuthorization();
        app.UseRateLimiter();
        app.UseHubConnectionOwners();

        app.MapOpenApi("/openapi/{documentName}.json");
        app.MapParleyApiReference();
        app.MapPrometheusScrapingEndpoint("/metrics");
        app.MapAuthEndpoints();
        app.MapConversationEndpoints();
        app.MapChannelEndpoints();
        app.MapMessageEndpoints();
        app.MapMessageChangeEndpoints();
        app.MapScheduledEndpoints();
        app.MapPersonalEndpoints();
        app.MapReportEndpoints();
        app.MapAdminEventEndpoints();
        app.MapDeadLetterEndpoints();
        app.MapDeviceEndpoints();
        app.MapWebhookEndpoints();
        app.MapAdminReconcileEndpoints();
        app.MapUnreadEndpoints();
        app.MapSocialEndpoints();
        app.MapChatHub();
        app.MapHealthChecks("/health/live", new() { Predicate = _ => false, ResponseWriter = HealthResponse.WriteAsync });
        app.MapHealthChecks("/health/ready", new() { Predicate = c => c.Tags.Contains("ready"), ResponseWriter = HealthResponse.WriteAsync });

        // Load the signing key now: an unreadable key directory should stop the start with a clear message, not fail
        // the first request. Building the engines does no I/O (their starters connect and migrate as the host starts),
        // but building them reads their settings, so a bad one stops the start here, named, before anything runs.
        _ = app.Services.GetRequiredService<IOptions<ParleyOptions>>().Value;
        app.Services.GetRequiredService<SigningKeys>();
        app.Services.GetRequiredService<IMessageLog>();
        app.Services.GetRequiredService<IMessageStore>();
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Parley");
        app.Lifetime.ApplicationStarted.Register(() =>
        {
            var options = app.Services.GetRequiredService<IOptions<ParleyOptions>>().Value;
            var urls = app.Services.GetRequiredService<Microsoft.AspNetCore.Hosting.Server.IServer>().Features.Get<Microsoft.AspNetCore.Hosting.Server.Features.IServerAddressesFeature>()?.Addresses;
            Log.Started(logger, string.Join(", ", urls ?? []), options.Engine, options.ResolvedDataDirectory, app.Services.GetRequiredService<IOptions<LogOptions>>().Value.Partitions);
        });
        return app;
    }
}
