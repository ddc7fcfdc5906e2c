using Parley.Server;

ParleyApp.Build(args).Run();
