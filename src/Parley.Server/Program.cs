using Parley.Server;
using Parley.Server.Hosting;

try
{
    // `migrate` applies the store's pending migrations and exits, for deployments that run it as its own step.
    if (args.Length > 0 && args[0] == "migrate")
    {
        return await ParleyApp.MigrateAsync(args[1..]);
    }

    // `rebuild-read-models [--check]` rebuilds (or only compares) the read models from the domain events and exits.
    if (args.Length > 0 && args[0] == "rebuild-read-models")
    {
        return await ParleyApp.RebuildReadModelsAsync(args[1..]);
    }

    await ParleyApp.Build(args).RunAsync();
    return 0;
}
catch (StartupException e)
{
    // A mistake in how the server was started: the message says what to fix; a stack trace would only bury it.
    await Console.Error.WriteLineAsync($"Parley did not start: {e.Message}");
    return 2;
}
