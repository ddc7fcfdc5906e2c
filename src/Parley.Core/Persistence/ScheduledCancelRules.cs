using Parley.Core.Ports;

namespace Parley.Core.Persistence;

/// <summary>What cancelling a scheduled message does, the same on every engine.</summary>
public static class ScheduledCancelRules
{
    /// <summary>
    /// <see cref="ScheduledCancelOutcome.Cancelled"/> when the row may be cancelled now. A row a release has claimed may
    /// already be in the log (the claim can outlive a crash between the append and the mark), so it is as good as sent.
    /// </summary>
    public static ScheduledCancelOutcome Outcome(ScheduledMessage row) => row.Status switch
    {
        ScheduledStatuses.Scheduled when row.Claimed => ScheduledCancelOutcome.AlreadySent,
        ScheduledStatuses.Scheduled => ScheduledCancelOutcome.Cancelled,
        ScheduledStatuses.Sent => ScheduledCancelOutcome.AlreadySent,
        _ => ScheduledCancelOutcome.AlreadyFinished,
    };
}
