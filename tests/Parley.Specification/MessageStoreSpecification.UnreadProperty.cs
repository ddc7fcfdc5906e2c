using System.Text;
using CsCheck;
using Parley.Core.Membership;
using Parley.Core.Messaging;
using Parley.Core.Ports;

namespace Parley.Specification;

/// <summary>
/// Unread counts against an independent model (issue 15): random interleavings of sends, deletes for everyone and for
/// me, edits, reactions, receipts and member changes in a group of five users, checked after every step.
/// </summary>
public abstract partial class MessageStoreSpecification
{
    private const int PropertyUsers = 5;

    [Fact]
    public async Task Unread_counts_and_totals_match_the_history_after_every_step_of_random_sends_deletes_reads_and_member_changes()
    {
        // One store for every case (a store per case is too slow on PostgreSQL); each case has its own users and
        // group, so their totals see nothing of the other cases.
        await using var h = await CreateAsync();
        await UnreadGen.Steps.SampleAsync(steps => new UnreadRun(h).RunAsync(steps), iter: 50, threads: 1, print: UnreadGen.Print);
    }

    /// <summary>One write of a persist batch. Messages are named by an index taken modulo the number sent so far (earlier writes of the same batch included), so every shrunk list still means something.</summary>
    private abstract record UnreadWrite;

    private sealed record SendWrite(int User) : UnreadWrite
    {
        public override string ToString() => $"u{User} sends";
    }

    private sealed record DeleteWrite(int Message, int User) : UnreadWrite
    {
        public override string ToString() => $"u{User} deletes #{Message} for everyone";
    }

    private sealed record EditWrite(int Message) : UnreadWrite
    {
        public override string ToString() => $"the sender edits #{Message}";
    }

    private sealed record ReactWrite(int Message, int User, bool Added) : UnreadWrite
    {
        public override string ToString() => $"u{User} {(Added ? "adds" : "removes")} a reaction on #{Message}";
    }

    /// <summary>A step that does not apply when it comes (a non-member sending, nothing to delete yet) is skipped and shown as such.</summary>
    private abstract record UnreadStep;

    /// <summary>One persist batch.</summary>
    private sealed record PersistStep(UnreadWrite[] Writes) : UnreadStep
    {
        public override string ToString() => Writes.Length == 1 ? Writes[0].ToString()! : $"batch [{string.Join("; ", Writes.Select(w => w.ToString()))}]";
    }

    private sealed record HideStep(int User, int Message) : UnreadStep
    {
        public override string ToString() => $"u{User} deletes #{Message} for me";
    }

    /// <summary>A receipt up to the last sequence minus <see cref="Back"/> (negative: past the end, which the store caps).</summary>
    private sealed record ReceiptStep(int User, ReceiptKind Kind, int Back) : UnreadStep
    {
        public string Verb => Kind == ReceiptKind.Read ? "reads" : "has delivered";

        public override string ToString() => $"u{User} {Verb} up to last{(Back > 0 ? "-" : "+")}{Math.Abs(Back)}";
    }

    /// <summary>The current owner adds <see cref="User"/> (a member already in stays as they are).</summary>
    private sealed record AddStep(int User) : UnreadStep
    {
        public override string ToString() => $"owner adds u{User}";
    }

    private sealed record RemoveStep(int User) : UnreadStep
    {
        public override string ToString() => $"owner removes u{User}";
    }

    private sealed record LeaveStep(int User) : UnreadStep
    {
        public override string ToString() => $"u{User} leaves";
    }

    private static class UnreadGen
    {
        private static readonly Gen<int> User = Gen.Int[0, PropertyUsers - 1];

        private static readonly Gen<int> Message = Gen.Int[0, 24];

        private static readonly Gen<UnreadWrite> Write = Gen.Frequency(
            (6, User.Select(u => (UnreadWrite)new SendWrite(u))),
            (3, Gen.Select(Message, User, (m, u) => (UnreadWrite)new DeleteWrite(m, u))),
            (1, Message.Select(m => (UnreadWrite)new EditWrite(m))),
            (1, Gen.Select(Message, User, Gen.Bool, (m, u, added) => (UnreadWrite)new ReactWrite(m, u, added))));

