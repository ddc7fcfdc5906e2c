using Microsoft.Extensions.Logging;

namespace Parley.Hosting;

/// <summary>The hosting primitives' log lines. Event ids are shared with the server's Log (1200-1299 belong here).</summary>
internal static partial class HostingLog
{
    [LoggerMessage(1200, LogLevel.Warning, "Consumer loop {Loop} failed {Failures} time(s) in a row; retrying in {Delay}")]
    public static partial void LoopIterationFailed(ILogger logger, Exception exception, string loop, int failures, TimeSpan delay);

    [LoggerMessage(1201, LogLevel.Error, "Consumer loop {Loop} is faulted after {Failures} consecutive failures; it keeps retrying")]
    public static partial void LoopFaulted(ILogger logger, string loop, int failures);

    [LoggerMessage(1202, LogLevel.Information, "Consumer loop {Loop} recovered after {Failures} failure(s)")]
    public static partial void LoopRecovered(ILogger logger, string loop, int failures);

    [LoggerMessage(1203, LogLevel.Debug, "Consumer loop {Loop} stopped")]
    public static partial void LoopStopped(ILogger logger, string loop);
}
