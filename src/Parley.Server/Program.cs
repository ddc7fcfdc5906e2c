using Parley.Server;

// `migrate` applies the store's pending migrations and exits, for deployments that run it as its own step.
if (args.Length > 0 && args[0] == "migrate")
{
    return await ParleyApp.MigrateAsync(args[1..]);
}

ParleyApp.Build(args).Run();
return 0;
