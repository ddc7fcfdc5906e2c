using Parley.Core.Ports;
using Parley.Hosting;
using Parley.Server.Conversations;
using Parley.Server.Hosting;

namespace Parley.Server.Messaging;

public static class MessagingServiceCollectionExtensions
{
    /// <summary>
    /// The send path (membership cache, per-user send limit, resend lookups, the ingress and its metrics), the receipts
    /// service, the recovery planner, scheduled sends and their release loop: what REST and the hub both call.
    /// </summary>
    public static WebApplicationBuilder AddParleyMessaging(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddValidatedSettings<MessagesOptions>(builder.Configuration, MessagesOptions.Section, o => o.Validate());
        services.AddValidatedSettings<ModerationOptions>(builder.Configuration, ModerationOptions.Section, o => o.Validate());
        services.AddSingleton<ServerAdmins>();
        services.AddSingleton<MembershipCache>();
        services.AddHostedService<MembershipListener>();
        services.AddSingleton<MembershipChanges>();
        services.AddSingleton<SendRateLimiter>();
        services.AddSingleton<StoredKeyLookup>();
        services.AddSingleton<IngressMetrics>();
        services.AddSingleton<RecentTargets>();
        services.AddSingleton<MessageIngress>();
        services.AddSingleton<Receipts>();
        services.AddSingleton<RecoveryPlanner>();
        services.AddSingleton<ScheduledSends>();
        services.AddHostedService<ScheduledReleaser>();
        services.AddValidatedSettings<DeadLettersOptions>(builder.Configuration, DeadLettersOptions.Section, o => o.Validate());
        services.AddSingleton<IDeadLetterKind>(sp => sp.GetRequiredService<IMessageLog>().DeadLetters);
        services.AddHostedService<DeadLetterReprocessor>();
        services.AddValidatedSettings<ReconciliationOptions>(builder.Configuration, ReconciliationOptions.Section, o => o.Validate());
        services.AddSingleton<ReconciliationMetrics>();
        services.AddSingleton<Reconciler>();
        services.AddHostedService<ReconciliationScheduler>();
        return builder;
    }
}
