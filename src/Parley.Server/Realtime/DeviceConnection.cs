using System.Diagnostics;
using System.Threading.Channels;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.SignalR;
using Parley.Core.Ports;
using Parley.Server.Contracts;
using Parley.Server.Hosting;
using Parley.Server.Messaging;

namespace Parley.Server.Realtime;

/// <summary>
/// One connected device. Everything the server pushes to it goes through one bounded queue and one writer, so:
/// a slow device can never grow server memory past <see cref="RealtimeOptions.OutboundQueueLimit"/> events (it is
/// disconnected instead); and messages leave in sequence order per conversation with no gap and no duplicate. The
/// writer remembers the last sequence it sent per conversation: a message at or below it is dropped, and one past a
/// gap first pulls the missing messages from the store. Resume uses the same mechanism, which is what makes the
/// switch from replay to live seamless.
/// <para>
/// A device exists from before the SignalR handshake (created by the device connection factory when the
/// connection arrives) so that nothing stored after the handshake can miss it; it queues from then on but writes only
/// once the hub has the connection (<see cref="Activate"/>).
/// </para>
/// <para>
/// Most devices are idle most of the time, and a node holds tens of thousands of them: the queue is made by the first
/// event, and the writer runs only while something is queued (it ends when the queue is empty and the next event
/// starts another), so an idle device holds no queue, no writer and no pending read.
/// </para>
/// </summary>
public sealed class DeviceConnection
{
    // What Close and Completed leave in place of a queue that was never needed: refuses every write, like a completed one.
    private static readonly Channel<Outgoing> NeverQueued = CompletedChannel();

    private Channel<Outgoing>? _queue;

    // 1 while a writer runs (or has died with the connection): at most one writer at a time keeps the order.
    private int _writing;
    private Task _writer = Task.CompletedTask;

    // The moment the hub had the connection (Stopwatch), from which ResumeHold counts.
    private long _activatedAt;

    // Per conversation: everything at or below this was sent on this connection or is held by the client (Resume).
    private readonly Dictionary<Guid, long> _lastSent = [];

    // Per conversation: the first sequence this connection actually sent. Below it the connection has a hole it can no
    // longer fill in order, so a later Resume from further back answers "resync" rather than sending anything twice.
    private readonly Dictionary<Guid, long> _firstSent = [];

    // The same two, for change positions (messageEdited, messageDeleted, reactionChanged); guarded by _lastSent's lock.
    private readonly Dictionary<Guid, long> _lastChange = [];
    private readonly Dictionary<Guid, long> _firstChange = [];
    private readonly IClientProxy _client;
    private readonly IMessageStore _messages;
    private readonly RealtimeOptions _options;
    private readonly RealtimeMetrics _metrics;
    private readonly ILogger _logger;
    private readonly ConnectionContext _connection;
    private HubCallerContext? _context;
    private int _closing;

    // SignalR drops a send to a connection it has not registered yet (it registers just before the hub's
    // OnConnectedAsync), so the writer starts only then.
    private readonly TaskCompletionSource _activated = new(TaskCreationOptions.RunContinuationsAsynchronously);

    // A device that connects with ?resume=true gets nothing until it has called Resume (or for ResumeHold at most):
    // a live message must not overtake the replay of what came before it.
    private readonly TaskCompletionSource _released = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>How long a device that announced a Resume may take to send it before live events flow anyway.</summary>
    public static readonly TimeSpan ResumeHold = TimeSpan.FromSeconds(10);

    /// <param name="client">SignalR's proxy for this connection: what the writer sends through.</param>
    public DeviceConnection(ConnectionContext connection, Guid userId, DateTimeOffset tokenExpiresAt, bool holdUntilResume, IClientProxy client, IMessageStore messages,
        RealtimeOptions options, RealtimeMetrics metrics, ILogger logger)
    {
        if (!holdUntilResume)
        {
            _released.TrySetResult();
        }

        _connection = connection;
        UserId = userId;
        TokenExpiresAt = tokenExpiresAt;
        _client = client;
        _messages = messages;
        _options = options;
        _metrics = metrics;
        _logger = logger;
    }

    public string ConnectionId => _connection.ConnectionId;

    public Guid UserId { get; }

    /// <summary>Moved forward by an in-band token refresh; past it the connection is closed (TOKEN_EXPIRED).</summary>
    public DateTimeOffset TokenExpiresAt { get; set; }

    /// <summary>The writer running now, or the last one (completed when nothing was ever queued).</summary>
    public Task Writer => Volatile.Read(ref _writer);

