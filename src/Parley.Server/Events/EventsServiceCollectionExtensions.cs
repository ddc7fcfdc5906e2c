using Microsoft.Extensions.DependencyInjection.Extensions;
using Parley.Core.Ports;

namespace Parley.Server.Events;

public static class EventsServiceCollectionExtensions
{
    /// <summary>The outbox reader and the consumers the settings turn on (the event file).</summary>
    public static IServiceCollection AddParleyEvents(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddValidatedSettings<EventsOptions>(configuration, EventsOptions.Section, o => o.Validate());
        if (!string.IsNullOrWhiteSpace(configuration[$"{EventsOptions.Section}:{nameof(EventsOptions.FilePath)}"]))
        {
            services.AddDomainEventConsumer<FileEventSink>();
        }

        services.AddHostedService<OutboxReader>();
        return services;
    }

    /// <summary>How a feature follows the domain events: one line, then implement <see cref="IDomainEventConsumer"/>.</summary>
    public static IServiceCollection AddDomainEventConsumer<T>(this IServiceCollection services)
        where T : class, IDomainEventConsumer
    {
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IDomainEventConsumer, T>());
        return services;
    }
}
