using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Runtime.InteropServices;
using System.Text;
using Parley.Server.Hosting;

namespace Parley.Bench;

/// <summary>
/// `connections`: a Parley server in its own process (so its memory is its own), and --idle SignalR connections
/// ramped against it from --sources loopback addresses (one address runs out of ephemeral ports near 28k). The
/// clients are raw WebSockets speaking the SignalR JSON protocol (handshake, then a ping every 10 s), which keeps the
/// load generator light enough to hold tens of thousands. Reports connects/s, connect latency and server RSS per
/// connection.
/// </summary>
public static class ConnectionsScenario
{
    private const char RecordSeparator = '\u001e';
    private static readonly byte[] Handshake = Encoding.UTF8.GetBytes("{\"protocol\":\"json\",\"version\":1}" + RecordSeparator);
    private static readonly byte[] Ping = Encoding.UTF8.GetBytes("{\"type\":6}" + RecordSeparator);

    public static async Task<IReadOnlyList<StepResult>> RunAsync(BenchOptions options, Action<string> progress)
    {
        var wanted = options.IdleConnections + 1024;
        var ownLimit = RaiseFileLimit(wanted);
        if (ownLimit < (ulong)wanted)
        {
            progress($"warning: this process may open only {ownLimit:N0} files (wanted {wanted:N0}; raising the hard limit needs CAP_SYS_RESOURCE): connections beyond that fail");
        }

        var data = Directory.CreateTempSubdirectory("parley-bench-conn-").FullName;
        var port = Parley.Testing.ExternalServers.FreePort();
        var url = $"http://127.0.0.1:{port}";
        using var server = StartServer(url, data, options);
        var connections = new List<ClientWebSocket>();
        var handlers = Enumerable.Range(1, options.SourceAddresses).Select(k => Invoker(IPAddress.Parse($"127.0.0.{k}"))).ToList();
        using var stop = new CancellationTokenSource();
        try
        {
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
            await WaitForLiveAsync(http, url, server);
            if (ProcFiles.OpenFileLimit(server.Id.ToString(CultureInfo.InvariantCulture)) is { } serverLimit && serverLimit < wanted)
            {
                progress($"warning: the server may open only {serverLimit:N0} files (wanted {wanted:N0}): connections beyond that fail");
            }

            var users = await Task.WhenAll(Enumerable.Range(0, Math.Min(100, options.IdleConnections)).Select(_ => BenchApi.SignUpAsync(http, url)));
            var histogram = StepResult.NewHistogram();
            long failed = 0;
            var next = -1;

            async Task RampAsync(int target)
            {
                await Task.WhenAll(Enumerable.Range(0, 64).Select(worker => Task.Run(async () =>
                {
                    for (var i = Interlocked.Increment(ref next); i < target; i = Interlocked.Increment(ref next))
                    {
                        var started = Stopwatch.GetTimestamp();
                        try
                        {
                            // A server out of descriptors leaves connects in its backlog forever: give up on them.
                            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stop.Token);
                            timeout.CancelAfter(TimeSpan.FromSeconds(30));
                            var socket = await ConnectAsync(url, users[i % users.Length].Token, handlers[i % handlers.Count], timeout.Token);
                            histogram.RecordValue(Math.Max(1, Stopwatch.GetTimestamp() - started));
                            lock (connections)
                            {
                                connections.Add(socket);
                            }

                            _ = DrainAsync(socket, stop.Token);
                        }
                        catch (Exception ex) when (ex is WebSocketException or HttpRequestException or IOException or InvalidOperationException or SocketException
                            || (ex is OperationCanceledException && !stop.IsCancellationRequested))
                        {
                            if (Interlocked.Increment(ref failed) == 1)
                            {
                                progress($"  first failure: {ex.GetType().Name}: {ex.Message}");
                            }
                        }
                    }
                })));
                next = Math.Min(next, target - 1);
            }

            // Pings run from the first connection on: a ramp longer than the server's 30 s client timeout would
            // otherwise lose its earliest connections before it ends.
            var pinger = PingAsync(connections, stop.Token);

            // A first few hundred connections warm the server's code paths and pools; memory is counted from there.
            var warm = Math.Min(options.Smoke ? 10 : 500, options.IdleConnections / 2);
            await RampAsync(warm);
            await Task.Delay(TimeSpan.FromSeconds(options.Smoke ? 0.5 : 3));
            var before = ServerRss(server);
            progress($"server pid {server.Id} on {url}: RSS {before / 1048576.0:F1} MB with {warm} warm-up connections; ramping to {options.IdleConnections:N0} from {options.SourceAddresses} source addresses");

            var ramp = Stopwatch.StartNew();
            var reporter = Task.Run(async () =>
            {
                while (!stop.IsCancellationRequested && Volatile.Read(ref next) < options.IdleConnections - 1)
                {
                    await Task.Delay(1000);
                    int count;
                    lock (connections)
                    {
                        count = connections.Count;
                    }

                    progress($"  {ramp.Elapsed.TotalSeconds:F0}s: {count:N0} open, {(count - warm) / ramp.Elapsed.TotalSeconds:F0} connects/s, failed {Interlocked.Read(ref failed)}, server RSS {ServerRss(server) / 1048576.0:F0} MB");
                }
            });
            await RampAsync(options.IdleConnections);
            var rampSeconds = ramp.Elapsed.TotalSeconds;
            await reporter;

            // Idle for the step's duration: the server keeps them, clients only ping.
            await Task.Delay(options.Duration < TimeSpan.FromSeconds(5) && !options.Smoke ? TimeSpan.FromSeconds(5) : options.Duration);
            var after = ServerRss(server);
            var open = connections.Count(c => c.State == WebSocketState.Open);
            var dropped = connections.Count - open;
            var perConnection = open <= warm ? 0 : (after - before) / (double)(open - warm);
            var result = StepResult.From("parley", options.IdleConnections, rampSeconds, options.IdleConnections, open, failed + dropped, (connections.Count - warm) / rampSeconds, histogram,
                new Dictionary<string, double>
                {
                    ["connections"] = open,
                    ["serverRssBeforeMb"] = Math.Round(before / 1048576.0, 1),
                    ["serverRssAfterMb"] = Math.Round(after / 1048576.0, 1),
                    ["serverBytesPerConnection"] = Math.Round(perConnection),
                    ["rampSeconds"] = Math.Round(rampSeconds, 2),
                    ["sourceAddresses"] = options.SourceAddresses,
                });
            progress($"connections {open:N0} open ({dropped} dropped, {failed} failed), {result.AchievedPerSecond:N0} connects/s, connect p99 {result.P99Ms:F1} ms, server {perConnection / 1024:F1} KB per connection (RSS {before / 1048576.0:F0} → {after / 1048576.0:F0} MB)");
            await stop.CancelAsync();
            await pinger;
            return [result];
        }
        finally
        {
            await stop.CancelAsync();
            foreach (var socket in connections)
            {
                socket.Abort();
                socket.Dispose();
            }

            foreach (var handler in handlers)
            {
                handler.Dispose();
            }

            await StopServerAsync(server, data);
        }
    }

    /// <summary>Kills the server started by <see cref="StartServer"/> and removes its data directory.</summary>
    internal static async Task StopServerAsync(Process server, string data)
    {
        try
        {
            server.Kill(entireProcessTree: true);
            await server.WaitForExitAsync();
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }

        try
        {
            Directory.Delete(data, recursive: true);
        }
        catch (IOException)
        {
            // Best effort.
        }
    }

    internal static Process StartServer(string url, string data, BenchOptions options)
    {
        var dll = options.ServerDll ?? Path.Combine(AppContext.BaseDirectory, "Parley.Server.dll");
        string[] args = ["exec", dll, "--urls", url, "--Parley:DataDirectory=" + data, .. IngestScenario.ServerSettings, .. options.ServerArgs];
        // The server needs more descriptors than the default hard limit of this machine; a shell raises it (we are root).
        var command = "ulimit -n 1048576 2>/dev/null || ulimit -n $(ulimit -Hn); exec dotnet " + string.Join(' ', args.Select(Quote));
        var info = new ProcessStartInfo("/bin/sh", ["-c", command]) { RedirectStandardOutput = true, RedirectStandardError = true };
        var process = Process.Start(info) ?? throw new InvalidOperationException("Could not start the server");
        process.OutputDataReceived += (_, e) => Remember(e.Data);
        process.ErrorDataReceived += (_, e) => Remember(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    /// <summary>The server's last output lines, shown if it dies.</summary>
    private static readonly System.Collections.Concurrent.ConcurrentQueue<string> ServerOutput = new();

    private static void Remember(string? line)
    {
        if (line is null)
        {
            return;
        }

        ServerOutput.Enqueue(line);
        while (ServerOutput.Count > 30 && ServerOutput.TryDequeue(out _))
        {
        }
    }

    private static string Quote(string arg) => "'" + arg.Replace("'", "'\\''", StringComparison.Ordinal) + "'";

    internal static async Task WaitForLiveAsync(HttpClient http, string url, Process server)
    {
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < TimeSpan.FromSeconds(60))
        {
            if (server.HasExited)
            {
                throw new InvalidOperationException($"The server exited with {server.ExitCode} during start");
            }

            try
            {
                using var response = await http.GetAsync(new Uri($"{url}/health/live"));
                if (response.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }

            await Task.Delay(100);
        }

        throw new TimeoutException("The server did not become live within 60 s");
    }

    /// <summary>Connections from one source address go through one handler whose sockets bind to it.</summary>
    internal static HttpMessageInvoker Invoker(IPAddress source) => new(new SocketsHttpHandler
    {
        ConnectCallback = async (context, cancellationToken) =>
        {
            var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                socket.Bind(new IPEndPoint(source, 0));
                await socket.ConnectAsync(context.DnsEndPoint, cancellationToken);
                return new NetworkStream(socket, ownsSocket: true);
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        },
    });

    internal static async Task<ClientWebSocket> ConnectAsync(string url, string token, HttpMessageInvoker invoker, CancellationToken cancellationToken)
    {
        var socket = new ClientWebSocket();
        socket.Options.KeepAliveInterval = TimeSpan.Zero;
        try
        {
            await socket.ConnectAsync(new Uri($"{url.Replace("http", "ws", StringComparison.Ordinal)}/hubs/chat?access_token={token}"), invoker, cancellationToken);
            await socket.SendAsync(Handshake, WebSocketMessageType.Text, endOfMessage: true, cancellationToken);
            var buffer = new byte[256];
            var received = await socket.ReceiveAsync(buffer, cancellationToken);
            var reply = Encoding.UTF8.GetString(buffer, 0, received.Count);
            if (!reply.StartsWith("{}", StringComparison.Ordinal))
            {
                throw new InvalidOperationException($"SignalR handshake refused: {reply}");
            }

            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>Reads and discards what the server sends (its pings), so the connection stays healthy.</summary>
    private static async Task DrainAsync(ClientWebSocket socket, CancellationToken cancellationToken)
    {
        var buffer = new byte[512];
        try
        {
            while (!cancellationToken.IsCancellationRequested && socket.State == WebSocketState.Open)
            {
                var received = await socket.ReceiveAsync(buffer, cancellationToken);
                if (received.MessageType == WebSocketMessageType.Close)
                {
                    return;
                }
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or WebSocketException or ObjectDisposedException)
        {
            // Closed; counted as dropped if it happened before the end.
        }
    }

    /// <summary>The server drops a client silent for 30 s: one loop pings every connection every 10 s.</summary>
    private static async Task PingAsync(List<ClientWebSocket> connections, CancellationToken cancellationToken)
    {
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                ClientWebSocket[] snapshot;
                lock (connections)
                {
                    snapshot = [.. connections];
                }

                foreach (var socket in snapshot.Where(c => c.State == WebSocketState.Open))
                {
                    try
                    {
                        await socket.SendAsync(Ping, WebSocketMessageType.Text, endOfMessage: true, cancellationToken);
                    }
                    catch (Exception ex) when (ex is WebSocketException or ObjectDisposedException or IOException)
                    {
                        // Dropped; counted at the end.
                    }
                }

                await Task.Delay(TimeSpan.FromSeconds(10), cancellationToken);
            }
        }
        catch (OperationCanceledException)
        {
            // Done.
        }
    }

    /// <summary>The server's resident memory from /proc (Linux), in bytes.</summary>
    internal static long ServerRss(Process server)
    {
        // The shell execs dotnet, so the pid is the server's own.
        if (server.HasExited)
        {
            throw new InvalidOperationException($"The server exited with {server.ExitCode}; its last output:\n{string.Join('\n', ServerOutput)}");
        }

        return ProcFiles.ResidentBytes(server.Id.ToString(CultureInfo.InvariantCulture)) ?? 0;
    }

    /// <summary>Raises this process's soft (and if allowed hard) limit on open files; returns the soft limit now in force.</summary>
    internal static ulong RaiseFileLimit(int wanted)
    {
        if (!OperatingSystem.IsLinux())
        {
            return ulong.MaxValue;
        }

        if (NativeMethods.getrlimit(RlimitNoFile, out var existing) != 0)
        {
            return ulong.MaxValue;
        }

        if (existing.Current >= (ulong)wanted)
        {
            // Already enough: never lower the limit of the process (the tests share it).
            return existing.Current;
        }

        // Raising the hard limit needs CAP_SYS_RESOURCE; without it, the soft limit can still go up to the hard one.
        var limit = new RLimit { Current = (ulong)wanted, Max = Math.Max(existing.Max, (ulong)wanted) };
        if (NativeMethods.setrlimit(RlimitNoFile, ref limit) != 0)
        {
            limit = new RLimit { Current = Math.Min((ulong)wanted, existing.Max), Max = existing.Max };
            _ = NativeMethods.setrlimit(RlimitNoFile, ref limit);
        }

        return NativeMethods.getrlimit(RlimitNoFile, out var now) == 0 ? now.Current : existing.Current;
    }

    private const int RlimitNoFile = 7;

    [StructLayout(LayoutKind.Sequential)]
    private struct RLimit
    {
        public ulong Current;
        public ulong Max;
    }

    private static class NativeMethods
    {
        [DllImport("libc", SetLastError = true)]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        public static extern int setrlimit(int resource, ref RLimit limit);

        [DllImport("libc", SetLastError = true)]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        public static extern int getrlimit(int resource, out RLimit limit);
    }
}
