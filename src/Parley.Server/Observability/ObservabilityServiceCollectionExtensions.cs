using Microsoft.Extensions.Diagnostics.HealthChecks;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using Parley.Hosting;
using Parley.Server.Hosting;

namespace Parley.Server.Observability;

public static class ObservabilityServiceCollectionExtensions
{
    /// <summary>
    /// Metrics (Prometheus scraping always, OTLP when <c>Parley:Telemetry:OtlpEndpoint</c> is set), traces (only with an
    /// OTLP endpoint) and the readiness checks with their thresholds under <c>Parley:Health</c>.
    /// </summary>
    public static WebApplicationBuilder AddParleyObservability(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddValidatedSettings<HealthOptions>(builder.Configuration, HealthOptions.Section, o => o.Validate());
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
                    .AddMeter("Microsoft.AspNetCore.Hosting", "Microsoft.AspNetCore.Server.Kestrel", "Microsoft.AspNetCore.Http.Connections", "System.Runtime")
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

        services.AddHealthChecks()
            // A store outage degrades but does not fail readiness: the ingress keeps accepting into the log (E3).
            .AddCheck<StoreHealthCheck>("store", failureStatus: HealthStatus.Degraded, tags: ["ready"])
            // The log unreachable means the ingress cannot accept: that, and only that, is unhealthy.
            .AddCheck<LogHealthCheck>("log", tags: ["ready"])
            .AddCheck<ConsumerLoopsHealthCheck>("consumers", tags: ["ready"])
            .AddCheck<PipelineHealthCheck>("pipeline", tags: ["ready"]);
        return builder;
    }
}
