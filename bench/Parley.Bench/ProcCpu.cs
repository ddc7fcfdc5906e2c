using System.Globalization;
using System.Runtime.InteropServices;

namespace Parley.Bench;

/// <summary>CPU time a process has used (all its threads), from Linux's /proc/&lt;pid&gt;/stat.</summary>
internal static class ProcCpu
{
    private static readonly Lazy<double> TicksPerSecond = new(() =>
    {
        // _SC_CLK_TCK is 2 on Linux; 100 is what every mainstream kernel reports anyway.
        var ticks = OperatingSystem.IsLinux() ? NativeMethods.sysconf(2) : 100;
        return ticks > 0 ? ticks : 100;
    });

    /// <summary>utime + stime in seconds, or null when the process is gone (or this is not Linux).</summary>
    public static double? Seconds(int pid)
    {
        string stat;
        try
        {
            stat = File.ReadAllText($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/stat");
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }

        // The command name (field 2) may hold spaces and parentheses: count fields from the last ')'. After it come
        // state (field 3) … utime (14), stime (15).
        var fields = stat[(stat.LastIndexOf(')') + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (fields.Length < 13
            || !long.TryParse(fields[11], NumberStyles.Integer, CultureInfo.InvariantCulture, out var user)
            || !long.TryParse(fields[12], NumberStyles.Integer, CultureInfo.InvariantCulture, out var system))
        {
            return null;
        }

        return (user + system) / TicksPerSecond.Value;
    }

    private static class NativeMethods
    {
        [DllImport("libc", SetLastError = true)]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        public static extern long sysconf(int name);
    }
}
