using Parley.Bench;

return await BenchProgram.RunAsync(args, Console.Out);

namespace Parley.Bench
{
    public static class BenchProgram
    {
        private static readonly Dictionary<string, Func<BenchOptions, Action<string>, Task<IReadOnlyList<StepResult>>>> Scenarios = new()
        {
            ["ingest"] = IngestScenario.RunAsync,
            ["e2e"] = E2eScenario.RunAsync,
            ["drain"] = DrainScenario.RunAsync,
            ["history"] = HistoryScenario.RunAsync,
            ["connections"] = ConnectionsScenario.RunAsync,
            ["slow"] = SlowConsumersScenario.RunAsync,
            ["reactions"] = ReactionsScenario.RunAsync,
            ["push"] = PushScenario.RunAsync,
        };

        public static async Task<int> RunAsync(string[] args, TextWriter output)
        {
            BenchOptions options;
            try
            {
                if (args.Length == 0 || args.Contains("--help") || args.Contains("-h"))
                {
                    await output.WriteLineAsync(BenchOptions.Help);
                    return args.Length == 0 ? 2 : 0;
                }

                options = BenchOptions.Parse(args);
            }
            catch (Exception ex) when (ex is ArgumentException or FormatException)
            {
                await output.WriteLineAsync($"error: {ex.Message}\n\n{BenchOptions.Help}");
                return 2;
            }

            void Progress(string line) => output.WriteLine(line);
            if (!Scenarios.ContainsKey(options.Scenario) && options.Scenario != "all")
            {
                await output.WriteLineAsync($"error: unknown scenario '{options.Scenario}'\n\n{BenchOptions.Help}");
                return 2;
            }

            await using var engines = await BenchEngines.PrepareAsync(options, Progress);
            var run = options.Scenario == "all" ? Scenarios.Keys.ToList() : [options.Scenario];
            var exit = 0;
            foreach (var scenario in run)
            {
                Progress($"== {scenario} ({options.Engine}) ==");
                var results = await Scenarios[scenario](options, Progress);
                var directory = run.Count > 1 ? Path.Combine(options.OutputDirectory, scenario) : options.OutputDirectory;
                var files = Report.Write(directory, scenario, options.Engine, results);
                await output.WriteLineAsync($"results: {files.Json}\nplot:    {files.Png} (and {Path.GetFileName(files.Svg)})");
                if (files.StagesPng is { } stages)
                {
                    await output.WriteLineAsync($"stages:  {stages} (and {Path.GetFileName(files.StagesSvg)})");
                }

                // A scenario that checks its outcome (reactions: the final counts against the model) reports what was wrong.
                var mismatches = results.Sum(r => r.Figures?.GetValueOrDefault("mismatches") ?? 0);
                if (mismatches > 0)
                {
                    await output.WriteLineAsync($"error: {scenario}: {mismatches} mismatches between the server's final state and the model (see above)");
                    exit = 1;
                }
            }

            return exit;
        }
    }
}
