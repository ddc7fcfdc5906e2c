using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Threading.Channels;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Parley.Core.Messaging;
using Parley.Core.Ports;
using Parley.Hosting;
using Parley.Server.Hosting;
using Parley.Server.Messaging;
using Parley.Server.Pipeline;
using Parley.Specification;

namespace Parley.Server.Tests;

/// <summary>
/// The group-commit primitive and the delivery workers' use of it for store transactions. Runs are held open with
/// gates, so what waits and what goes together is decided by the test, not by timing.
/// </summary>
public sealed class GroupCommitTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task Callers_that_arrive_during_a_run_go_together_in_the_next_one_in_arrival_order()
    {
        var runs = new BlockingRuns();
        var group = new GroupCommit<int, int>(runs.RunAsync);
        var first = group.SubmitAsync(1);
        var firstRun = await runs.NextAsync();
        var queued = new[] { group.SubmitAsync(2), group.SubmitAsync(3), group.SubmitAsync(4) };

        firstRun.Release();
        Assert.Equal(10, await first.WaitAsync(Deadline));
        var secondRun = await runs.NextAsync();
        Assert.Equal(new[] { 2, 3, 4 }, secondRun.Items);
        secondRun.Release();
        Assert.Equal(new[] { 20, 30, 40 }, await Task.WhenAll(queued).WaitAsync(Deadline));
    }

    [Fact]
    public async Task With_two_lanes_a_second_caller_runs_at_once_and_only_a_third_waits()
    {
        var runs = new BlockingRuns();
        var group = new GroupCommit<int, int>(runs.RunAsync, lanes: 2);
        var first = group.SubmitAsync(1);
        var firstRun = await runs.NextAsync();
        var second = group.SubmitAsync(2);
        var secondRun = await runs.NextAsync();
        Assert.Equal(new[] { 2 }, secondRun.Items);

        var third = group.SubmitAsync(3);
        var fourth = group.SubmitAsync(4);
        Assert.False(runs.HasWaiting);
        secondRun.Release();
        Assert.Equal(20, await second.WaitAsync(Deadline));
        var thirdRun = await runs.NextAsync();
        Assert.Equal(new[] { 3, 4 }, thirdRun.Items);
        thirdRun.Release();
        firstRun.Release();
        Assert.Equal(new[] { 10, 30, 40 }, await Task.WhenAll(first, third, fourth).WaitAsync(Deadline));
    }

    [Fact]
    public async Task A_run_that_throws_fails_its_callers_and_the_next_run_still_goes()
    {
        var calls = 0;
        var group = new GroupCommit<int, int>(items => Interlocked.Increment(ref calls) == 1
            ? throw new InvalidOperationException("boom")
            : Task.FromResult<IReadOnlyList<int>>([.. items]));
        await Assert.ThrowsAsync<InvalidOperationException>(() => group.SubmitAsync(1).WaitAsync(Deadline));
        Assert.Equal(2, await group.SubmitAsync(2).WaitAsync(Deadline));
    }

    [Fact]
    public async Task Waiting_partition_batches_share_one_store_transaction_each_under_its_own_fence()
    {
        var store = new GatedStore();
        var persist = Create(store, lanes: 1);
        var c1 = Guid.NewGuid();
        var c2 = Guid.NewGuid();
        var c3 = Guid.NewGuid();
        var first = persist.PersistAsync([Envelopes.New(c1, c1)], new PartitionFence(1, 1));
        await store.Entered.WaitAsync(Deadline);
        var second = persist.PersistAsync([Envelopes.New(c2, c2, "a"), Envelopes.New(c2, c2, "b")], new PartitionFence(2, 1));
        var third = persist.PersistAsync([Envelopes.New(c3, c3)], new PartitionFence(3, 4));

        store.Open();
        Assert.Single(await first.WaitAsync(Deadline));
        var secondResults = await second.WaitAsync(Deadline);
        Assert.Equal(new[] { "a", "b" }, secondResults.Select(r => r.Envelope.Content));
        Assert.Equal(c3, Assert.Single(await third.WaitAsync(Deadline)).Envelope.ConversationId);
        Assert.Equal(new[] { new[] { 1 }, new[] { 2, 3 } }, store.Transactions.Select(t => t.Select(f => f.Partition).ToArray()));
    }

    [Fact]
    public async Task A_poison_batch_in_a_group_fails_alone_and_the_other_partitions_are_stored()
    {
        var store = new GatedStore();
        var persist = Create(store, lanes: 1);
        var blocker = persist.PersistAsync([Envelopes.New(Guid.NewGuid(), Guid.NewGuid())], new PartitionFence(1, 1));
        await store.Entered.WaitAsync(Deadline);
        var poisoned = persist.PersistAsync([Envelopes.New(Guid.NewGuid(), Guid.NewGuid(), "poison")], new PartitionFence(2, 1));
        var healthy = persist.PersistAsync([Envelopes.New(Guid.NewGuid(), Guid.NewGuid(), "fine")], new PartitionFence(3, 1));

        store.Open();
        await blocker.WaitAsync(Deadline);
        await Assert.ThrowsAsync<InvalidOperationException>(() => poisoned.WaitAsync(Deadline));
        Assert.Equal("fine", Assert.Single(await healthy.WaitAsync(Deadline)).Envelope.Content);
        Assert.Equal(new[] { new[] { 1 }, new[] { 2, 3 }, new[] { 2 }, new[] { 3 } }, store.Transactions.Select(t => t.Select(f => f.Partition).ToArray()));
    }

    [Fact]
    public async Task An_outage_fails_the_whole_group_at_once_instead_of_trying_each_batch_against_a_dead_store()
    {
        var store = new GatedStore();
        var persist = Create(store, lanes: 1);
        var blocker = persist.PersistAsync([Envelopes.New(Guid.NewGuid(), Guid.NewGuid())], new PartitionFence(1, 1));
        await store.Entered.WaitAsync(Deadline);
        var a = persist.PersistAsync([Envelopes.New(Guid.NewGuid(), Guid.NewGuid(), "outage")], new PartitionFence(2, 1));
        var b = persist.PersistAsync([Envelopes.New(Guid.NewGuid(), Guid.NewGuid())], new PartitionFence(3, 1));

        store.Open();
        await blocker.WaitAsync(Deadline);
        await Assert.ThrowsAsync<TimeoutException>(() => a.WaitAsync(Deadline));
        await Assert.ThrowsAsync<TimeoutException>(() => b.WaitAsync(Deadline));
        Assert.Equal(2, store.Transactions.Count);
    }

    private static PersistGroupCommit Create(IMessageStore store, int lanes)
    {
        var meters = new ServiceCollection().AddMetrics().BuildServiceProvider().GetRequiredService<IMeterFactory>();
        return new PersistGroupCommit(store, new TransientErrors([]), new DeliveryMetrics(meters, new IngressMetrics(meters)),
            Options.Create(new LogOptions { PersistConcurrency = lanes }), TimeProvider.System);
    }

    /// <summary>Each run waits until the test releases it; the test takes runs in the order they started.</summary>
    private sealed class BlockingRuns
    {
        private readonly Channel<Run> _started = Channel.CreateUnbounded<Run>();

        public bool HasWaiting => _started.Reader.Count > 0;

        public async Task<IReadOnlyList<int>> RunAsync(IReadOnlyList<int> items)
        {
            var run = new Run([.. items]);
            _started.Writer.TryWrite(run);
            await run.Released.Task;
            return [.. items.Select(i => i * 10)];
        }

        public async Task<Run> NextAsync() => await _started.Reader.ReadAsync().AsTask().WaitAsync(Deadline);

        public sealed record Run(int[] Items)
        {
            public TaskCompletionSource Released { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

            public void Release() => Released.SetResult();
        }
    }

    /// <summary>
    /// Records each transaction's fences; the first transaction waits until <see cref="Open"/>, so the next ones queue
    /// behind it. A batch with "poison" content throws, one with "outage" throws what the pipeline treats as transient.
    /// </summary>
    private sealed class GatedStore : IMessageStore
    {
        private readonly TaskCompletionSource _open = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _entered = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public ConcurrentQueue<PartitionFence[]> Transactions { get; } = new();

        public Task Entered => _entered.Task;

        public void Open() => _open.SetResult();

        public async Task<IReadOnlyList<PersistResult>> PersistBatchAsync(IReadOnlyList<MessageEnvelope> batch, IReadOnlyList<PartitionFence> fences, CancellationToken cancellationToken)
        {
            Transactions.Enqueue([.. fences]);
            _entered.TrySetResult();
            await _open.Task;
            if (batch.Any(e => e.Content == "poison"))
            {
                throw new InvalidOperationException("poisoned content");
            }

            if (batch.Any(e => e.Content == "outage"))
            {
                throw new TimeoutException("the store is unreachable");
            }

            return [.. batch.Select(e => new PersistResult(e, PersistOutcome.Inserted, null, [], null))];
        }

        public Task<Core.Ports.MessagePage> GetMessagesAsync(Guid conversationId, HistoryQuery query, CancellationToken cancellationToken) => throw new NotSupportedException();

        public Task<StoredMessage?> GetMessageAsync(Guid messageId, CancellationToken cancellationToken) => throw new NotSupportedException();

        public Task<IReadOnlyList<StoredChange>> GetChangesAsync(Guid conversationId, long afterChangeSequence, int limit, CancellationToken cancellationToken) => throw new NotSupportedException();

        public Task<IReadOnlyList<StoredMessage>> GetPinsAsync(Guid conversationId, int limit, CancellationToken cancellationToken) => throw new NotSupportedException();

        public Task<IReadOnlyList<MessageEditRecord>> GetEditsAsync(Guid messageId, CancellationToken cancellationToken) => throw new NotSupportedException();

        public Task<Core.Ports.MessagePage> GetThreadAsync(Guid rootId, HistoryQuery query, CancellationToken cancellationToken) => throw new NotSupportedException();

        public Task<IReadOnlyList<PollVote>> GetVotesAsync(Guid messageId, CancellationToken cancellationToken) => throw new NotSupportedException();

        // The expiry worker asks every second; nothing here expires.
        public Task<IReadOnlyList<ExpiringMessage>> GetExpiredAsync(DateTimeOffset now, int limit, CancellationToken cancellationToken) =>
            Task.FromResult<IReadOnlyList<ExpiringMessage>>([]);

        public Task<StoredMessage?> FindByIdempotencyKeyAsync(string idempotencyKey, CancellationToken cancellationToken) => throw new NotSupportedException();

        public Task<IReadOnlyDictionary<string, Guid>> FindIdsByIdempotencyKeysAsync(IReadOnlyCollection<string> idempotencyKeys, CancellationToken cancellationToken) => throw new NotSupportedException();

        public Task<MessageStatusRecord?> GetMessageStatusAsync(Guid messageId, CancellationToken cancellationToken) => throw new NotSupportedException();

        public Task<MessageStatusRecord?> GetMessageStatusByIdempotencyKeyAsync(string idempotencyKey, CancellationToken cancellationToken) => throw new NotSupportedException();
    }
}
