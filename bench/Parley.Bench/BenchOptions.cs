using System.Globalization;

namespace Parley.Bench;

public sealed class BenchOptions
{
    public string Scenario { get; set; } = "";
    public IReadOnlyList<int> Rates { get; set; } = [1000, 2500, 5000];
    public TimeSpan Duration { get; set; } = TimeSpan.FromSeconds(10);
    public int Connections { get; set; } = 64;
    public int Conversations { get; set; } = 50;
    public int Messages { get; set; } = 1_000_000;
    public string OutputDirectory { get; set; } = "bench-results";
    public List<string> ServerArgs { get; } = [];

    /// <summary>embedded (SQLite + in-process log) or production (PostgreSQL + Redis Streams).</summary>
    public string Engine { get; set; } = "embedded";

    /// <summary>e2e: connected devices (half JSON, half MessagePack).</summary>
    public int Devices { get; set; } = 2000;

    /// <summary>e2e: members of the group-fanout case.</summary>
    public int GroupSize { get; set; } = 1000;

    /// <summary>drain: accepted messages in the backlog.</summary>
    public int Backlog { get; set; } = 100_000;

    /// <summary>connections: idle connections to ramp to.</summary>
    public int IdleConnections { get; set; } = 20_000;

    /// <summary>connections: 127.0.0.x source addresses to spread the connections over (ephemeral ports run out near 28k per address).</summary>
    public int SourceAddresses { get; set; } = 8;

    /// <summary>push: group members with a registered device and no connection.</summary>
    public int OfflineRecipients { get; set; } = 1000;

    /// <summary>slow: group members whose device never reads.</summary>
    public int SlowConsumers { get; set; } = 50;

    /// <summary>reactions: group members who react to the one hot message.</summary>
    public int ReactionUsers { get; set; } = 500;

    /// <summary>reactions: keys each member toggles (see <see cref="ReactionModel.Keys"/>).</summary>
    public int ReactionKeys { get; set; } = 4;

    /// <summary>reactions: members with a connected device that receives every reactionChanged.</summary>
    public int Watchers { get; set; } = 4;

    /// <summary>history: also a conversation whose messages carry replies and reactions, read in the same steps.</summary>
    public bool Rich { get; set; }

    /// <summary>Set by <see cref="BenchEngines"/> for production runs: where the baselines talk to the same engines.</summary>
    public string? PostgresConnectionString { get; set; }

    public string? RedisEndpoint { get; set; }

    public bool Smoke { get; set; }

    /// <summary>Unrecorded load before the first step; null: the scenario's own default (see StepsWithWarmUp).</summary>
    public TimeSpan? WarmUp { get; set; }

    /// <summary>Another build's Parley.Server.dll for the scenarios that run the server in its own process (A/B against an older build).</summary>
    public string? ServerDll { get; set; }

