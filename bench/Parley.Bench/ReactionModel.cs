using System.Diagnostics;

namespace Parley.Bench;

/// <summary>What one reaction request came to, as far as the client can tell.</summary>
public enum ReactionOutcome
{
    /// <summary>202: the change is in the log and will be applied.</summary>
    Applied,

    /// <summary>A definite refusal (4xx): nothing was appended.</summary>
    Refused,

    /// <summary>No answer, or ENQUEUE_FAILED: appended or not, the client cannot know.</summary>
    Unknown,
}

/// <summary>
/// The reactions the server must end up with, computed from the acknowledged requests alone. Each (user, key) pair is
/// a chain: a request waits for the previous request on its pair to be answered before it is sent, so the order of a
/// pair's acks is the order of its entries in the log (one message, so one partition), and the pair's final state is
/// its last acknowledged action. Without the chain, two requests of one pair in flight together could reach the log in
/// either order and no model could be exact. Each request flips the pair (add when absent, remove when present), so
/// adds and removes both happen and none is a no-op while every request is acknowledged.
/// </summary>
public sealed class ReactionModel
{
    /// <summary>Valid keys (shortcodes, and one emoji to exercise the path's encoding); --keys takes the first N.</summary>
    public static readonly IReadOnlyList<string> Keys = [":thumbs_up:", "👍", ":heart:", ":tada:", ":eyes:", ":rocket:", ":fire:", ":+1:"];

    private readonly Pair[] _pairs;
    private long _applied;
    private long _refused;
    private long _unknown;
    private long _lastAckAt;

    public ReactionModel(int users, int keys)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(users, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(keys, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(keys, Keys.Count);
        Users = users;
        KeyCount = keys;
        _pairs = [.. Enumerable.Range(0, users * keys).Select(_ => new Pair())];
    }

    public int Users { get; }

    public int KeyCount { get; }

    /// <summary>Requests answered 202 so far: each is one applied change, so one reactionChanged per connected device.</summary>
    public long Applied => Interlocked.Read(ref _applied);

    public long Refused => Interlocked.Read(ref _refused);

    /// <summary>Requests whose outcome the client cannot know: while any exist the model is not exact.</summary>
    public long Unknown => Interlocked.Read(ref _unknown);

    /// <summary>Stopwatch timestamp of the latest 202 (0 before the first).</summary>
    public long LastAckAt => Interlocked.Read(ref _lastAckAt);

    /// <summary>
    /// The pair request <paramref name="index"/> (counted over the whole run) works on: consecutive requests go to
    /// different users, and a pair comes round again only after every other pair had its turn.
    /// </summary>
    public (int User, int Key) PairOf(long index)
    {
        var pair = (int)(index % _pairs.Length);
        return (pair % Users, pair / Users);
    }

    /// <summary>
    /// Runs request <paramref name="index"/>: waits for the pair's previous request, sends the flip of the pair's state
    /// through <paramref name="send"/> and records what came of it. True when it was acknowledged.
    /// </summary>
    public async Task<bool> RunAsync(long index, Func<int, string, bool, Task<ReactionOutcome>> send)
    {
        var (user, key) = PairOf(index);
        var pair = _pairs[(key * Users) + user];
        var turn = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Task previous;
        lock (pair)
        {
            previous = pair.Tail;
            pair.Tail = turn.Task;
        }

        await previous;
        var outcome = ReactionOutcome.Unknown;
        try
        {
            var add = !pair.Present;
            outcome = await send(user, Keys[key], add);
            switch (outcome)
            {
                case ReactionOutcome.Applied:
                    pair.Present = add;
                    Interlocked.Increment(ref _applied);
                    var now = Stopwatch.GetTimestamp();
                    for (var last = Interlocked.Read(ref _lastAckAt); now > last; last = Interlocked.Read(ref _lastAckAt))
                    {
                        if (Interlocked.CompareExchange(ref _lastAckAt, now, last) == last)
                        {
                            break;
                        }
                    }

                    break;
                case ReactionOutcome.Refused:
                    Interlocked.Increment(ref _refused);
                    break;
                default:
                    Interlocked.Increment(ref _unknown);
                    break;
            }
        }
        catch
        {
            Interlocked.Increment(ref _unknown);
            throw;
        }
        finally
        {
            turn.SetResult();
        }

        return outcome == ReactionOutcome.Applied;
    }

    /// <summary>Users per key as the model has them, every key of the run included (0 when none reacted with it).</summary>
    public IReadOnlyDictionary<string, int> ExpectedCounts()
    {
        var counts = Keys.Take(KeyCount).ToDictionary(k => k, _ => 0, StringComparer.Ordinal);
        for (var i = 0; i < _pairs.Length; i++)
        {
            if (_pairs[i].Present)
            {
                counts[Keys[i / Users]]++;
            }
        }

        return counts;
    }

    /// <summary>The keys <paramref name="user"/> has reacted with, in the model.</summary>
    public IReadOnlySet<string> KeysOf(int user) =>
        Enumerable.Range(0, KeyCount).Where(k => _pairs[(k * Users) + user].Present).Select(k => Keys[k]).ToHashSet(StringComparer.Ordinal);

    /// <summary>
    /// Every way <paramref name="actual"/> differs from <paramref name="expected"/>: a key with another count, or a key the
    /// model does not know with a count above 0 (a key the server leaves out is a count of 0).
    /// </summary>
    public static IReadOnlyList<string> Differences(IReadOnlyDictionary<string, int> expected, IReadOnlyDictionary<string, int> actual)
    {
        var differences = new List<string>();
        foreach (var (key, count) in expected)
        {
            var got = actual.GetValueOrDefault(key);
            if (got != count)
            {
                differences.Add($"{key}: expected {count}, got {got}");
            }
        }

        differences.AddRange(actual.Where(a => !expected.ContainsKey(a.Key) && a.Value != 0).Select(a => $"{a.Key}: not in the model, got {a.Value}"));
        return differences;
    }

    private sealed class Pair
    {
        public Task Tail { get; set; } = Task.CompletedTask;

        /// <summary>Written only by the request holding the pair's turn.</summary>
        public bool Present { get; set; }
    }
}