    /// <summary>Typing calls in the current window (rate limit per connection); made by the first typing call.</summary>
    public CallWindow TypingCalls => LazyInitializer.EnsureInitialized(ref _typingCalls, static () => new CallWindow(TimeSpan.FromSeconds(10)));

    private CallWindow? _typingCalls;

    /// <summary>The hub has the connection: what was queued since before the handshake, and everything after, flows.</summary>
    public void Activate(HubCallerContext context)
    {
        _context = context;
        _activatedAt = Stopwatch.GetTimestamp();
        _activated.TrySetResult();
    }

    /// <summary>An event for this device; never blocks the caller. Messages are held to sequence order (see above).</summary>
    public void Push(RealtimeEvent realtimeEvent) => Enqueue(new Outgoing(realtimeEvent, null, null, Stopwatch.GetTimestamp()));

    /// <summary>
    /// Starts recovery for the given positions. Positions are set now, before anything else queued is written, so a
    /// live message that is already waiting in the queue is itself preceded by what was missed.
    /// </summary>
    public Task<IReadOnlyList<ResumeResult>> ResumeAsync(IReadOnlyList<RecoveryPlanner.Start> starts)
    {
        var results = new List<ResumeResult>();
        var fill = new List<Filling>();
        lock (_lastSent)
        {
            foreach (var start in starts)
            {
                var (conversation, from, latest) = start;
                if (latest - from > _options.RecoveryLimit)
                {
                    // Too much to replay over the live channel: the client re-reads history (which shows every change);
                    // live continues after `latest` and, for changes, after the latest change position.
                    _lastSent[conversation] = Math.Max(_lastSent.GetValueOrDefault(conversation), latest);
                    results.Add(new ResumeResult(conversation, ResumeStatuses.Resync, from, latest, 0) { Changes = SkipChanges(start) });
                    _metrics.Recovered(ResumeStatuses.Resync);
                }
                else
                {
                    // Never below what this connection already sent: that would send it again. With nothing sent yet,
                    // the client's own position is the start, even below one an earlier Resume gave.
                    _lastSent[conversation] = _firstSent.ContainsKey(conversation) ? Math.Max(_lastSent.GetValueOrDefault(conversation), from) : from;
                    var changeFrom = ResumeChanges(start);
                    fill.Add(new Filling(conversation, from, changeFrom, start.ChangeLatest) { ChangesSkipped = changeFrom is null ? SkipChanges(start) : null });
                }
            }
        }

        if (fill.Count == 0)
        {
            _released.TrySetResult();
            return Task.FromResult<IReadOnlyList<ResumeResult>>(results);
        }

        var done = new TaskCompletionSource<IReadOnlyList<ResumeResult>>(TaskCreationOptions.RunContinuationsAsynchronously);
        Enqueue(new Outgoing(null, fill, Resumed: recovered =>
        {
            results.AddRange(recovered);
            done.TrySetResult(results);
        }));
        _released.TrySetResult();
        return done.Task;
    }

    /// <summary>
    /// Where a resume's changes start (under the lock), or null when the client gave no change position or there are
    /// more than RecoveryLimit to replay (see <see cref="SkipChanges"/>).
    /// </summary>
    private long? ResumeChanges(RecoveryPlanner.Start start)
    {
        if (start.ChangeFrom is not { } from || start.ChangeLatest - from > _options.RecoveryLimit)
        {
            return null;
        }

        _lastChange[start.ConversationId] = _firstChange.ContainsKey(start.ConversationId) ? Math.Max(_lastChange.GetValueOrDefault(start.ConversationId), from) : from;
        return from;
    }

    /// <summary>
    /// For a client that gave a change position this connection will not replay from (too far back, or its messages
    /// resync): "resync", and live changes continue after the latest one, as live messages do after a message resync.
    /// </summary>
    private ChangeRecovery? SkipChanges(RecoveryPlanner.Start start)
    {
        if (start.ChangeFrom is not { } from)
        {
            return null;
        }

        _lastChange[start.ConversationId] = Math.Max(_lastChange.GetValueOrDefault(start.ConversationId), start.ChangeLatest);
        _metrics.Recovered(ResumeStatuses.Resync);
        return new ChangeRecovery(ResumeStatuses.Resync, from, start.ChangeLatest, 0);
    }

