using Parley.Core.Events;
using Parley.Core.Ports;
using Parley.Core.Push;

namespace Parley.Specification;

/// <summary>The push queue on one log engine, with a restart over the same data.</summary>
public interface IPushQueueHarness : IAsyncDisposable
{
    IPushQueue Queue { get; }

    Task RestartAsync();
}

/// <summary>
/// The push queue (P5) on every log engine: due times, claims that run out (at least once), coalescing into the job
/// still waiting for a device, retries, and the push dead letters (list, inspect, replay, discard), durable across a restart.
/// </summary>
public abstract class PushQueueSpecification
{
    protected abstract Task<IPushQueueHarness> CreateAsync();

    private static readonly DateTimeOffset T0 = DateTimeOffset.FromUnixTimeMilliseconds(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());

    private static readonly TimeSpan Claim = TimeSpan.FromSeconds(60);

    private static PushJob Job(Guid device, string body = "hello", Guid? message = null) =>
        new(Guid.CreateVersion7(), device, Guid.NewGuid(), PushPlatforms.Webhook, "token-" + device.ToString("N"), Guid.NewGuid(), [message ?? Guid.NewGuid()], 1, "title", body, 1, T0);

    [Fact]
    public async Task A_job_is_handed_out_when_due_once_per_claim_and_again_when_the_claim_runs_out()
    {
        await using var h = await CreateAsync();
        var job = Job(Guid.NewGuid());
        Assert.False(await h.Queue.EnqueueAsync(job, T0.AddSeconds(2), PushJobs.Merge, default));
        Assert.Equal(1, await h.Queue.CountAsync(default));

        Assert.Empty(await h.Queue.ClaimAsync(T0.AddSeconds(1), 10, Claim, default));
        var lease = Assert.Single(await h.Queue.ClaimAsync(T0.AddSeconds(2), 10, Claim, default));
        Assert.Equal(job, lease.Job with { MessageIds = job.MessageIds });
        Assert.Equal(job.MessageIds, lease.Job.MessageIds);
        Assert.Equal(0, lease.Attempts);
        Assert.Empty(await h.Queue.ClaimAsync(T0.AddSeconds(30), 10, Claim, default));

        // The dispatcher that claimed it died: the job comes back once the claim runs out, then is done for good.
        var again = Assert.Single(await h.Queue.ClaimAsync(T0.AddSeconds(2) + Claim, 10, Claim, default));
        Assert.Equal(lease.QueueId, again.QueueId);
        await h.Queue.CompleteAsync(again.QueueId, default);
        Assert.Equal(0, await h.Queue.CountAsync(default));
        Assert.Empty(await h.Queue.ClaimAsync(T0.AddDays(1), 10, Claim, default));
    }

    [Fact]
    public async Task Jobs_for_a_device_still_waiting_become_one_and_a_claimed_one_takes_no_more()
    {
        await using var h = await CreateAsync();
        var device = Guid.NewGuid();
        var first = Job(device, "one");
        Assert.False(await h.Queue.EnqueueAsync(first, T0.AddSeconds(2), PushJobs.Merge, default));
        Assert.True(await h.Queue.EnqueueAsync(Job(device, "two"), T0.AddSeconds(3), PushJobs.Merge, default));
        var replayed = Job(device, "two again", first.MessageIds[0]);
        Assert.True(await h.Queue.EnqueueAsync(replayed, T0.AddSeconds(3), PushJobs.Merge, default));
        Assert.False(await h.Queue.EnqueueAsync(Job(Guid.NewGuid(), "other device"), T0.AddSeconds(2), PushJobs.Merge, default));

        var leases = await h.Queue.ClaimAsync(T0.AddSeconds(2), 10, Claim, default);
        Assert.Equal(2, leases.Count);
        var merged = leases.Single(l => l.Job.DeviceId == device).Job;
        Assert.Equal(first.Id, merged.Id);
        Assert.Equal(2, merged.Count);
        Assert.Equal("2 new messages", merged.Body);

        // Claimed: the next message waits in a job of its own.
        Assert.False(await h.Queue.EnqueueAsync(Job(device, "three"), T0.AddSeconds(4), PushJobs.Merge, default));
        Assert.Equal("three", Assert.Single(await h.Queue.ClaimAsync(T0.AddSeconds(4), 10, Claim, default)).Job.Body);
    }

