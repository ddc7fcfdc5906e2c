using System.Diagnostics;

namespace Parley.Server.Hosting;

/// <summary>
/// One ActivitySource per component. A message's trace runs HTTP request → <c>parley.send</c> →
/// <c>parley.log.append</c>, then (in the worker, parented by the W3C traceparent carried in the envelope)
/// <c>parley.persist</c> → <c>parley.fanout</c>.
/// </summary>
public static class ParleyActivities
{
    public const string IngressSource = "Parley.Ingress";
    public const string DeliverySource = "Parley.Delivery";

    public static readonly string[] Sources = [IngressSource, DeliverySource];

    public static readonly ActivitySource Ingress = new(IngressSource);
    public static readonly ActivitySource Delivery = new(DeliverySource);

    public static class Names
    {
        public const string Send = "parley.send";
        public const string Change = "parley.change";
        public const string Append = "parley.log.append";
        public const string Persist = "parley.persist";
        public const string Fanout = "parley.fanout";
    }

    public static class Tags
    {
        public const string ConversationId = "parley.conversation_id";
        public const string MessageId = "parley.message_id";
        public const string CorrelationId = "parley.correlation_id";
        public const string Partition = "parley.partition";
        public const string Sequence = "parley.sequence";
        public const string IdempotentHit = "parley.idempotent_hit";
        public const string Outcome = "parley.outcome";
    }

    /// <summary>The context a worker continues: the one the ingress wrote into the envelope, if it parses.</summary>
    public static ActivityContext ParentOf(string? traceParent) =>
        traceParent is not null && ActivityContext.TryParse(traceParent, null, out var context) ? context : default;
}