    /// <summary>
    /// Sends whatever the store holds past the last message sent, for every conversation this device has had a message
    /// in (and past the last change, where it has had one): after a bus break, what was published meanwhile would
    /// otherwise wait for the next event to reveal the gap.
    /// </summary>
    public void CatchUp()
    {
        List<Filling> fill;
        lock (_lastSent)
        {
            fill = [.. _lastSent.Select(p => new Filling(p.Key, p.Value, _lastChange.TryGetValue(p.Key, out var change) ? change : null, long.MaxValue))];
        }

        if (fill.Count > 0)
        {
            Enqueue(new Outgoing(null, fill, Resumed: _ => { }));
        }
    }

    /// <summary>Ends the connection with a reason the client is told first when it is still reading.</summary>
    public void Close(string reason, string message)
    {
        if (Interlocked.Exchange(ref _closing, 1) == 1)
        {
            return;
        }

        EndQueue();
        _ = Task.Run(async () =>
        {
            // Long enough for a reading client on a busy node (1 s was missed under a full test run on two cores, and
            // the client lost its reason); a client that does not read is aborted after it all the same.
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            try
            {
                await SendAsync(new DisconnectingEvent(new DisconnectingView(reason, message)), timeout.Token);
            }
            catch (Exception ex) when (ex is OperationCanceledException or IOException or InvalidOperationException)
            {
                // Not reading at all: the abort below is all it gets.
            }

            Abort();
        });
    }

    private void Abort()
    {
        if (_context is { } context)
        {
            context.Abort();
        }
        else
        {
            _connection.Abort();
        }
    }

    /// <summary>The hub saw the connection end: stop writing and let the writer finish.</summary>
    public void Completed() => EndQueue();

    /// <summary>Nothing more is queued; what already is still goes out. With no queue yet, none is made.</summary>
    private void EndQueue() => (Interlocked.CompareExchange(ref _queue, NeverQueued, null) ?? NeverQueued).Writer.TryComplete();

    private static Channel<Outgoing> CompletedChannel()
    {
        var channel = Channel.CreateBounded<Outgoing>(1);
        channel.Writer.TryComplete();
        return channel;
    }

