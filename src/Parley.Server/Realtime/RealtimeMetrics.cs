using System.Diagnostics.Metrics;
using Parley.Hosting;
using Parley.Server.Hosting;

namespace Parley.Server.Realtime;

/// <summary>
/// The instruments the realtime layer records, one method per thing that happens (docs/metrics.md): the
/// <c>realtime_*</c> instruments of the Parley.Realtime meter and the <c>delivery_fanout_*</c> ones of Parley.Delivery.
/// IMeterFactory hands out one meter per name, so these share their meters with the other components' metrics.
/// </summary>
public sealed class RealtimeMetrics
{
    private readonly UpDownCounter<long> _connections;
    private readonly Counter<long> _slowConsumerDisconnects;
    private readonly Counter<long> _oversizedFrames;
    private readonly Counter<long> _recovery;
    private readonly Counter<long> _typing;
    private readonly Counter<long> _tokenExpiredDisconnects;
    private readonly Histogram<double> _outboundWait;
    private readonly Counter<long> _fanoutAttempted;
    private readonly Counter<long> _fanoutDelivered;
    private readonly Counter<long> _fanoutFailed;

    public RealtimeMetrics(IMeterFactory meters)
    {
        var realtime = meters.Create(Telemetry.RealtimeMeter);
        _connections = realtime.CreateUpDownCounter<long>("realtime_connections", description: "Connected realtime clients on this node");
        _slowConsumerDisconnects = realtime.CreateCounter<long>("realtime_slow_consumer_disconnects", description: "Connections closed because their outbound queue was full");
        _oversizedFrames = realtime.CreateCounter<long>("realtime_oversized_frames", description: "Connections closed for sending a frame over Parley:Limits:MaxRealtimeFrameBytes");
        _recovery = realtime.CreateCounter<long>("realtime_recovery", description: "Resume answers per conversation, by status (recovered, resync)");
        _typing = realtime.CreateCounter<long>("realtime_typing_events", description: "Typing calls, by status (relayed, rate_limited)");
        _outboundWait = realtime.CreateHistogram<double>("realtime_outbound_wait_ms", description: "A new message's time from being queued for a device to being written to its connection, milliseconds",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = Telemetry.MillisecondBuckets });
        _tokenExpiredDisconnects = realtime.CreateCounter<long>("realtime_token_expired_disconnects", description: "Connections closed because their access token expired without an in-band refresh");

        var delivery = meters.Create(Telemetry.DeliveryMeter);
        _fanoutAttempted = delivery.CreateCounter<long>("delivery_fanout_attempted", description: "Recipients a new message was pushed to");
        _fanoutDelivered = delivery.CreateCounter<long>("delivery_fanout_delivered", description: "Pushes handed to the realtime layer");
        _fanoutFailed = delivery.CreateCounter<long>("delivery_fanout_failed", description: "Pushes that failed, by reason");
    }

    public void ConnectionOpened() => _connections.Add(1);

    /// <summary>A live message went out on a device's connection <paramref name="elapsed"/> after it was queued for it.</summary>
    public void OutboundWaited(TimeSpan elapsed) => _outboundWait.Record(elapsed.TotalMilliseconds);

    public void ConnectionClosed() => _connections.Add(-1);

    public void SlowConsumerDisconnected() => _slowConsumerDisconnects.Add(1);

    public void OversizedFrame() => _oversizedFrames.Add(1);

    public void TokenExpiredDisconnected() => _tokenExpiredDisconnects.Add(1);

    /// <summary>One Resume answer for one conversation (recovered or resync).</summary>
    public void Recovered(string status) => _recovery.Add(1, new KeyValuePair<string, object?>(Telemetry.Tags.Status, status));

    public void TypingRelayed() => _typing.Add(1, new KeyValuePair<string, object?>(Telemetry.Tags.Status, "relayed"));

    public void TypingRateLimited() => _typing.Add(1, new KeyValuePair<string, object?>(Telemetry.Tags.Status, "rate_limited"));

    public void FanoutAttempted(int recipients) => _fanoutAttempted.Add(recipients);

    public void FanoutDelivered(int recipients) => _fanoutDelivered.Add(recipients);

    public void FanoutFailed(int recipients, Exception exception) =>
        _fanoutFailed.Add(recipients, new KeyValuePair<string, object?>(Telemetry.Tags.Reason, exception.GetType().Name));
}
