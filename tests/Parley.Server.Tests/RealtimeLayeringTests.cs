using System.Text.RegularExpressions;
using Parley.Testing;

namespace Parley.Server.Tests;

/// <summary>
/// The edges issue 12 removed around the realtime layer stay removed: read from the source's using directives and
/// type names, so a new back-edge fails here instead of growing a loop.
/// </summary>
public sealed partial class RealtimeLayeringTests
{
    private static readonly string Server = RepositoryFiles.Path("src", "Parley.Server");

    private static IEnumerable<(string File, string Text)> Folder(string folder)
    {
        var files = Directory.EnumerateFiles(Path.Combine(Server, folder), "*.cs", SearchOption.AllDirectories).ToList();
        Assert.NotEmpty(files);
        return files.Select(f => (Path.GetRelativePath(Server, f), File.ReadAllText(f)));
    }

    private static IEnumerable<string> ServerImports(string text) =>
        UsingDirective().Matches(text).Select(m => m.Groups["ns"].Value).Where(ns => ns.StartsWith("Parley.Server", StringComparison.Ordinal));

    [Theory]
    [InlineData("Contracts")]
    [InlineData("Embedded")]
    public void Wire_contracts_and_embedded_implementations_import_nothing_of_the_server(string folder)
    {
        foreach (var (file, text) in Folder(folder))
        {
            Assert.True(!ServerImports(text).Any(), $"{file} imports {string.Join(", ", ServerImports(text))}");
        }
    }

    [Theory]
    [InlineData("Conversations")]
    [InlineData("Messaging")]
    public void Features_below_realtime_do_not_import_it(string folder)
    {
        foreach (var (file, text) in Folder(folder))
        {
            Assert.DoesNotContain("Parley.Server.Realtime", ServerImports(text));
            Assert.DoesNotContain("Parley.Server.Pipeline", ServerImports(text));
        }
    }

    [Fact]
    public void Conversations_read_the_views_from_contracts_not_from_messaging() =>
        Assert.DoesNotContain(Folder("Conversations"), f => ServerImports(f.Text).Contains("Parley.Server.Messaging"));

    [Theory]
    [InlineData("DeviceConnection.cs", "ChatHub")]
    [InlineData("DeviceConnection.cs", "ChatHubEndpoint")]
    [InlineData("NodeEventRelay.cs", "RealtimeNotifier")]
    [InlineData("LocalDelivery.cs", "RealtimeNotifier")]
    public void Realtime_files_that_were_a_loop_stay_one_way(string file, string type)
    {
        var text = File.ReadAllText(Path.Combine(Server, "Realtime", file));
        Assert.DoesNotMatch(new Regex($@"\b{type}\b"), text);
    }

    [GeneratedRegex(@"^using\s+(?:static\s+)?(?<ns>[\w.]+)\s*;", RegexOptions.Multiline)]
    private static partial Regex UsingDirective();
}
