using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace Parley.Testing;

/// <summary>
/// A loopback TCP proxy in front of a server that can stop passing replies on while still passing requests on.
/// Commands sent meanwhile are executed (and, with fsync always, persisted) but their callers never hear back:
/// the window a kill -9 leaves between executing a command and writing its reply, made wide enough to hit every
/// time instead of by chance.
/// </summary>
public sealed class ReplyDroppingProxy : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly int _target;
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentDictionary<Socket, byte> _open = new();
    private readonly Task _accepting;
    private volatile bool _dropping;

    private ReplyDroppingProxy(int target)
    {
        _target = target;
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start();
        _accepting = AcceptAsync();
    }

    public static ReplyDroppingProxy Start(int targetPort) => new(targetPort);

    public string Endpoint => $"127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}";

    /// <summary>From now on requests still reach the server, replies are thrown away.</summary>
    public void DropReplies() => _dropping = true;

    /// <summary>Closes every proxied connection and passes replies on again for the connections that follow.</summary>
    public void Reset()
    {
        foreach (var socket in _open.Keys)
        {
            Close(socket);
        }

        _dropping = false;
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptSocketAsync(_stop.Token);
            }
            catch (Exception) when (_stop.IsCancellationRequested)
            {
                return;
            }

            _ = Task.Run(() => RelayAsync(client));
        }
    }

    private async Task RelayAsync(Socket client)
    {
        var server = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        _open[client] = 0;
        _open[server] = 0;
        try
        {
            await server.ConnectAsync(IPAddress.Loopback, _target, _stop.Token);
            await Task.WhenAny(PumpAsync(client, server, replies: false), PumpAsync(server, client, replies: true));
        }
        catch (Exception)
        {
            // The server is down or a side closed: the connection ends, as it would without the proxy.
        }
        finally
        {
            Close(client);
            Close(server);
        }
    }

    private async Task PumpAsync(Socket from, Socket to, bool replies)
    {
        var buffer = new byte[16 * 1024];
        while (true)
        {
            var n = await from.ReceiveAsync(buffer, SocketFlags.None, _stop.Token);
            if (n == 0)
            {
                return;
            }

            if (replies && _dropping)
            {
                continue;
            }

            await to.SendAsync(buffer.AsMemory(0, n), SocketFlags.None, _stop.Token);
        }
    }

    private void Close(Socket socket)
    {
        _open.TryRemove(socket, out _);
        try
        {
            socket.Shutdown(SocketShutdown.Both);
        }
        catch (Exception)
        {
            // Already closed.
        }

        socket.Dispose();
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        Reset();
        await _accepting;
        _stop.Dispose();
    }
}
