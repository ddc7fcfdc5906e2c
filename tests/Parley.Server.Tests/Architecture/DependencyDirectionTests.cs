namespace Parley.Server.Tests.Architecture;

/// <summary>
/// Every arrow points down (docs/architecture.md, "Layers"): no folder of a project imports a folder above it, and no
/// two files depend on each other, directly or through others. A new back-edge fails here with the files that make it.
/// </summary>
public sealed class DependencyDirectionTests
{
    public static TheoryData<string> Projects => new() { "Parley.Core", "Parley.Hosting", "Parley.Sqlite", "Parley.Postgres", "Parley.Redis", "Parley.Server" };

    /// <summary>Bottom to top. A folder may use only the folders listed before it; "" is the project root.</summary>
    private static readonly Dictionary<string, string[]> Layers = new(StringComparer.Ordinal)
    {
        ["Parley.Core"] = ["Errors", "Validation", "Partitioning", "Messaging", "Membership", "Events", "Push", "Ports", "Persistence"],
        ["Parley.Server"] = ["Contracts", "Hosting", "Http", "Embedded", "Events", "Auth", "Social", "Conversations", "Messaging", "Push", "Webhooks", "Pipeline", "Realtime", "Observability", ""],
    };

    [Theory]
    [MemberData(nameof(Projects))]
    public void No_two_files_of_a_project_depend_on_each_other(string project)
    {
        var graph = DependencyGraph.Of(project);
        var cycles = DependencyGraph.Cycles(graph.Edges);

        Assert.True(cycles.Count == 0, $"{project} has files that depend on each other:\n" + Describe(graph.Edges, cycles));
    }

    [Theory]
    [MemberData(nameof(Projects))]
    public void Folders_of_a_project_only_depend_downwards(string project)
    {
        var graph = DependencyGraph.Of(project);
        var folders = graph.FolderEdges();
        var cycles = DependencyGraph.Cycles(folders);
        Assert.True(cycles.Count == 0, $"{project} has folders that import each other:\n" + Describe(folders, cycles));

        if (Layers.TryGetValue(project, out var order))
        {
            Assert.Equal(order.Order(StringComparer.Ordinal), folders.Keys.Order(StringComparer.Ordinal));
            var upward = graph.Edges
                .SelectMany(e => e.Value.Select(to => (From: e.Key, To: to)))
                .Where(e => Array.IndexOf(order, DependencyGraph.FolderOf(e.To)) > Array.IndexOf(order, DependencyGraph.FolderOf(e.From)))
                .Select(e => $"  {e.From} -> {e.To}")
                .ToList();
            Assert.True(upward.Count == 0, $"{project}: these files use a folder above their own:\n" + string.Join('\n', upward));
        }
    }

    private static string Describe(IReadOnlyDictionary<string, IReadOnlySet<string>> graph, IReadOnlyList<IReadOnlyList<string>> cycles) =>
        string.Join('\n', cycles.Select(cycle => string.Join('\n', cycle.SelectMany(from =>
            graph[from].Where(cycle.Contains).Select(to => $"  {from} -> {to}"))) + "\n"));
}
