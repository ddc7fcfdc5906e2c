using Microsoft.Extensions.Options;
using Parley.Hosting;
using Parley.Server.Events;

namespace Parley.Server.Webhooks;

public static class WebhooksServiceCollectionExtensions
{
    /// <summary>Webhooks (E5): the outbox consumer that enqueues deliveries, the dispatcher that sends them, its HTTP client and metrics.</summary>
    public static WebApplicationBuilder AddParleyWebhooks(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddValidatedSettings<WebhooksOptions>(builder.Configuration, WebhooksOptions.Section, o => o.Validate());
        services.AddSingleton<WebhookMetrics>();
        services.AddDomainEventConsumer<WebhookEnqueuer>();
        // No redirects: a receiver that moved answers 3xx, which is a failed attempt the delivery log shows, not a
        // silent POST of signed events to wherever the Location header points.
        services.AddHttpClient(WebhookDispatcher.HttpClientName)
            .ConfigureHttpClient((sp, client) => client.Timeout = sp.GetRequiredService<IOptions<WebhooksOptions>>().Value.Timeout)
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler { AllowAutoRedirect = false, UseCookies = false, PooledConnectionLifetime = TimeSpan.FromMinutes(5) })
            .RemoveAllLoggers(); // The dispatcher logs each attempt with its outcome (1710-1712); the factory's per-request lines would repeat them.
        services.AddHostedService<WebhookDispatcher>();
        return builder;
    }
}