        private static readonly Gen<UnreadStep> Step = Gen.Frequency(
            (6, Write.Select(w => (UnreadStep)new PersistStep([w]))),
            (2, Write.Array[2, 4].Select(ws => (UnreadStep)new PersistStep(ws))),
            (2, Gen.Select(User, Message, (u, m) => (UnreadStep)new HideStep(u, m))),
            (3, Gen.Select(User, Gen.Int[-2, 6], (u, back) => (UnreadStep)new ReceiptStep(u, ReceiptKind.Read, back))),
            (1, Gen.Select(User, Gen.Int[-2, 6], (u, back) => (UnreadStep)new ReceiptStep(u, ReceiptKind.Delivered, back))),
            (2, User.Select(u => (UnreadStep)new AddStep(u))),
            (2, User.Select(u => (UnreadStep)new RemoveStep(u))),
            (2, User.Select(u => (UnreadStep)new LeaveStep(u))));

        /// <summary>Four of the five users start in the group, so most sends apply; adds bring u4 (and those who left) in.</summary>
        public const string Start = "u0 creates a group with u1, u2 and u3";

        public static readonly Gen<UnreadStep[]> Steps = Step.Array[1, 25];

        public static string Print(UnreadStep[] steps) =>
            $"{Start}, then:" + string.Concat(steps.Select((s, i) => $"\n  {i + 1}. {s}"));
    }

    /// <summary>
    /// The test's own statement of the unread rule, kept apart from the planners: a member's unread messages are those
    /// above their read watermark, not theirs, not deleted for everyone and not hidden by them. The watermark rules it
    /// models: sending reads up to your own message; a newcomer (or one who comes back) has read up to the last
    /// sequence when added; a read receipt moves it up to the request, capped at the last sequence, never down (delivered
    /// follows the same rules, and reading delivers).
    /// </summary>
    private sealed class UnreadModel
    {
        public sealed class Message(long sequence, int sender)
        {
            public long Sequence { get; } = sequence;

            public int Sender { get; } = sender;

            public bool Deleted { get; set; }
        }

        public List<Message> Messages { get; } = [];

        /// <summary>Members and their (delivered, read) watermarks.</summary>
        public Dictionary<int, (long Delivered, long Read)> Members { get; } = [];

        public HashSet<(int User, long Sequence)> Hidden { get; } = [];

        public long LastSequence => Messages.Count;

        public long Unread(int user) => Members.TryGetValue(user, out var marks)
            ? Messages.Count(m => m.Sequence > marks.Read && m.Sender != user && !m.Deleted && !Hidden.Contains((user, m.Sequence)))
            : 0;

        public long Send(int sender)
        {
            Messages.Add(new Message(LastSequence + 1, sender));
            Members[sender] = (LastSequence, LastSequence);
            return LastSequence;
        }

        public void Receipt(int user, ReceiptKind kind, long upTo)
        {
            var (delivered, read) = Members[user];
            var capped = Math.Min(upTo, LastSequence);
            Members[user] = kind == ReceiptKind.Read ? (Math.Max(delivered, capped), Math.Max(read, capped)) : (Math.Max(delivered, capped), read);
        }
    }

    /// <summary>One generated case: five fresh users, a fresh group, the steps applied to the store and the model alike.</summary>
    private sealed class UnreadRun(IStoreHarness h)
    {
        private readonly UnreadModel _model = new();
        private readonly List<StoredMessage> _stored = [];
        private readonly List<string> _trace = [];
        private Guid[] _users = [];
        private Guid _conversation;
        private int _owner;
        private int _edits;
        private UnreadStep? _applying;

        public async Task RunAsync(UnreadStep[] steps)
        {
            _users = new Guid[PropertyUsers];
            for (var i = 0; i < _users.Length; i++)
            {
                _users[i] = await UserAsync(h);
            }

            _conversation = (await h.Conversations.CreateGroupAsync(Guid.CreateVersion7(), _users[0], "unread", [_users[1], _users[2], _users[3]], Now, Ctx, default)).Id;
            foreach (var member in new[] { 0, 1, 2, 3 })
            {
                _model.Members[member] = (0, 0);
            }

            _trace.Add(UnreadGen.Start);
            await CheckAsync();
            foreach (var step in steps)
            {
                _applying = step;
                _trace.Add(await ApplyAsync(step));
                _applying = null;
                await CheckAsync();
            }
        }

