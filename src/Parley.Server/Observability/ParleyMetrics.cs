using System.Diagnostics.Metrics;
using Parley.Server.Hosting;

namespace Parley.Server.Observability;

/// <summary>
/// The realtime instruments, created once from the host's <see cref="IMeterFactory"/>. The ingress and delivery
/// instruments live in <c>IngressMetrics</c> and <c>DeliveryMetrics</c>.
/// </summary>
public sealed class ParleyMetrics
{
    public ParleyMetrics(IMeterFactory meters)
    {
        var delivery = meters.Create(Telemetry.DeliveryMeter);
        FanoutAttempted = delivery.CreateCounter<long>("delivery_fanout_attempted", description: "Recipients a new message was pushed to");
        FanoutDelivered = delivery.CreateCounter<long>("delivery_fanout_delivered", description: "Pushes handed to the realtime layer");
        FanoutFailed = delivery.CreateCounter<long>("delivery_fanout_failed", description: "Pushes that failed, by reason");

        var realtime = meters.Create(Telemetry.RealtimeMeter);
        Connections = realtime.CreateUpDownCounter<long>("realtime_connections", description: "Connected realtime clients on this node");
        SlowConsumerDisconnects = realtime.CreateCounter<long>("realtime_slow_consumer_disconnects", description: "Connections closed because their outbound queue was full");
        OversizedFrames = realtime.CreateCounter<long>("realtime_oversized_frames", description: "Connections closed for sending a frame over Parley:Limits:MaxRealtimeFrameBytes");
        RecoveryResults = realtime.CreateCounter<long>("realtime_recovery", description: "Resume answers per conversation, by status (recovered, resync)");
        TypingEvents = realtime.CreateCounter<long>("realtime_typing_events", description: "Typing calls, by status (relayed, rate_limited)");
        TokenExpiredDisconnects = realtime.CreateCounter<long>("realtime_token_expired_disconnects", description: "Connections closed because their access token expired without an in-band refresh");
    }

    public Counter<long> SlowConsumerDisconnects { get; }
    public Counter<long> OversizedFrames { get; }
    public Counter<long> RecoveryResults { get; }
    public Counter<long> TypingEvents { get; }
    public Counter<long> TokenExpiredDisconnects { get; }
    public Counter<long> FanoutAttempted { get; }
    public Counter<long> FanoutDelivered { get; }
    public Counter<long> FanoutFailed { get; }
    public UpDownCounter<long> Connections { get; }

    public static KeyValuePair<string, object?> Tag(string key, object? value) => new(key, value);
}
