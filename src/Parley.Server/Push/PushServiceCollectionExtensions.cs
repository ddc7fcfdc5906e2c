using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Parley.Core.Ports;
using Parley.Hosting;
using Parley.Server.Events;

namespace Parley.Server.Push;

public static class PushServiceCollectionExtensions
{
    /// <summary>
    /// Push (P5): the device API, the planner that follows the outbox and queues jobs for offline recipients, the
    /// dispatcher that sends them through each provider's breaker, and the providers. The queue itself is the log
    /// engine's (<see cref="IPushQueue"/>), registered with the engine.
    /// </summary>
    public static WebApplicationBuilder AddParleyPush(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddValidatedSettings<PushOptions>(builder.Configuration, PushOptions.Section, o => o.Validate());
        services.TryAddSingleton<PushMetrics>();
        services.TryAddSingleton(sp => new PushClock(sp.GetRequiredService<TimeProvider>()));
        services.TryAddSingleton<VapidKeys>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IPushProvider, WebPushProvider>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IPushProvider, WebhookPushProvider>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IPushProvider, FcmPushProvider>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IPushProvider, ApnsPushProvider>());
        services.TryAddSingleton<PushResilience>();
        // Each provider's calls are bounded by the breaker's timeout (Parley:Push:ProviderTimeout), not by HttpClient's.
        foreach (var client in new[] { WebPushProvider.ClientName, WebhookPushProvider.ClientName, FcmPushProvider.ClientName, ApnsPushProvider.ClientName })
        {
            services.AddHttpClient(client, c => c.Timeout = Timeout.InfiniteTimeSpan);
        }

        services.AddSingleton<IDeadLetterKind>(sp => sp.GetRequiredService<IPushQueue>().DeadLetters);
        services.AddDomainEventConsumer<PushPlanner>();
        services.AddHostedService<PushDispatcher>();
        services.AddHealthChecks().AddCheck<PushHealthCheck>("push", failureStatus: HealthStatus.Degraded, tags: ["ready"]);
        return builder;
    }
}

/// <summary>
/// Degraded while a provider's breaker is open or probing: pushes on that platform are waiting, live delivery is not.
/// Never unhealthy: a push provider's outage must not take the node out of a load balancer.
/// </summary>
public sealed class PushHealthCheck(PushResilience resilience) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var open = resilience.NotClosed;
        var data = open.ToDictionary(b => $"breaker:{b.Platform}", b => (object)b.State.ToString());
        return Task.FromResult(open.Count == 0
            ? HealthCheckResult.Healthy("Every push provider's breaker is closed")
            : HealthCheckResult.Degraded($"Push breaker open for {string.Join(", ", open.Select(b => b.Platform))}: those pushes wait for their retries", data: data));
    }
}
