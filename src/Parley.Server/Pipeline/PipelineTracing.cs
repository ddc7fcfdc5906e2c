using System.Diagnostics;
using Parley.Core.Ports;
using Parley.Server.Hosting;

namespace Parley.Server.Pipeline;

/// <summary>The delivery spans of one message, kept out of the pipeline's control flow.</summary>
internal static class PipelineTracing
{
    /// <summary>
    /// <c>parley.persist</c> for the message's share of the batch transaction (the batch is shared by many traces, so
    /// each message gets its own span, parented by its envelope's traceparent), and <c>parley.fanout</c> under it.
    /// Dispose once the fanout is done.
    /// </summary>
    public static Spans StoredAndFanout(StoredMessage message, string? traceParent, int partition, DateTimeOffset persistStarted)
    {
        var persist = ParleyActivities.Delivery.StartActivity(ParleyActivities.Names.Persist, ActivityKind.Consumer,
            ParleyActivities.ParentOf(traceParent), startTime: persistStarted);
        persist?.SetTag(ParleyActivities.Tags.MessageId, message.Id)
            .SetTag(ParleyActivities.Tags.CorrelationId, message.CorrelationId)
            .SetTag(ParleyActivities.Tags.ConversationId, message.ConversationId)
            .SetTag(ParleyActivities.Tags.Sequence, message.Sequence)
            .SetTag(ParleyActivities.Tags.Partition, partition);
        var fanout = ParleyActivities.Delivery.StartActivity(ParleyActivities.Names.Fanout, ActivityKind.Internal, persist?.Context ?? default)?
            .SetTag(ParleyActivities.Tags.MessageId, message.Id);
        return new Spans(persist, fanout);
    }

    public readonly struct Spans(Activity? persist, Activity? fanout) : IDisposable
    {
        public void Dispose()
        {
            fanout?.Dispose();
            persist?.Dispose();
        }
    }
}