    [Fact]
    public async Task A_batch_queues_new_devices_at_once_and_folds_into_waiting_jobs_and_into_itself()
    {
        await using var h = await CreateAsync();
        var (waiting, fresh, twice) = (Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid());
        await h.Queue.EnqueueAsync(Job(waiting, "earlier"), T0, PushJobs.Merge, default);
        var merged = await h.Queue.EnqueueAsync([Job(waiting, "later"), Job(fresh, "new"), Job(twice, "first"), Job(twice, "second")], T0.AddSeconds(1), PushJobs.Merge, default);
        Assert.Equal(2, merged);
        Assert.Equal(3, await h.Queue.CountAsync(default));
        var jobs = (await h.Queue.ClaimAsync(T0.AddSeconds(1), 10, Claim, default)).ToDictionary(l => l.Job.DeviceId, l => l.Job);
        Assert.Equal((2, "2 new messages"), (jobs[waiting].Count, jobs[waiting].Body));
        Assert.Equal((1, "new"), (jobs[fresh].Count, jobs[fresh].Body));
        Assert.Equal(2, jobs[twice].Count);
        Assert.Equal(0, await h.Queue.EnqueueAsync([], T0, PushJobs.Merge, default));
    }

    [Fact]
    public async Task Many_messages_to_one_device_at_once_all_land_in_one_job()
    {
        await using var h = await CreateAsync();
        var device = Guid.NewGuid();
        var merged = await Task.WhenAll(Enumerable.Range(0, 20).Select(i => h.Queue.EnqueueAsync(Job(device, $"m{i}"), T0, PushJobs.Merge, default).AsTask()));
        Assert.Equal(19, merged.Count(m => m));
        var lease = Assert.Single(await h.Queue.ClaimAsync(T0, 10, Claim, default));
        Assert.Equal(20, lease.Job.Count);
        Assert.Equal(20, lease.Job.MessageIds.Count);
    }

    [Fact]
    public async Task A_retried_job_comes_back_at_its_time_with_its_attempts_and_survives_a_restart()
    {
        await using var h = await CreateAsync();
        await h.Queue.EnqueueAsync(Job(Guid.NewGuid()), T0, PushJobs.Merge, default);
        var lease = Assert.Single(await h.Queue.ClaimAsync(T0, 10, Claim, default));
        await h.Queue.RetryAsync(lease.QueueId, 1, T0.AddSeconds(1), "Http500", "down", default);

        await h.RestartAsync();
        Assert.Empty(await h.Queue.ClaimAsync(T0.AddMilliseconds(999), 10, Claim, default));
        var retry = Assert.Single(await h.Queue.ClaimAsync(T0.AddSeconds(1), 10, Claim, default));
        Assert.Equal(lease.QueueId, retry.QueueId);
        Assert.Equal(1, retry.Attempts);
    }

