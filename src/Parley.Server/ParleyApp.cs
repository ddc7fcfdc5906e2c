using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Identity;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using Parley.Core.Errors;
using Parley.Core.Ports;
using Parley.Server.Auth;
using Parley.Server.Conversations;
using Parley.Server.Events;
using Parley.Server.Hosting;
using Parley.Server.Http;
using Parley.Server.Messaging;
using Parley.Server.Observability;
using Parley.Server.Pipeline;
using Parley.Server.Realtime;
using Parley.Postgres;
using Parley.Redis;
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
    public static async Task<int> MigrateAsync(string[] args)
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

            await using var dataSource = Npgsql.NpgsqlDataSource.Create(options.ConnectionString);
            var applied = await PostgresMigrations.ApplyAsync(dataSource, options.Schema, CancellationToken.None);
            Console.WriteLine($"Applied {applied} migration(s) to schema {options.Schema}.");
            return 0;
        }

        var dataDirectory = Path.GetFullPath(configuration[$"{ParleyOptions.Section}:{nameof(ParleyOptions.DataDirectory)}"] ?? "data");
        using (var store = new SqliteDatabase(Path.Combine(dataDirectory, "parley.db")))
        {
            await store.MigrateAsync(SqliteMigrations.Store, CancellationToken.None);
            Console.WriteLine($"Embedded store in {dataDirectory} is up to date.");
        }

        return 0;
    }

    public static WebApplicationBuilder AddParley(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddValidatedSettings<ParleyOptions>(builder.Configuration, ParleyOptions.Section, o => o.Validate());
        services.AddValidatedSettings<LogOptions>(builder.Configuration, LogOptions.Section, o => o.Validate());
        services.AddValidatedSettings<LimitsOptions>(builder.Configuration, LimitsOptions.Section, o => o.Validate());
        services.AddValidatedSettings<AuthOptions>(builder.Configuration, AuthOptions.Section, o => o.Validate());
        services.AddValidatedSettings<RateLimitOptions>(builder.Configuration, RateLimitOptions.Section, o => o.Validate());
        services.AddValidatedSettings<HealthOptions>(builder.Configuration, HealthOptions.Section, o => o.Validate());

        var engine = builder.Configuration[$"{ParleyOptions.Section}:{nameof(ParleyOptions.Engine)}"] ?? Engines.Embedded;
        if (string.Equals(engine, Engines.Embedded, StringComparison.OrdinalIgnoreCase))
        {
            builder.AddParleySqlite();
        }
        else if (string.Equals(engine, Engines.Production, StringComparison.OrdinalIgnoreCase))
        {
            builder.AddParleyPostgres();
            builder.AddParleyRedis();
        }

        services.AddSingleton(TimeProvider.System);
        services.AddMemoryCache();
        services.AddProblemDetails();
        services.AddParleyCors(builder.Configuration);
        services.AddParleyOpenApi();

        services.AddSingleton(sp => new SigningKeys(
            Path.Combine(sp.GetRequiredService<IOptions<ParleyOptions>>().Value.ResolvedDataDirectory, "keys"),
            sp.GetRequiredService<ILogger<SigningKeys>>()));
        services.AddSingleton<TokenService>();
        services.AddSingleton<KnownUsers>();
        services.AddSingleton<IPasswordHasher<UserRecord>, PasswordHasher<UserRecord>>();
        services.AddOptions<PasswordHasherOptions>().Configure<IOptions<AuthOptions>>((o, auth) => o.IterationCount = auth.Value.PasswordIterations);
        services.AddAuthentication(JwtBearerDefaults.AuthenticationScheme).AddJwtBearer();
        services.AddOptions<JwtBearerOptions>(JwtBearerDefaults.AuthenticationScheme).Configure<SigningKeys, IOptions<AuthOptions>>(ConfigureJwt);
        services.AddAuthorization();

        services.AddRateLimiter(o =>
        {
            o.AddPolicy(AuthEndpoints.RateLimitPolicy, context => RateLimitPartition.GetFixedWindowLimiter(
                context.Connection.RemoteIpAddress?.ToString() ?? "unknown",
                _ => new FixedWindowRateLimiterOptions
                {
                    PermitLimit = context.RequestServices.GetRequiredService<IOptions<RateLimitOptions>>().Value.AuthPerMinute,
                    Window = TimeSpan.FromMinutes(1),
                    QueueLimit = 0,
                }));
            o.OnRejected = (context, _) =>
            {
                var retryAfter = context.Lease.TryGetMetadata(MetadataName.RetryAfter, out var wait) ? wait : TimeSpan.FromSeconds(60);
                return new ValueTask(Problems.WriteAsync(context.HttpContext, Errors.RateLimited(retryAfter)));
            };
        });
        // Endpoints enforce MaxRequestBodyBytes themselves and drain the excess so the 413 is delivered;
        // Kestrel's cap, four times higher, cuts off anything abusive.
        services.AddOptions<KestrelServerOptions>().Configure<IOptions<LimitsOptions>>((k, l) =>
        {
            k.Limits.MaxRequestBodySize = l.Value.MaxRequestBodyBytes * 4;
            // Refusing connections past the descriptor budget keeps the node serving the ones it has.
            (k.Limits.MaxConcurrentConnections, k.Limits.MaxConcurrentUpgradedConnections) = l.Value.ConnectionBudget;
        });

        services.AddSignalR(o => o.AddFilter<ParleyHubFilter>())
            .AddJsonProtocol(o => o.PayloadSerializerOptions.Converters.Add(new HubStringConverter()))
            .AddMessagePackProtocol();
        services.AddQuietHubClientMistakes();
        services.AddOptions<HubOptions>().Configure<IOptions<LimitsOptions>>((h, l) => h.MaximumReceiveMessageSize = l.Value.MaxRealtimeFrameBytes);
        services.AddSingleton<IUserIdProvider, SubjectUserIdProvider>();

        services.AddSingleton<MembershipCache>();
        services.AddSingleton<SendRateLimiter>();
        services.AddSingleton<StoredKeyLookup>();
        services.AddSingleton<MessageIngress>();
        services.AddValidatedSettings<RealtimeOptions>(builder.Configuration, RealtimeOptions.Section, o => o.Validate());
        services.AddSingleton<RealtimeNotifier>();
        services.AddSingleton<RealtimeBus>();
        services.AddSingleton<ConnectionRegistry>();
        services.AddSingleton<TypingTracker>();
        services.AddSingleton<RecoveryPlanner>();
        services.TryAddSingleton<IPresenceStore, InMemoryPresenceStore>();
        services.TryAddSingleton<IRealtimeBus, SingleNodeBus>();
        services.AddHostedService<RealtimeSweeper>();
        services.AddHostedService<RealtimeBusSubscriber>();
        services.AddSingleton<ConsumerLoopRegistry>();
        services.AddSingleton<TransientErrors>();
        services.AddSingleton<ParleyMetrics>();
        services.AddHostedService<LagSampler>();
        // OTLP export (traces and metrics) only when an endpoint is configured; Prometheus scraping is always on.
        var otlp = builder.Configuration["Parley:Telemetry:OtlpEndpoint"];
        if (!string.IsNullOrWhiteSpace(otlp) && !Uri.TryCreate(otlp, UriKind.Absolute, out _))
        {
            throw new InvalidOperationException($"Parley:Telemetry:OtlpEndpoint must be an absolute URI such as http://collector:4317 (was '{otlp}').");
        }

        var telemetry = services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService("parley"))
            .WithMetrics(metrics =>
            {
                metrics.AddMeter(Telemetry.Meters)
                    .AddMeter("Microsoft.AspNetCore.Hosting", "Microsoft.AspNetCore.Server.Kestrel", "Microsoft.AspNetCore.Http.Connections")
                    .AddPrometheusExporter();
                if (!string.IsNullOrWhiteSpace(otlp))
                {
                    metrics.AddOtlpExporter(o => o.Endpoint = new Uri(otlp));
                }
            });
        if (!string.IsNullOrWhiteSpace(otlp))
        {
            // Only with somewhere to send spans: a tracer with no exporter still builds and tags an Activity for every
            // request and message, which cost measurable ingest throughput (docs/benchmarks.md) for nothing.
            telemetry.WithTracing(tracing => tracing.AddSource(ParleyActivities.Sources).AddAspNetCoreInstrumentation()
                .AddOtlpExporter(o => o.Endpoint = new Uri(otlp)));
        }
        services.AddParleyEvents(builder.Configuration);
        services.AddSingleton<PipelineStatus>();
        services.AddSingleton<DeliveryPipeline>();
        services.TryAddSingleton<IPartitionLeases, InProcessPartitionLeases>();
        // Registered before the workers, so it stops after them and hands their leases over once their batches finished.
        services.AddSingleton<PartitionOwnership>();
        services.AddHostedService(sp => sp.GetRequiredService<PartitionOwnership>());
        services.AddHostedService<DeliveryWorker>();

        services.AddHealthChecks()
            // A store outage degrades but does not fail readiness: the ingress keeps accepting into the log (E3).
            .AddCheck<StoreHealthCheck>("store", failureStatus: Microsoft.Extensions.Diagnostics.HealthChecks.HealthStatus.Degraded, tags: ["ready"])
            // The log unreachable means the ingress cannot accept: that, and only that, is unhealthy.
            .AddCheck<LogHealthCheck>("log", tags: ["ready"])
            .AddCheck<ConsumerLoopsHealthCheck>("consumers", tags: ["ready"])
            .AddCheck<PipelineHealthCheck>("pipeline", tags: ["ready"]);
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
        app.MapMessageEndpoints();
        app.MapUnreadEndpoints();
        app.MapChatHub();
        app.MapHealthChecks("/health/live", new() { Predicate = _ => false, ResponseWriter = HealthResponse.WriteAsync });
        app.MapHealthChecks("/health/ready", new() { Predicate = c => c.Tags.Contains("ready"), ResponseWriter = HealthResponse.WriteAsync });

        // Load the signing key and connect the engines now: an unreadable key directory or an unreachable
        // Redis should stop the start with a clear message, not fail the first request.
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

    private static void ConfigureJwt(JwtBearerOptions jwt, SigningKeys keys, IOptions<AuthOptions> auth)
    {
        jwt.MapInboundClaims = false;
        jwt.TokenValidationParameters = new TokenValidationParameters
        {
            ValidIssuer = auth.Value.Issuer,
            ValidAudience = auth.Value.Audience,
            IssuerSigningKeys = keys.ValidationKeys,
            ValidAlgorithms = [SecurityAlgorithms.RsaSha256],
            ClockSkew = TimeSpan.FromSeconds(30),
            NameClaimType = "sub",
        };
        jwt.Events = new JwtBearerEvents
        {
            OnMessageReceived = context =>
            {
                // Browsers cannot set headers on WebSockets; the hub takes the token from the query string.
                var token = context.Request.Query["access_token"];
                if (!string.IsNullOrEmpty(token) && context.HttpContext.Request.Path.StartsWithSegments("/hubs", StringComparison.Ordinal))
                {
                    context.Token = token;
                }

                return Task.CompletedTask;
            },
            OnTokenValidated = KnownUsers.OnTokenValidated,
            OnChallenge = async context =>
            {
                context.HandleResponse();
                var reason = context.AuthenticateFailure switch
                {
                    SecurityTokenExpiredException => "The access token has expired",
                    { Message: KnownUsers.UnknownAccount } => KnownUsers.UnknownAccount,
                    _ => null,
                };
                await Problems.WriteAsync(context.HttpContext, Errors.Unauthenticated(reason));
            },
        };
    }
}
