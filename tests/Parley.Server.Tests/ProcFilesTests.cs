using Parley.Server.Hosting;

namespace Parley.Server.Tests;

public sealed class ProcFilesTests
{
    [Fact]
    public void Numbers_after_tabs_and_after_runs_of_spaces_are_read()
    {
        // Regression: /proc/<pid>/status separates with a tab, which a split on spaces alone read as no number.
        var path = Path.GetTempFileName();
        File.WriteAllLines(path, ["Name:\tdotnet", "VmRSS:\t  123456 kB", "Max open files            20000                20000                files"]);

        Assert.Equal(123456, ProcFiles.FirstNumber(path, "VmRSS:"));
        Assert.Equal(20000, ProcFiles.FirstNumber(path, "Max open files"));
        Assert.Null(ProcFiles.FirstNumber(path, "VmSwap:"));
        Assert.Null(ProcFiles.FirstNumber(path + ".missing", "VmRSS:"));
        File.Delete(path);
    }

    [Fact]
    public void This_process_has_a_resident_size_and_an_open_file_limit_on_Linux()
    {
        Assert.True(ProcFiles.ResidentBytes("self") > 0);
        Assert.True(ProcFiles.OpenFileLimit("self") > 0);
    }
}
