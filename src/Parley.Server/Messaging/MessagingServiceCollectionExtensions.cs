using Parley.Server.Conversations;

namespace Parley.Server.Messaging;

public static class MessagingServiceCollectionExtensions
{
    /// <summary>The send path: membership (cached), the per-user send limit, resend lookups, the ingress and its metrics.</summary>
    public static WebApplicationBuilder AddParleyMessaging(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddSingleton<MembershipCache>();
        services.AddSingleton<SendRateLimiter>();
        services.AddSingleton<StoredKeyLookup>();
        services.AddSingleton<IngressMetrics>();
        services.AddSingleton<MessageIngress>();
        return builder;
    }
}
