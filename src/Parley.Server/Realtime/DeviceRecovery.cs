using Microsoft.AspNetCore.SignalR;
using Parley.Core.Validation;
using Parley.Server.Auth;
using Parley.Server.Contracts;
using Parley.Server.Messaging;

namespace Parley.Server.Realtime;

/// <summary>Resume and ResumeSince on the hub: where to start (<see cref="RecoveryPlanner"/>), then the device replays.</summary>
public sealed class DeviceRecovery(RecoveryPlanner planner, DeviceSessions sessions)
{
    public async Task<IReadOnlyList<ResumeResult>> ResumeAsync(HubCallerContext context, ResumePosition[]? positions)
    {
        var starts = await planner.FromPositionsAsync(CurrentUser.Id(context.User), positions ?? [], context.ConnectionAborted);
        return await sessions.Current(context).ResumeAsync(starts);
    }

    public async Task<IReadOnlyList<ResumeResult>> ResumeSinceAsync(HubCallerContext context, string since)
    {
        var at = IsoTimestamp.Parse("since", since);
        var starts = await planner.FromSinceAsync(CurrentUser.Id(context.User), at, context.ConnectionAborted);
        return await sessions.Current(context).ResumeAsync(starts);
    }
}