    private Channel<Outgoing> Queue()
    {
        if (Volatile.Read(ref _queue) is { } queue)
        {
            return queue;
        }

        var created = Channel.CreateBounded<Outgoing>(new BoundedChannelOptions(_options.OutboundQueueLimit) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });
        return Interlocked.CompareExchange(ref _queue, created, null) ?? created;
    }

    private void Enqueue(Outgoing item)
    {
        if (Queue().Writer.TryWrite(item))
        {
            StartWriter();
            return;
        }

        if (Volatile.Read(ref _closing) == 1)
        {
            return;
        }

        _metrics.SlowConsumerDisconnected();
        Log.SlowConsumer(_logger, ConnectionId, UserId, _options.OutboundQueueLimit);
        item.Resumed?.Invoke([]);
        Close(RealtimeErrors.SlowConsumer, $"More than {_options.OutboundQueueLimit} events were waiting for this connection; reconnect and Resume");
    }

    /// <summary>Starts a writer for what was just queued unless one is running; never on the caller's thread.</summary>
    private void StartWriter()
    {
        if (Interlocked.CompareExchange(ref _writing, 1, 0) == 0)
        {
            Volatile.Write(ref _writer, Task.Run(WriteAsync));
        }
    }

    /// <summary>
    /// Writes until the queue is empty, then ends. The queue was not empty when it started; an event queued while it
    /// ends either sees it still running (and is written by it) or starts the next writer.
    /// </summary>
    private async Task WriteAsync()
    {
        var aborted = _connection.ConnectionClosed;
        var reader = _queue!.Reader;
        try
        {
            await _activated.Task.WaitAsync(aborted);
            if (!_released.Task.IsCompleted)
            {
                // ResumeHold counts from the hub having the connection, however late the first event comes.
                var left = ResumeHold - Stopwatch.GetElapsedTime(_activatedAt);
                try
                {
                    if (left > TimeSpan.Zero)
                    {
                        await _released.Task.WaitAsync(left, aborted);
                    }
                }
                catch (TimeoutException)
                {
                    // No Resume came: live events flow from here.
                }
            }

            while (true)
            {
                aborted.ThrowIfCancellationRequested();
                if (!reader.TryRead(out var item))
                {
                    Volatile.Write(ref _writing, 0);
                    if (!reader.TryPeek(out _) || Interlocked.CompareExchange(ref _writing, 1, 0) != 0)
                    {
                        return; // empty, or the writer that the newer event started has it
                    }

                    continue;
                }

                await WriteOneAsync(item, aborted);
            }
        }
        catch (OperationCanceledException)
        {
            // The connection ended.
        }
        catch (Exception ex)
        {
            Log.RealtimeWriterFailed(_logger, ex, ConnectionId);
            Abort();
        }

        // Only a writer that ended with the connection gets here (it still holds _writing, so no other starts):
        // anyone still waiting on a Resume gets an answer rather than a hang.
        while (reader.TryRead(out var left))
        {
            left.Resumed?.Invoke([]);
        }
    }

    private async Task WriteOneAsync(Outgoing item, CancellationToken aborted)
    {
        if (item.Fill is not null)
        {
            var recovered = new List<ResumeResult>();
            foreach (var filling in item.Fill)
            {
                var (conversation, from, changeFrom, changeLatest) = filling;
                var upTo = await FillAsync(conversation, long.MaxValue, aborted);
                bool hole;
                lock (_lastSent)
                {
                    hole = _firstSent.TryGetValue(conversation, out var first) && first > from + 1;
                }

                // Live messages went out before the client asked for older ones: sending those now would break
                // the order, so the client reads (from, upTo] from history, as for any resync.
                var status = hole ? ResumeStatuses.Resync : ResumeStatuses.Recovered;
                recovered.Add(new ResumeResult(conversation, status, from, upTo, hole ? 0 : upTo - from)
                {
                    Changes = changeFrom is { } changesFrom ? await FillChangesAsync(conversation, changesFrom, changeLatest, aborted) : filling.ChangesSkipped,
                });
                _metrics.Recovered(status);
            }

            item.Resumed!(recovered);
        }
        else if (item.Event is MessageCreatedEvent { Message: var message } created)
        {
            long last;
            lock (_lastSent)
            {
                last = _lastSent.TryGetValue(message.ConversationId, out var known) ? known : message.Sequence - 1;
            }

            if (message.Sequence <= last)
            {
                return; // already sent (replayed, or the same event from another node)
            }

            if (message.Sequence > last + 1)
            {
                await FillAsync(message.ConversationId, message.Sequence - 1, aborted);
            }

            if (Claim(message.ConversationId, message.Sequence))
            {
                await SendAsync(created, aborted);
                _metrics.OutboundWaited(Stopwatch.GetElapsedTime(item.QueuedAt));
            }
        }
        else if (item.Event is MessageChangeEvent change)
        {
            await WriteChangeAsync(change, aborted);
        }
        else
        {
            await SendAsync(item.Event!, aborted);
        }
    }

    /// <summary>
    /// A change goes out after the message it changes and after every earlier change of its conversation: a message
    /// this connection has not sent yet is filled from the store first, and so is a gap in the change positions. A
    /// change position already sent is dropped (a replay, or the same event from another node).
    /// </summary>
    private async Task WriteChangeAsync(MessageChangeEvent change, CancellationToken aborted)
    {
        var conversation = change.ConversationId;
        long lastMessage;
        long lastChange;
        lock (_lastSent)
        {
            lastMessage = _lastSent.TryGetValue(conversation, out var known) ? known : change.Sequence;
            lastChange = _lastChange.TryGetValue(conversation, out var seen) ? seen : change.ChangeSequence - 1;
        }

        if (change.ChangeSequence <= lastChange)
        {
            return;
        }

        if (change.Sequence > lastMessage)
        {
            await FillAsync(conversation, change.Sequence, aborted);
        }

        if (change.ChangeSequence > lastChange + 1)
        {
            await FillChangesAsync(conversation, lastChange, change.ChangeSequence - 1, aborted);
        }

        if (ClaimChange(conversation, change.ChangeSequence))
        {
            await SendAsync(change, aborted);
        }
    }

    /// <summary>
    /// Sends the stored changes after the last one sent, up to <paramref name="upTo"/>, at most RecoveryLimit of them, each
    /// after its message. The answer for a Resume: "resync" when changes went out live before the client asked for
    /// older ones (as for messages) or when more than RecoveryLimit were missed.
    /// </summary>
    private async Task<ChangeRecovery> FillChangesAsync(Guid conversation, long from, long upTo, CancellationToken cancellationToken)
    {
        long last;
        lock (_lastSent)
        {
            last = _lastChange.GetValueOrDefault(conversation, from);
        }

        var budget = _options.RecoveryLimit;
        var sent = 0L;
        while (budget > 0 && last < upTo)
        {
            var changes = await _messages.GetChangesAsync(conversation, last, (int)Math.Min(Math.Min(budget, 200), upTo - last), cancellationToken);
            foreach (var stored in changes)
            {
                long lastMessage;
                lock (_lastSent)
                {
                    lastMessage = _lastSent.GetValueOrDefault(conversation, stored.Message.Sequence);
                }

                if (stored.Message.Sequence > lastMessage)
                {
                    await FillAsync(conversation, stored.Message.Sequence, cancellationToken);
                }

                if (ClaimChange(conversation, stored.ChangeSequence))
                {
                    await SendAsync(MessageChangeEvent.From(stored), cancellationToken);
                    sent++;
                }

                last = stored.ChangeSequence;
            }

            budget -= changes.Count;
            if (changes.Count == 0)
            {
                break;
            }
        }

        bool hole;
        lock (_lastSent)
        {
            hole = _firstChange.TryGetValue(conversation, out var first) && first > from + 1;
            last = Math.Max(last, _lastChange.GetValueOrDefault(conversation));
        }

        var complete = last >= upTo || upTo == long.MaxValue;
        return new ChangeRecovery(hole || !complete ? ResumeStatuses.Resync : ResumeStatuses.Recovered, from, last, hole ? 0 : sent);
    }

    /// <summary>Records a change position as sent, before it is sent, or says it already was (see <see cref="Claim"/>).</summary>
    private bool ClaimChange(Guid conversation, long changeSequence)
    {
        lock (_lastSent)
        {
            if (_lastChange.TryGetValue(conversation, out var last) && changeSequence <= last)
            {
                return false;
            }

            _lastChange[conversation] = changeSequence;
            _firstChange.TryAdd(conversation, changeSequence);
            return true;
        }
    }

    /// <summary>Sends the stored messages after the last one sent, up to <paramref name="upTo"/>, at most RecoveryLimit of them.</summary>
    private async Task<long> FillAsync(Guid conversation, long upTo, CancellationToken cancellationToken)
    {
        long last;
        lock (_lastSent)
        {
            last = _lastSent.GetValueOrDefault(conversation);
        }

        var budget = _options.RecoveryLimit;
        while (budget > 0 && last < upTo)
        {
            var page = await _messages.GetMessagesAsync(conversation, new HistoryQuery(null, last, (int)Math.Min(Math.Min(budget, 200), upTo - last)) { Viewer = UserId }, cancellationToken);
            foreach (var stored in page.Items)
            {
                if (Claim(conversation, stored.Sequence))
                {
                    await SendAsync(new MessageCreatedEvent(MessageView.From(stored)), cancellationToken);
                }

                last = stored.Sequence;
            }

            budget -= page.Items.Count;
            if (!page.HasMore || page.Items.Count == 0)
            {
                break;
            }
        }

        lock (_lastSent)
        {
            return Math.Max(last, _lastSent.GetValueOrDefault(conversation));
        }
    }

    /// <summary>
    /// Records a message as sent, before it is sent, or says it already was. Recording first and in one step is what
    /// lets a concurrent Resume see every message this connection has committed to.
    /// </summary>
    private bool Claim(Guid conversation, long sequence)
    {
        lock (_lastSent)
        {
            if (_lastSent.TryGetValue(conversation, out var last) && sequence <= last)
            {
                return false;
            }

            _lastSent[conversation] = sequence;
            _firstSent.TryAdd(conversation, sequence);
            return true;
        }
    }

    private Task SendAsync(RealtimeEvent realtimeEvent, CancellationToken cancellationToken) =>
        _client.SendAsync(realtimeEvent.Name, realtimeEvent.Payload, cancellationToken);

    /// <summary>
    /// An event to send, or a gap to fill from the store (Resume, CatchUp) with who to tell when it is done.
    /// <paramref name="QueuedAt"/> (a Stopwatch timestamp) times a live message's wait in this queue and its write.
    /// </summary>
    private sealed record Outgoing(RealtimeEvent? Event, List<Filling>? Fill, Action<IReadOnlyList<ResumeResult>>? Resumed, long QueuedAt = 0);

    /// <summary>A conversation to fill from <c>From</c> (messages) and, when given, from <c>ChangeFrom</c> up to <c>ChangeLatest</c> (changes).</summary>
    private readonly record struct Filling(Guid Conversation, long From, long? ChangeFrom, long ChangeLatest)
    {
        /// <summary>What to answer for the changes when they are not replayed although the client gave a position.</summary>
        public ChangeRecovery? ChangesSkipped { get; init; }
    }
}
