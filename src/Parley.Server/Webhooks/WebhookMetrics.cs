using System.Diagnostics.Metrics;
using Parley.Server.Hosting;

namespace Parley.Server.Webhooks;

/// <summary>What webhooks record (docs/metrics.md), on the Parley.Webhooks meter: one method per outcome.</summary>
public sealed class WebhookMetrics
{
    public const string Delivered = "delivered";
    public const string Retried = "retried";
    public const string Dead = "dead";

    private readonly Counter<long> _deliveries;
    private readonly Histogram<double> _duration;
    private readonly Counter<long> _disabled;
    private long _pending;

    public WebhookMetrics(IMeterFactory meters)
    {
        var meter = meters.Create(Telemetry.WebhooksMeter);
        _deliveries = meter.CreateCounter<long>("webhook_deliveries", description: "Delivery attempts by outcome: delivered, retried (failed, another attempt due), dead (failed for good)");
        _duration = meter.CreateHistogram<double>("webhook_delivery_duration_ms", description: "One POST to a receiver, request to answer (or failure), milliseconds",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = Telemetry.MillisecondBuckets });
        meter.CreateObservableGauge("webhook_pending", () => Interlocked.Read(ref _pending), description: "Deliveries waiting to be sent (sampled by the dispatcher)");
        _disabled = meter.CreateCounter<long>("webhook_subscriptions_disabled", description: "Subscriptions disabled by a run of failed attempts");
    }

    public void Attempted(string outcome, double milliseconds)
    {
        var tag = new KeyValuePair<string, object?>(Telemetry.Tags.Status, outcome);
        _deliveries.Add(1, tag);
        _duration.Record(milliseconds, tag);
    }

    public void SubscriptionDisabled() => _disabled.Add(1);

    public void Pending(long count) => Interlocked.Exchange(ref _pending, count);
}
