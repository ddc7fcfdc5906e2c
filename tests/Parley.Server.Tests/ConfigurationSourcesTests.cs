using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;
using Parley.Server.Tests.Infrastructure;

namespace Parley.Server.Tests;

/// <summary>
/// The server as an operator starts it: its own build output, from a working directory that is not its own, with
/// no test overrides of logging. Settings come from appsettings.json next to the server, an optional --config file
/// and the command line; the console shows a start-up summary and then stays quiet.
/// </summary>
public sealed class ConfigurationSourcesTests : IDisposable
{
    private readonly string _workingDirectory = Directory.CreateTempSubdirectory("parley-cwd-").FullName;

    [Fact]
    public async Task Started_from_another_directory_the_server_reads_its_own_appsettings_prints_a_summary_and_no_line_per_request()
    {
        var port = TestServer.FreePort();
        var output = await RunAsync(port, [], async () =>
        {
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
            for (var i = 0; i < 5; i++)
            {
                Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/health/live")).StatusCode);
                Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync("/api/v1/nope")).StatusCode);
            }
        });

        // The summary names the URL, the engine and the data directory, which is relative to the working directory.
        Assert.Contains($"Parley started on http://127.0.0.1:{port}: engine Embedded, data directory {Path.Combine(_workingDirectory, "data")}, 16 log partitions", output, StringComparison.Ordinal);
        Assert.True(Directory.Exists(Path.Combine(_workingDirectory, "data", "keys")));

        // appsettings.json (next to the server) puts ASP.NET Core at Warning: no per-request or per-partition lines.
        Assert.DoesNotContain("Request starting", output, StringComparison.Ordinal);
        Assert.DoesNotContain("Request finished", output, StringComparison.Ordinal);
        Assert.DoesNotContain("Executing endpoint", output, StringComparison.Ordinal);
        Assert.DoesNotContain("took partition", output, StringComparison.Ordinal);
        Assert.True(output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length <= 8, $"a newcomer's console should stay short:\n{output}");
    }

    [Fact]
    public async Task A_config_file_given_with_config_is_read_and_the_command_line_still_overrides_it()
    {
        var port = TestServer.FreePort();
        var fromFile = Path.Combine(_workingDirectory, "from-config-file");
        var config = Path.Combine(_workingDirectory, "parley.json");
        await File.WriteAllTextAsync(config, JsonSerializer.Serialize(new
        {
            Parley = new { DataDirectory = fromFile, Log = new { Partitions = 4 } },
        }));

        var output = await RunAsync(port, ["--config", config, "--Parley:Log:Partitions=8"], () => Task.CompletedTask);

        Assert.Contains($"data directory {fromFile}, 8 log partitions", output, StringComparison.Ordinal);
        Assert.True(Directory.Exists(Path.Combine(fromFile, "keys")));
        Assert.False(Directory.Exists(Path.Combine(_workingDirectory, "data")));
    }

    [Fact]
    public async Task A_missing_config_file_stops_the_start_with_a_message_naming_the_path()
    {
        var missing = Path.Combine(_workingDirectory, "nowhere", "parley.json");
        using var process = Start(TestServer.FreePort(), ["--config", missing], out var output);

        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));

        Assert.Equal(2, process.ExitCode);
        Assert.Contains($"The configuration file given with --config does not exist: {missing}", Text(output), StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", Text(output), StringComparison.Ordinal);
    }

    /// <summary>Starts the server, waits until it is ready, runs <paramref name="load"/>, stops it gracefully (so its console is flushed) and returns everything it printed.</summary>
    private async Task<string> RunAsync(int port, string[] arguments, Func<Task> load)
    {
        using var process = Start(port, arguments, out var output);
        try
        {
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(2) };
            await Eventually.TrueAsync(async () =>
            {
                Assert.False(process.HasExited, $"the server exited:\n{Text(output)}");
                try
                {
                    using var ready = await http.GetAsync("/health/ready");
                    return ready.IsSuccessStatusCode;
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
                {
                    return false;
                }
            }, "the server to become ready", TimeSpan.FromSeconds(60));

            await load();
        }
        finally
        {
            // SIGTERM: a graceful stop, after which the console logger has written everything it queued.
            using (var term = Process.Start("kill", ["-TERM", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
            {
                await term.WaitForExitAsync();
            }

            try
            {
                await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
            }
            catch (TimeoutException)
            {
                process.Kill(entireProcessTree: true);
                throw;
            }
        }

        process.WaitForExit(); // drains the redirected output
        return Text(output);
    }

    private Process Start(int port, string[] arguments, out StringBuilder output)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = _workingDirectory,
        };
        info.ArgumentList.Add(ServerProcess.ServerDll());
        info.ArgumentList.Add("--urls");
        info.ArgumentList.Add($"http://127.0.0.1:{port}");
        info.Environment.Remove("ASPNETCORE_ENVIRONMENT");
        info.Environment.Remove("DOTNET_ENVIRONMENT");
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        var process = Process.Start(info) ?? throw new InvalidOperationException("dotnet did not start");
        var buffer = new StringBuilder();
        output = buffer;
        process.OutputDataReceived += (_, e) => Append(buffer, e.Data);
        process.ErrorDataReceived += (_, e) => Append(buffer, e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    private static void Append(StringBuilder buffer, string? line)
    {
        if (line is not null)
        {
            lock (buffer)
            {
                buffer.AppendLine(line);
            }
        }
    }

    private static string Text(StringBuilder buffer)
    {
        lock (buffer)
        {
            return buffer.ToString();
        }
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(_workingDirectory, recursive: true);
        }
        catch (IOException)
        {
            // Best effort: the OS temp cleaner takes what a lingering handle kept.
        }
    }
}
