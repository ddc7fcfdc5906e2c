namespace Parley.Server.Hosting;

/// <summary>Meter names, instrument names and tag keys (docs/metrics.md). Names follow the reference set.</summary>
public static class Telemetry
{
    public const string IngressMeter = "Parley.Ingress";
    public const string LogMeter = "Parley.Log";
    public const string DeliveryMeter = "Parley.Delivery";
    public const string RealtimeMeter = "Parley.Realtime";
    public const string PushMeter = "Parley.Push";
    public const string WebhooksMeter = "Parley.Webhooks";
    public const string ReconciliationMeter = "Parley.Reconciliation";

    public static readonly string[] Meters = [IngressMeter, LogMeter, DeliveryMeter, RealtimeMeter, PushMeter, WebhooksMeter, ReconciliationMeter];

    public static class Tags
    {
        public const string ContentType = "content_type";
        public const string Reason = "reason";
        public const string StatusCode = "status_code";
        public const string Status = "status";
        public const string Operation = "operation";
        public const string Source = "source";
        public const string Partition = "partition";
        public const string IdempotentHit = "idempotent_hit";
        public const string Step = "step";
        public const string Check = "check";
    }

    /// <summary>Bucket bounds in milliseconds, from sub-millisecond acks to multi-second stalls.</summary>
    public static readonly double[] MillisecondBuckets = [0.1, 0.25, 0.5, 1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000];
}