    [Fact]
    public async Task Dead_letters_are_listed_newest_first_inspected_replayed_once_and_discarded()
    {
        await using var h = await CreateAsync();
        var dead = h.Queue.DeadLetters;
        Assert.Equal("push", dead.Kind);
        var jobs = new List<PushJob>();
        for (var i = 0; i < 3; i++)
        {
            var job = Job(Guid.NewGuid(), $"dead {i}");
            jobs.Add(job);
            await h.Queue.EnqueueAsync(job, T0, PushJobs.Merge, default);
            var lease = (await h.Queue.ClaimAsync(T0, 10, Claim, default)).Single();
            await h.Queue.DeadLetterAsync(lease, 4, i == 2 ? "Http400" : "Http500", $"error {i}", T0.AddSeconds(i), default);
        }

        Assert.Equal(0, await h.Queue.CountAsync(default));
        await h.RestartAsync();
        dead = h.Queue.DeadLetters;
        var all = await dead.ListAsync(new DeadLetterQuery(10), default);
        Assert.Equal(jobs.Select(j => j.Id.ToString()).Reverse(), all.Select(d => d.Id));
        Assert.Equal(4, all[0].Attempts);
        Assert.Equal(jobs[2].DeviceId.ToString(), all[0].Subject);
        Assert.Equal("error 2", all[0].Error);
        Assert.Equal(jobs[2], PushJob.Deserialize(System.Text.Encoding.UTF8.GetBytes(all[0].Payload)) with { MessageIds = jobs[2].MessageIds });
        Assert.Equal([jobs[1].Id.ToString()], (await dead.ListAsync(new DeadLetterQuery(1, After: all[0].Id), default)).Select(d => d.Id));
        Assert.Equal([jobs[2].Id.ToString()], (await dead.ListAsync(new DeadLetterQuery(10, ErrorType: "Http400"), default)).Select(d => d.Id));

        Assert.True(await dead.ReplayAsync(all[1].Id, T0.AddSeconds(10), default));
        Assert.False(await dead.ReplayAsync(all[1].Id, T0.AddSeconds(10), default));
        Assert.Null(await dead.GetAsync(all[1].Id, default));
        var replayed = Assert.Single(await h.Queue.ClaimAsync(T0.AddSeconds(10), 10, Claim, default));
        Assert.Equal(jobs[1].Id, replayed.Job.Id);
        Assert.Equal((0, 1), (replayed.Attempts, replayed.Replays));

        // A replayed job that dies again is a dead letter again, its replays counted.
        await h.Queue.DeadLetterAsync(replayed, 4, "Http500", "again", T0.AddSeconds(11), default);
        Assert.Equal(1, (await dead.GetAsync(jobs[1].Id.ToString(), default))!.Replays);

        Assert.True(await dead.DiscardAsync(all[2].Id, default));
        Assert.False(await dead.DiscardAsync(all[2].Id, default));
        Assert.Equal(2, (await dead.ListAsync(new DeadLetterQuery(10), default)).Count);
    }
}

/// <summary>Push targets (P5) on every store engine: one device per token, owners, recipients with settings and badge, and their events.</summary>
public abstract class PushDeviceStoreSpecification
{
    protected abstract Task<IStoreHarness> CreateAsync();

    private static DateTimeOffset Now => Envelopes.TruncatedNow();

    private static async Task<Guid> UserAsync(IStoreHarness h)
    {
        var user = new UserRecord(Guid.CreateVersion7(), "u" + Guid.NewGuid().ToString("N")[..12], "User", "hash", Now);
        Assert.True(await h.Users.CreateUserAsync(user, EventContext.New(), default));
        return user.Id;
    }

    /// <summary>
    /// The events matching <paramref name="filter"/> once at least <paramref name="count"/> are readable. PostgreSQL's
    /// outbox withholds an event while any transaction on the server that could still commit an earlier one is open,
    /// other tests' included, so a read right after the write can come too early (a clean-clone run failed on it).
    /// </summary>
    private static async Task<IReadOnlyList<DomainEvent>> VisibleEventsAsync(IStoreHarness h, EventFilter filter, int count)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            var events = await h.Events.ReadAsync(EventCursor.Start, 1000, filter, default);
            if (events.Count >= count || DateTime.UtcNow > deadline)
            {
                return events;
            }

