using Parley.Hosting;

namespace Parley.Server.Hosting;

public static class HostingServiceCollectionExtensions
{
    /// <summary>
    /// Server-wide settings and primitives every feature uses: the validated top-level, log, limits, auth and rate
    /// limit settings, the clock, the memory cache, transient-error classification and the consumer loop registry.
    /// </summary>
    public static WebApplicationBuilder AddParleyHosting(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddValidatedSettings<ParleyOptions>(builder.Configuration, ParleyOptions.Section, o => o.Validate());
        services.AddValidatedSettings<LogOptions>(builder.Configuration, LogOptions.Section, o => o.Validate());
        services.AddValidatedSettings<LimitsOptions>(builder.Configuration, LimitsOptions.Section, o => o.Validate());
        services.AddValidatedSettings<AuthOptions>(builder.Configuration, AuthOptions.Section, o => o.Validate());
        services.AddValidatedSettings<RateLimitOptions>(builder.Configuration, RateLimitOptions.Section, o => o.Validate());
        services.AddSingleton(TimeProvider.System);
        services.AddMemoryCache();
        services.AddSingleton<TransientErrors>();
        services.AddSingleton<ConsumerLoopRegistry>();
        return builder;
    }
}