        private async Task<string> ApplyAsync(UnreadStep step)
        {
            switch (step)
            {
                case PersistStep persist:
                    return await PersistAsync(persist.Writes);

                case HideStep hide:
                    if (!_model.Members.ContainsKey(hide.User) || _stored.Count == 0)
                    {
                        return $"skipped: {hide}";
                    }

                    var target = Resolve(hide.Message);
                    var hidden = _model.Hidden.Add((hide.User, target.Sequence));
                    var result = await h.Personal.HideMessageAsync(_users[hide.User], target, Now, Ctx, default);
                    Expect(result == new HideResult(hidden, _model.Unread(hide.User)), $"hide returned {result}, expected {new HideResult(hidden, _model.Unread(hide.User))}");
                    return $"u{hide.User} deletes seq {target.Sequence} for me";

                case ReceiptStep receipt:
                    if (!_model.Members.ContainsKey(receipt.User))
                    {
                        return $"skipped: {receipt}";
                    }

                    var upTo = Math.Max(0, _model.LastSequence - receipt.Back);
                    _model.Receipt(receipt.User, receipt.Kind, upTo);
                    var update = await h.Receipts.AdvanceReceiptAsync(_conversation, _users[receipt.User], receipt.Kind, upTo, Ctx, default);
                    var marks = _model.Members[receipt.User];
                    Expect(update is not null && update.UnreadCount == _model.Unread(receipt.User) && update.Watermarks == new ReceiptWatermarks(marks.Delivered, marks.Read),
                        $"receipt returned {update}, expected unread {_model.Unread(receipt.User)} and watermarks {marks}");
                    return $"u{receipt.User} {receipt.Verb} up to {upTo} (last {_model.LastSequence})";

                case AddStep add:
                    var change = await MembershipAsync(new AddMembersCommand(_users[_owner], [_users[add.User]], ParticipantRoles.Member, 100));
                    var isNew = _model.Members.TryAdd(add.User, (_model.LastSequence, _model.LastSequence));
                    Expect(change.Added.Select(a => a.UserId).SequenceEqual(isNew ? [_users[add.User]] : []), $"added {change.Added.Count}, expected {(isNew ? 1 : 0)}");
                    return $"u{_owner} (owner) adds u{add.User}{(isNew ? $" at last {_model.LastSequence}" : ", already a member")}";

                case RemoveStep remove:
                    if (!_model.Members.ContainsKey(remove.User) || remove.User == _owner)
                    {
                        return $"skipped: {remove}";
                    }

                    var removed = await MembershipAsync(new RemoveMemberCommand(_users[_owner], _users[remove.User]));
                    _model.Members.Remove(remove.User);
                    Expect(removed.Removed.SequenceEqual([(_users[remove.User], MembershipChange.ReasonRemoved)]), "the removal removed someone else");
                    return $"u{_owner} (owner) removes u{remove.User}";

                case LeaveStep leave:
                    // The last member leaving archives the group: nobody could act in it again.
                    if (!_model.Members.ContainsKey(leave.User) || _model.Members.Count == 1)
                    {
                        return $"skipped: {leave}";
                    }

                    var left = await MembershipAsync(new LeaveCommand(_users[leave.User]));
                    _model.Members.Remove(leave.User);
                    Expect(left.Removed.SequenceEqual([(_users[leave.User], MembershipChange.ReasonLeft)]), "the leave removed someone else");
                    if (leave.User == _owner)
                    {
                        // Who inherits is the membership planner's business, not this test's: follow it.
                        _owner = Array.IndexOf(_users, left.RoleChanges.Single(r => r.Role == ParticipantRoles.Owner).UserId);
                        return $"u{leave.User} (owner) leaves, u{_owner} owns";
                    }

                    return $"u{leave.User} leaves";

                default:
                    throw new ArgumentOutOfRangeException(nameof(step), step, null);
            }
        }

