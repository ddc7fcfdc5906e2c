using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.Options;
using Parley.Hosting;
using Parley.Core.Ports;
using Parley.Server.Auth;
using Parley.Server.Hosting;

namespace Parley.Server.Realtime;

public static class RealtimeServiceCollectionExtensions
{
    /// <summary>
    /// The hub (/hubs/chat, mapped by MapChatHub), live delivery (<see cref="IRealtimeFanout"/>), typing, presence and
    /// the node bus relay, over the <see cref="IPresenceStore"/> and <see cref="IRealtimeBus"/> the engine registered
    /// (AddParleyEngine: Redis for production, the in-process ones in Embedded/ for the embedded engine).
    /// </summary>
    public static IServiceCollection AddParleyRealtime(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddSignalR(o => o.AddFilter<ParleyHubFilter>())
            .AddJsonProtocol(o => o.PayloadSerializerOptions.Converters.Add(new HubStringConverter()))
            .AddMessagePackProtocol();
        services.AddQuietHubClientMistakes();
        services.AddOptions<HubOptions>().Configure<IOptions<LimitsOptions>>((h, l) => h.MaximumReceiveMessageSize = l.Value.MaxRealtimeFrameBytes);

        services.AddValidatedSettings<RealtimeOptions>(configuration, RealtimeOptions.Section, o => o.Validate());
        services.AddSingleton<RealtimeMetrics>();
        services.AddSingleton<RealtimeNotifier>();
        services.AddSingleton<IRealtimeFanout>(sp => sp.GetRequiredService<RealtimeNotifier>());
        services.AddSingleton<LocalDelivery>();
        services.AddSingleton<Social.ISocialNotifier, UserEventNotifier>();
        services.AddSingleton<NodeEventRelay>();
        services.AddSingleton<ConnectionRegistry>();
        services.AddSingleton<DeviceConnectionFactory>();
        services.AddSingleton<DeviceSessions>();
        services.AddSingleton<DeviceRecovery>();
        services.AddSingleton<TypingTracker>();
        services.AddSingleton<TypingRelay>();
        services.AddSingleton<TokenRefresher>();
        services.AddHostedService<RealtimeSweeper>();
        services.AddHostedService<NodeEventSubscriber>();
        return services;
    }
}
