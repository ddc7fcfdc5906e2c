using StackExchange.Redis;

namespace Parley.Redis;

/// <summary>
/// The node's one Redis multiplexer (StackExchange.Redis wants one per process, shared), held for the log, presence,
/// leases and the realtime bus. Creating it does no I/O: <see cref="RedisStarter"/> connects it as the host starts,
/// before any component uses it, so nothing blocks in a constructor or a DI factory.
/// </summary>
public sealed class RedisConnection : IAsyncDisposable
{
    private readonly RedisOptions? _options;
    private readonly bool _owned;
    private readonly Lock _gate = new();
    private List<Action<IConnectionMultiplexer>>? _onConnected = [];
    private IConnectionMultiplexer? _multiplexer;
    private IConnectionMultiplexer? _append;

    /// <summary>Not connected yet: <see cref="ConnectAsync"/> connects it.</summary>
    public RedisConnection(RedisOptions options)
    {
        _options = options;
        _owned = true;
    }

    private RedisConnection(IConnectionMultiplexer multiplexer, IConnectionMultiplexer? append)
    {
        _multiplexer = multiplexer;
        _append = append;
        _onConnected = null;
    }

    /// <summary>A multiplexer connected elsewhere (tests, tools); disposing this leaves it open.</summary>
    public static RedisConnection Of(IConnectionMultiplexer multiplexer, IConnectionMultiplexer? append = null) => new(multiplexer, append);

    public bool IsConnected => Volatile.Read(ref _multiplexer) is not null;

    public IConnectionMultiplexer Multiplexer => Volatile.Read(ref _multiplexer)
        ?? throw new InvalidOperationException("Redis is not connected yet: it is connected as the host starts (RedisStarter).");

    /// <summary>
    /// A second connection for replicated appends, when <see cref="RedisOptions.WaitReplicas"/> is set: WAIT holds the
    /// connection it runs on, so it must not be the one everything else shares.
    /// </summary>
    public IConnectionMultiplexer? AppendMultiplexer => _append;

    /// <summary>Runs <paramref name="action"/> once connected (at once if already), e.g. to hook connection events.</summary>
    public void OnConnected(Action<IConnectionMultiplexer> action)
    {
        lock (_gate)
        {
            if (_onConnected is not null)
            {
                _onConnected.Add(action);
                return;
            }
        }

        action(Multiplexer);
    }

    public async Task ConnectAsync(CancellationToken cancellationToken)
    {
        if (IsConnected)
        {
            return;
        }

        var options = _options ?? throw new InvalidOperationException("This connection was made elsewhere.");
        var configuration = ConfigurationOptions.Parse(options.Configuration);
        // Fail the start when Redis is unreachable, rather than start and queue every command until it appears.
        configuration.AbortOnConnectFail = true;
        if (!options.DedicatedSocketThreads)
        {
            configuration.SocketManager = SocketManager.ThreadPool;
        }
        ConnectionMultiplexer multiplexer;
        try
        {
            multiplexer = await ConnectionMultiplexer.ConnectAsync(configuration).WaitAsync(cancellationToken);
        }
        catch (RedisConnectionException ex)
        {
            throw new InvalidOperationException($"Cannot reach Redis at '{configuration.EndPoints.FirstOrDefault()}' ({RedisOptions.Section}:Configuration): {ex.Message}", ex);
        }

        _append = options.WaitReplicas > 0 ? await ConnectionMultiplexer.ConnectAsync(configuration).WaitAsync(cancellationToken) : null;
        List<Action<IConnectionMultiplexer>> callbacks;
        lock (_gate)
        {
            Volatile.Write(ref _multiplexer, multiplexer);
            callbacks = _onConnected ?? [];
            _onConnected = null;
        }

        foreach (var callback in callbacks)
        {
            callback(multiplexer);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_owned)
        {
            return;
        }

        foreach (var multiplexer in new[] { _multiplexer, _append })
        {
            if (multiplexer is not null)
            {
                try
                {
                    await multiplexer.CloseAsync();
                }
                catch (ObjectDisposedException)
                {
                    // The container may have disposed it first when it was resolved as IConnectionMultiplexer.
                }

                multiplexer.Dispose();
            }
        }
    }
}
