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

    public const string Help = """
        parley-bench — measure Parley against the machine's own ceiling, side by side in one run.

        Usage: dotnet run -c Release --project bench/Parley.Bench -- <scenario> [options] [-- server settings]

        Scenarios:
          ingest        Authenticated POST …/messages across many conversations at each rate, open loop
                        (latency measured from when each request was due), against Parley and against a bare
                        Kestrel endpoint answering 202 (the HTTP ceiling) in the same run.
          history       50-message page reads at random positions of a conversation of --messages messages.

        Options:
          --rates N,N…        Offered loads in requests/s (default 1000,2500,5000)
          --duration S        Seconds per step (default 10)
          --connections N     HTTP connections (default 64)
          --conversations N   Conversations to spread the load over (default 50)
          --messages N        Messages in the history conversation (default 1000000)
          --out DIR           Where results.json and results.svg go (default bench-results)
          --smoke             Tiny sizes, a couple of seconds: proves the tool works (used by the tests)
          --help              This text

        Anything after a lone `--` is passed to the Parley server, e.g.
          -- --Parley:Engine=Production --Parley:Postgres:ConnectionString=… --Parley:Redis:Configuration=…
        """;

    public static BenchOptions Parse(string[] args)
    {
        var options = new BenchOptions();
        for (var i = 0; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            switch (args[i])
            {
                case "--rates":
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
                case "--out":
                    options.OutputDirectory = Next();
                    break;
                case "--smoke":
                    options.Rates = [200];
                    options.Duration = TimeSpan.FromSeconds(1);
                    options.Conversations = 4;
                    options.Connections = 8;
                    options.Messages = 2000;
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

        if (options.Rates.Count == 0 || options.Rates.Any(r => r < 1) || options.Duration <= TimeSpan.Zero || options.Connections < 1 || options.Conversations < 1 || options.Messages < 100)
        {
            throw new ArgumentException("Rates, duration, connections and conversations must be positive");
        }

        return options;
    }
}