            await Task.Delay(20); // the polling interval of a deadline-bounded wait
        }
    }

    [Fact]
    public async Task A_token_is_one_device_registered_again_it_is_the_same_and_signed_into_another_account_it_moves()
    {
        await using var h = await CreateAsync();
        var (alice, bob) = (await UserAsync(h), await UserAsync(h));
        var (device, created) = await h.PushDevices.RegisterAsync(alice, PushPlatforms.Fcm, "tok-1", Now, EventContext.New(alice), default);
        Assert.True(created);
        var (again, createdAgain) = await h.PushDevices.RegisterAsync(alice, PushPlatforms.Fcm, "tok-1", Now, EventContext.New(alice), default);
        Assert.False(createdAgain);
        Assert.Equal(device, again);
        // The same token on another platform is another device.
        Assert.True((await h.PushDevices.RegisterAsync(alice, PushPlatforms.Apns, "tok-1", Now, EventContext.New(alice), default)).Created);
        Assert.Equal(2, (await h.PushDevices.ListAsync(alice, default)).Count);

        var (moved, _) = await h.PushDevices.RegisterAsync(bob, PushPlatforms.Fcm, "tok-1", Now, EventContext.New(bob), default);
        Assert.NotEqual(device.Id, moved.Id);
        Assert.Equal([PushPlatforms.Apns], (await h.PushDevices.ListAsync(alice, default)).Select(d => d.Platform));
        Assert.Equal([moved], await h.PushDevices.ListAsync(bob, default));

        var events = await VisibleEventsAsync(h, new EventFilter(Type: DomainEventTypes.DeviceRemoved), 1);
        Assert.Contains(events, e => e.AggregateId == alice.ToString() && e.Data.Contains("\"reason\":\"moved\"", StringComparison.Ordinal));
        var registered = await VisibleEventsAsync(h, new EventFilter(Type: DomainEventTypes.DeviceRegistered), 3);
        Assert.Equal(3, registered.Count);
        Assert.All(registered, e => Assert.DoesNotContain("tok-1", e.Data, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Only_its_owner_removes_a_device_and_a_provider_can_remove_it_for_anyone()
    {
        await using var h = await CreateAsync();
        var (alice, bob) = (await UserAsync(h), await UserAsync(h));
        var (device, _) = await h.PushDevices.RegisterAsync(alice, PushPlatforms.Webhook, "tok-2", Now, EventContext.New(alice), default);
        Assert.False(await h.PushDevices.RemoveAsync(device.Id, bob, "user", Now, EventContext.New(bob), default));
        Assert.True(await h.PushDevices.RemoveAsync(device.Id, null, "gone", Now, EventContext.New(), default));
        Assert.False(await h.PushDevices.RemoveAsync(device.Id, alice, "user", Now, EventContext.New(alice), default));
        Assert.Empty(await h.PushDevices.ListAsync(alice, default));
        var removed = Assert.Single(await VisibleEventsAsync(h, new EventFilter(alice.ToString(), DomainEventTypes.DeviceRemoved), 1));
        Assert.Contains("\"reason\":\"gone\"", removed.Data, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Recipients_are_the_other_members_with_devices_with_their_mute_and_total_unread()
    {
        await using var h = await CreateAsync();
        var (sender, muted, plain, noDevice, outsider) = (await UserAsync(h), await UserAsync(h), await UserAsync(h), await UserAsync(h), await UserAsync(h));
        var group = await h.Conversations.CreateGroupAsync(Guid.CreateVersion7(), sender, "g", [muted, plain, noDevice], Now, EventContext.New(sender), default);
        var other = await h.Conversations.CreateGroupAsync(Guid.CreateVersion7(), sender, "h", [plain], Now, EventContext.New(sender), default);
        foreach (var user in new[] { sender, muted, plain, outsider })
        {
            await h.PushDevices.RegisterAsync(user, PushPlatforms.Webhook, "tok-" + user.ToString("N"), Now, EventContext.New(user), default);
        }

        await h.PushDevices.RegisterAsync(plain, PushPlatforms.Fcm, "second-" + plain.ToString("N"), Now, EventContext.New(plain), default);
        var until = Now.AddHours(1);
        await h.Conversations.ChangeSettingsAsync(group.Id, muted, new MemberSettingsChange(FieldChange<bool>.To(true), until, FieldChange<bool>.Unchanged, FieldChange<bool>.Unchanged), Now, EventContext.New(muted), default);
        await h.Messages.PersistBatchAsync([Envelopes.New(group.Id, sender, "1"), Envelopes.New(group.Id, sender, "2"), Envelopes.New(other.Id, sender, "3")], default);

        var recipients = await h.PushDevices.GetRecipientsAsync(group.Id, sender, default);
        Assert.Equal(3, recipients.Count);
        Assert.DoesNotContain(recipients, r => r.Device.UserId == sender || r.Device.UserId == outsider || r.Device.UserId == noDevice);
        var mutedOne = Assert.Single(recipients, r => r.Device.UserId == muted);
        Assert.True(mutedOne.MutedAt(Now));
        Assert.False(mutedOne.MutedAt(until));
        Assert.Equal(2, mutedOne.UnreadTotal);
        Assert.All(recipients.Where(r => r.Device.UserId == plain), r =>
        {
            Assert.False(r.MutedAt(Now));
            Assert.Equal(3, r.UnreadTotal);
        });
    }
}
