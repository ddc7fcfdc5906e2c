using Parley.Bench;

return await BenchProgram.RunAsync(args, Console.Out);

namespace Parley.Bench
{
    public static class BenchProgram
    {
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
            IReadOnlyList<StepResult> results;
            switch (options.Scenario)
            {
                case "ingest":
                    results = await IngestScenario.RunAsync(options, Progress);
                    break;
                case "history":
                    results = await HistoryScenario.RunAsync(options, Progress);
                    break;
                default:
                    await output.WriteLineAsync($"error: unknown scenario '{options.Scenario}'\n\n{BenchOptions.Help}");
                    return 2;
            }

            var (json, svg) = Report.Write(options.OutputDirectory, options.Scenario, results);
            await output.WriteLineAsync($"results: {json}\nplot:    {svg}");
            return 0;
        }
    }
}