    public const string Help = """
        parley-bench — measure Parley against the machine's own ceiling, side by side in one run.

        Usage: dotnet run -c Release --project bench/Parley.Bench -- <scenario> [options] [-- server settings]

        Scenarios:
          ingest        Authenticated POST …/messages across many conversations at each rate, open loop
                        (latency measured from when each request was due), against Parley and against a bare
                        Kestrel endpoint answering 202 (the HTTP ceiling) in the same run.
          history       50-message page reads at random positions of a conversation of --messages messages; with
                        --rich also of one whose messages carry replies and reactions, in the same steps.
          e2e           A server in its own process and --devices light devices (raw WebSockets, half speaking
                        the SignalR JSON protocol, half MessagePack); time from send to receipt on every
                        recipient device at each rate (after a 30 s warm-up), plus one message at a time to a
                        --group-size group. Per step also the server's CPU (µs per delivery), RSS, GC pause
                        and p50/p99 per stage inside it (ingress, queue, persist, fanout, ack, outbound,
                        server) from its own /metrics histograms.
          drain         A backlog of --backlog accepted messages while nothing persists (an ingress-only node), then
                        a worker node starts: time until all are stored; against a raw bulk insert (COPY on
                        PostgreSQL) of the same rows into a same-shaped table.
          connections   Ramp to --idle idle SignalR connections from several 127.0.0.x addresses against a server
                        in its own process; server memory per connection and connect rate.
          slow          Sends to a group at the first --rates rate (use e.g. --rates 100), first with 20 fast devices
                        only (baseline), then with --slow members whose devices never read: fast-device latency,
                        server peak RSS over the step, slow devices the server cut off.
          reactions     One message in a group of --users members; each member toggles --keys reactions on it
                        (PUT / DELETE …/reactions/{key}, a member's next change of a key only after the previous
                        one's ack) at each rate (default 2000/s), open loop: ack latency, time from the last ack to
                        the last reactionChanged on --watchers connected devices and to the store holding the final
                        counts, and whether the counts in history and on the devices equal the model computed from
                        the acknowledged requests exactly (a figure "mismatches" above 0 makes the run exit 1).
          push          Push to offline devices, against a server in its own process whose push gateway is a receiver
                        in the bench: one message to a group of --offline members with a device and no connection
                        (time to the last push at the gateway), then live delivery to up to 50 online devices at the
                        first rate (default 100/s) with no pushes (baseline), then while pushes flow to the gateway
                        answering, then hanging.
          all           Every scenario in turn, each into its own subdirectory of --out.

        Options:
          --rates N,N…        Offered loads in requests/s (default 1000,2500,5000; reactions: 2000); --rate is the same
          --duration S        Seconds per step (default 10)
          --connections N     HTTP connections (default 64)
          --conversations N   Conversations to spread the load over (default 50)
          --messages N        Messages in the history conversation (default 1000000)
          --engine E          embedded (default) or production. production without server settings starts a
                              throwaway PostgreSQL and Redis (as the tests do) and the raw XADD / COPY baselines
          --devices N         e2e: connected devices (default 2000)
          --group-size N      e2e: members of the fanout group (default 1000)
          --backlog N         drain: messages in the backlog (default 100000)
          --idle N            connections: idle connections to reach (default 20000)
          --sources N         connections: 127.0.0.x source addresses (default 8)
          --slow N            slow: members whose devices never read (default 50)
          --offline N         push: offline members with a registered device (default 1000)
          --users N           reactions: group members who react (default 500, at most 1000)
          --keys N            reactions: reaction keys each member toggles (default 4, at most 8)
          --watchers N        reactions: members with a connected device timing reactionChanged (default 4)
          --rich              history: a second conversation of --messages messages, most of them replies (with a
                              preview) carrying reactions, read in the same steps as the plain one ("parley-rich")
          --warmup S          Seconds of unrecorded load before the first step (ingest: 3; history: 20; e2e: 30, the time
                              a fresh server's JIT tiering takes to settle under chat load on this VM; 0: none)
          --out DIR           Where results.json and results.svg go (default bench-results)
          --server-dll PATH   Run this build's Parley.Server.dll (its own directory holds its dependencies) where a
                              scenario starts the server in its own process: e2e and connections against an older build
          --smoke             Tiny sizes, a couple of seconds: proves the tool works (used by the tests)
          --help              This text

        Anything after a lone `--` is passed to the Parley server, e.g.
          -- --Parley:Engine=Production --Parley:Postgres:ConnectionString=… --Parley:Redis:Configuration=…
        """;

    /// <summary>
    /// The measured steps, one per rate, preceded (outside smoke runs) by --warmup (else <paramref name="defaultWarmUp"/>,
    /// else 3 s) of unrecorded load at <paramref name="warmUpRate"/> at most: JIT tiering, pools and caches are not what
    /// is measured.
    /// </summary>
    public IEnumerable<(int Rate, TimeSpan Duration, bool Record)> StepsWithWarmUp(int warmUpRate, TimeSpan? defaultWarmUp = null)
    {
        var warmUp = WarmUp ?? defaultWarmUp ?? TimeSpan.FromSeconds(3);
        if (!Smoke && warmUp > TimeSpan.Zero)
        {
            yield return (Math.Min(warmUpRate, Rates[0]), warmUp, false);
        }

        foreach (var rate in Rates)
        {
            yield return (rate, Duration, true);
        }
    }

