using Microsoft.Extensions.Configuration.Json;
using Microsoft.Extensions.FileProviders;

namespace Parley.Server.Hosting;

/// <summary>
/// Where settings come from. ASP.NET Core reads appsettings.json from the working directory, so a server started
/// from anywhere else silently ran on defaults; Parley reads it from the application's own directory instead, and
/// from an explicit <c>--config &lt;path&gt;</c> file. Relative paths in settings (the data directory) stay relative
/// to the working directory.
/// </summary>
public static class ConfigurationSources
{
    public const string ConfigOption = "--config";

    /// <summary>A builder whose appsettings files are the application's and the optional --config file.</summary>
    public static WebApplicationBuilder CreateBuilder(string[] args)
    {
        var (rest, configFile) = SplitConfigOption(args);
        var builder = WebApplication.CreateBuilder(rest);
        Apply(builder.Configuration, builder.Environment.EnvironmentName, configFile);
        return builder;
    }

    /// <summary>
    /// Replaces the working-directory appsettings sources with the application directory's, and puts the --config
    /// file after them: environment variables and the command line still override both.
    /// </summary>
    private static void Apply(ConfigurationManager configuration, string environment, string? configFile)
    {
        IConfigurationBuilder sources = configuration;
        var appSettings = sources.Sources.OfType<JsonConfigurationSource>()
            .Where(s => s.Path is "appsettings.json" || string.Equals(s.Path, $"appsettings.{environment}.json", StringComparison.OrdinalIgnoreCase))
            .ToList();
        var index = appSettings.Count > 0 ? sources.Sources.IndexOf(appSettings[0]) : 0;
        foreach (var source in appSettings)
        {
            sources.Sources.Remove(source);
        }

        var applicationDirectory = new PhysicalFileProvider(AppContext.BaseDirectory);
        var replacements = new List<IConfigurationSource>
        {
            Json(applicationDirectory, "appsettings.json", optional: true),
            Json(applicationDirectory, $"appsettings.{environment}.json", optional: true),
        };
        if (configFile is not null)
        {
            var full = Path.GetFullPath(configFile);
            if (!File.Exists(full))
            {
                throw new StartupException($"The configuration file given with {ConfigOption} does not exist: {full}");
            }

            replacements.Add(Json(new PhysicalFileProvider(Path.GetDirectoryName(full)!), Path.GetFileName(full), optional: false));
        }

        foreach (var source in replacements)
        {
            sources.Sources.Insert(index++, source);
        }
    }

    private static JsonConfigurationSource Json(IFileProvider files, string path, bool optional) =>
        new() { FileProvider = files, Path = path, Optional = optional, ReloadOnChange = false };

    /// <summary>Takes "--config path" or "--config=path" out of the arguments (the rest go to ASP.NET Core).</summary>
    internal static (string[] Remaining, string? ConfigFile) SplitConfigOption(string[] args)
    {
        var rest = new List<string>();
        string? file = null;
        for (var i = 0; i < args.Length; i++)
        {
            if (args[i] == ConfigOption)
            {
                file = i + 1 < args.Length ? args[++i] : throw new StartupException($"{ConfigOption} needs a file path, e.g. {ConfigOption} /etc/parley/parley.json");
            }
            else if (args[i].StartsWith(ConfigOption + "=", StringComparison.Ordinal))
            {
                file = args[i][(ConfigOption.Length + 1)..];
            }
            else
            {
                rest.Add(args[i]);
            }
        }

        return ([.. rest], file);
    }
}

/// <summary>A start-up problem the operator must fix; Program prints its message and exits with code 2.</summary>
public sealed class StartupException(string message) : Exception(message);
