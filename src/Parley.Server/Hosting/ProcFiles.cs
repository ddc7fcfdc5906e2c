using System.Globalization;

namespace Parley.Server.Hosting;

/// <summary>Numbers from Linux's /proc files (null elsewhere, or when the line is missing).</summary>
public static class ProcFiles
{
    /// <summary>The soft limit on open files of a process ("self" or a pid), from /proc/&lt;process&gt;/limits.</summary>
    public static long? OpenFileLimit(string process) => FirstNumber($"/proc/{process}/limits", "Max open files");

    /// <summary>Resident memory of a process in bytes, from /proc/&lt;process&gt;/status.</summary>
    public static long? ResidentBytes(string process) => FirstNumber($"/proc/{process}/status", "VmRSS:") * 1024;

    /// <summary>The first number after <paramref name="prefix"/> on the first line that starts with it.</summary>
    public static long? FirstNumber(string path, string prefix)
    {
        if (!File.Exists(path))
        {
            return null;
        }

        foreach (var line in File.ReadLines(path))
        {
            if (line.StartsWith(prefix, StringComparison.Ordinal))
            {
                var first = line[prefix.Length..].Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries).FirstOrDefault();
                return long.TryParse(first, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) ? value : null;
            }
        }

        return null;
    }
}