    public static BenchOptions Parse(string[] args)
    {
        var options = new BenchOptions();
        var ratesGiven = false;
        for (var i = 0; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            switch (args[i])
            {
                case "--rates" or "--rate":
                    ratesGiven = true;
                    options.Rates = Next().Split(',').Select(r => int.Parse(r, CultureInfo.InvariantCulture)).ToList();
                    break;
                case "--duration":
                    options.Duration = TimeSpan.FromSeconds(double.Parse(Next(), CultureInfo.InvariantCulture));
                    break;
                case "--connections":
                    options.Connections = int.Parse(Next(), CultureInfo.InvariantCulture);
                    break;
                case "--conversations":
                    options.Conversations = int.Parse(Next(), CultureInfo.InvariantCulture);
                    break;
                case "--messages":
                    options.Messages = int.Parse(Next(), CultureInfo.InvariantCulture);
                    break;
                case "--engine":
                    options.Engine = Next().ToLowerInvariant();
                    if (options.Engine is not ("embedded" or "production"))
                    {
                        throw new ArgumentException("--engine must be embedded or production");
                    }

                    break;
                case "--devices":
                    options.Devices = int.Parse(Next(), CultureInfo.InvariantCulture);
                    break;
                case "--group-size":
                    options.GroupSize = int.Parse(Next(), CultureInfo.InvariantCulture);
                    break;
                case "--backlog":
                    options.Backlog = int.Parse(Next(), CultureInfo.InvariantCulture);
                    break;
                case "--idle":
                    options.IdleConnections = int.Parse(Next(), CultureInfo.InvariantCulture);
                    break;
                case "--sources":
                    options.SourceAddresses = int.Parse(Next(), CultureInfo.InvariantCulture);
                    break;
                case "--offline":
                    options.OfflineRecipients = int.Parse(Next(), CultureInfo.InvariantCulture);
                    break;
                case "--slow":
                    options.SlowConsumers = int.Parse(Next(), CultureInfo.InvariantCulture);
                    break;
                case "--users":
                    options.ReactionUsers = int.Parse(Next(), CultureInfo.InvariantCulture);
                    break;
                case "--keys":
                    options.ReactionKeys = int.Parse(Next(), CultureInfo.InvariantCulture);
                    break;
                case "--watchers":
                    options.Watchers = int.Parse(Next(), CultureInfo.InvariantCulture);
                    break;
                case "--rich":
                    options.Rich = true;
                    break;
                case "--warmup":
                    options.WarmUp = TimeSpan.FromSeconds(double.Parse(Next(), CultureInfo.InvariantCulture));
                    break;
                case "--out":
                    options.OutputDirectory = Next();
                    break;
                case "--server-dll":
                    options.ServerDll = Path.GetFullPath(Next());
                    break;
                case "--smoke":
                    options.Rates = [200];
                    options.Duration = TimeSpan.FromSeconds(1);
                    options.Conversations = 4;
                    options.Connections = 8;
                    options.Messages = 2000;
                    options.Devices = 8;
                    options.GroupSize = 10;
                    options.Backlog = 500;
                    options.IdleConnections = 50;
                    options.SourceAddresses = 2;
                    options.SlowConsumers = 2;
                    options.ReactionUsers = 6;
                    options.ReactionKeys = 2;
                    options.Watchers = 2;
                    options.Smoke = true;
                    ratesGiven = true;
                    break;
                case "--":
                    options.ServerArgs.AddRange(args[(i + 1)..]);
                    i = args.Length;
                    break;
                default:
                    if (args[i].StartsWith('-') || options.Scenario.Length > 0)
                    {
                        throw new ArgumentException($"Unknown argument '{args[i]}'");
                    }

                    options.Scenario = args[i];
                    break;
            }
        }

        if (options.Rates.Count == 0 || options.Rates.Any(r => r < 1) || options.Duration <= TimeSpan.Zero || options.Connections < 1 || options.Conversations < 1 || options.Messages < 100
            || options.Devices < 2 || options.GroupSize < 2 || options.Backlog < 1 || options.IdleConnections < 1 || options.SourceAddresses is < 1 or > 250)
        {
            throw new ArgumentException("Rates, duration, connections and conversations must be positive");
        }

        if (options.ReactionUsers is < 2 or > 1000 || options.ReactionKeys < 1 || options.ReactionKeys > ReactionModel.Keys.Count
            || options.Watchers < 1 || options.Watchers > options.ReactionUsers)
        {
            throw new ArgumentException($"--users must be 2 to 1000, --keys 1 to {ReactionModel.Keys.Count}, --watchers 1 to --users");
        }

        if (options.OfflineRecipients is < 1 or > 50_000)
        {
            throw new ArgumentException("--offline must be 1 to 50000");
        }

        if (options.Scenario == "push" && !ratesGiven)
        {
            options.Rates = [100];
        }

        if (options.Scenario == "reactions" && !ratesGiven)
        {
            options.Rates = [2000];
        }

        return options;
    }
}