        private async Task<string> PersistAsync(UnreadWrite[] writes)
        {
            var envelopes = new List<MessageEnvelope>();
            var expected = new List<(PersistOutcome Outcome, long Sequence)?>();
            var done = new List<string>();
            foreach (var write in writes)
            {
                switch (write)
                {
                    case SendWrite send when _model.Members.ContainsKey(send.User):
                        var envelope = Envelopes.New(_conversation, _users[send.User], $"m{_model.LastSequence + 1}");
                        var sequence = _model.Send(send.User);
                        // Stands in for the stored message until the batch returns it: later writes of the batch may name it.
                        _stored.Add(new StoredMessage(envelope.MessageId, _conversation, sequence, envelope.SenderId, envelope.Type, envelope.Content, null, null, "", 0,
                            envelope.CorrelationId, envelope.AcceptedAt, envelope.AcceptedAt));
                        envelopes.Add(envelope);
                        expected.Add((PersistOutcome.Inserted, sequence));
                        done.Add($"u{send.User} sends seq {sequence}");
                        break;
                    case DeleteWrite delete when _stored.Count > 0:
                        var deleted = Resolve(delete.Message);
                        var message = _model.Messages[(int)deleted.Sequence - 1];
                        envelopes.Add(Envelopes.Change(deleted, _users[delete.User], MessageChangeKinds.Delete));
                        expected.Add((message.Deleted ? PersistOutcome.Unchanged : PersistOutcome.Inserted, deleted.Sequence));
                        message.Deleted = true;
                        done.Add($"u{delete.User} deletes seq {deleted.Sequence} (u{message.Sender}'s) for everyone");
                        break;
                    case EditWrite edit when _stored.Count > 0:
                        var edited = Resolve(edit.Message);
                        var original = _model.Messages[(int)edited.Sequence - 1];
                        envelopes.Add(Envelopes.Change(edited, edited.SenderId, MessageChangeKinds.Edit, $"edit {++_edits}"));
                        expected.Add((original.Deleted ? PersistOutcome.Unchanged : PersistOutcome.Inserted, edited.Sequence));
                        done.Add($"u{original.Sender} edits seq {edited.Sequence}");
                        break;
                    case ReactWrite react when _stored.Count > 0:
                        var reacted = Resolve(react.Message);
                        envelopes.Add(Envelopes.Change(reacted, _users[react.User], MessageChangeKinds.Reaction, key: ":ok:", added: react.Added));
                        expected.Add(null);  // reactions change no count: their outcome is another test's
                        done.Add($"u{react.User} {(react.Added ? "adds" : "removes")} :ok: on seq {reacted.Sequence}");
                        break;
                    default:
                        done.Add($"skipped: {write}");
                        break;
                }
            }

            if (envelopes.Count > 0)
            {
                var results = await h.Messages.PersistBatchAsync(envelopes, default);
                for (var i = 0; i < results.Count; i++)
                {
                    var (outcome, message) = (results[i].Outcome, results[i].Message);
                    if (expected[i] is { } e)
                    {
                        Expect(outcome == e.Outcome && message?.Sequence == e.Sequence, $"write {i + 1} of the batch: {outcome} seq {message?.Sequence}, expected {e.Outcome} seq {e.Sequence}");
                    }

                    if (!envelopes[i].IsChange && message is not null)
                    {
                        _stored[(int)message.Sequence - 1] = message;
                    }
                }
            }

            return done.Count == 1 ? done[0] : $"batch [{string.Join("; ", done)}]";
        }

        private StoredMessage Resolve(int index) => _stored[index % _stored.Count];

        private async Task<MembershipChange> MembershipAsync(MembershipCommand command)
        {
            var result = await h.Conversations.ChangeMembershipAsync(_conversation, command, Now, Ctx, default);
            Expect(result.Error is null, $"{command.GetType().Name} refused: {result.Error?.Code} {result.Error?.Message}");
            return result.Change!;
        }

        /// <summary>Every user's participant row and total against the model.</summary>
        private async Task CheckAsync()
        {
            var wrong = new List<string>();
            for (var u = 0; u < _users.Length; u++)
            {
                var participant = await h.Conversations.GetParticipantAsync(_conversation, _users[u], default);
                var total = await h.Conversations.GetUnreadTotalAsync(_users[u], default);
                var unread = _model.Unread(u);
                if (_model.Members.TryGetValue(u, out var marks))
                {
                    if (participant is null)
                    {
                        wrong.Add($"u{u} is a member but has no participant row");
                    }
                    else if (participant.UnreadCount != unread || participant.Watermarks != new ReceiptWatermarks(marks.Delivered, marks.Read))
                    {
                        wrong.Add($"u{u}: unread {participant.UnreadCount} with {participant.Watermarks}, expected {unread} with (delivered {marks.Delivered}, read {marks.Read})");
                    }
                }
                else if (participant is not null)
                {
                    wrong.Add($"u{u} is not a member but has a participant row");
                }

                if (total != new UnreadTotal(unread, unread > 0 ? 1 : 0))
                {
                    wrong.Add($"u{u}: total {total}, expected {unread} in {(unread > 0 ? 1 : 0)} conversation(s)");
                }
            }

            Expect(wrong.Count == 0, string.Join("\n", wrong));
        }

        private void Expect(bool condition, string what)
        {
            if (!condition)
            {
                var steps = new StringBuilder();
                for (var i = 0; i < _trace.Count; i++)
                {
                    steps.Append(i == 0 ? "  " : $"\n  {i}. ").Append(_trace[i]);
                }

                Assert.Fail($"{what}\n{(_applying is null ? "after" : $"while applying '{_applying}' after")} (as applied, messages named by sequence):\n{steps}");
            }
        }
    }
}
