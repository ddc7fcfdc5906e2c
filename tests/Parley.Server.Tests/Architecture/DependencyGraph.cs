using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Parley.Testing;

namespace Parley.Server.Tests.Architecture;

/// <summary>
/// Which source file of a project uses a type declared in which other file, read from the compiler's semantic model
/// (so a `using` that is not needed adds no edge and a type used through `var` or an extension method still does).
/// </summary>
public sealed class DependencyGraph
{
    private DependencyGraph(string project, IReadOnlyDictionary<string, IReadOnlySet<string>> edges)
    {
        Project = project;
        Edges = edges;
    }

    public string Project { get; }

    /// <summary>File (path relative to the project directory) → the files it depends on.</summary>
    public IReadOnlyDictionary<string, IReadOnlySet<string>> Edges { get; }

    /// <summary>The folder a file belongs to: its first directory under the project ("" for files at the root).</summary>
    public static string FolderOf(string file)
    {
        var slash = file.IndexOf('/', StringComparison.Ordinal);
        return slash < 0 ? "" : file[..slash];
    }

    public IReadOnlyDictionary<string, IReadOnlySet<string>> FolderEdges()
    {
        var folders = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
        foreach (var (file, targets) in Edges)
        {
            var from = FolderOf(file);
            if (!folders.TryGetValue(from, out var set))
            {
                folders[from] = set = new HashSet<string>(StringComparer.Ordinal);
            }

            set.UnionWith(targets.Select(FolderOf).Where(to => to != from));
        }

        return folders.ToDictionary(f => f.Key, f => (IReadOnlySet<string>)f.Value, StringComparer.Ordinal);
    }

    private static readonly Dictionary<string, DependencyGraph> Cache = new(StringComparer.Ordinal);

    public static DependencyGraph Of(string project)
    {
        lock (Cache)
        {
            if (!Cache.TryGetValue(project, out var graph))
            {
                Cache[project] = graph = Build(project);
            }

            return graph;
        }
    }

    private static DependencyGraph Build(string project)
    {
        var root = RepositoryFiles.Path("src", project);
        var trees = Directory.EnumerateFiles(root, "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains("/obj/", StringComparison.Ordinal) && !f.Contains("/bin/", StringComparison.Ordinal))
            .Select(f => CSharpSyntaxTree.ParseText(File.ReadAllText(f), CSharpParseOptions.Default.WithLanguageVersion(LanguageVersion.Preview), path: f))
            .ToList();
        var compilation = CSharpCompilation.Create(project + ".DependencyCheck", trees, References(project),
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary));
        var edges = new Dictionary<string, IReadOnlySet<string>>(StringComparer.Ordinal);
        foreach (var tree in trees)
        {
            var model = compilation.GetSemanticModel(tree);
            var targets = new HashSet<string>(StringComparer.Ordinal);
            foreach (var name in tree.GetRoot().DescendantNodes().OfType<SimpleNameSyntax>())
            {
                var info = model.GetSymbolInfo(name);
                var symbol = info.Symbol ?? info.CandidateSymbols.FirstOrDefault();
                var type = symbol switch
                {
                    INamedTypeSymbol named => named,
                    IMethodSymbol { ReducedFrom: { } extension } => extension.ContainingType,
                    null or INamespaceSymbol or ILocalSymbol or IParameterSymbol or ITypeParameterSymbol or IRangeVariableSymbol or ILabelSymbol => null,
                    _ => symbol.ContainingType,
                };
                for (; type?.ContainingType is not null; type = type.ContainingType)
                {
                }

                foreach (var reference in type?.OriginalDefinition.DeclaringSyntaxReferences ?? [])
                {
                    if (reference.SyntaxTree != tree && reference.SyntaxTree.FilePath.StartsWith(root, StringComparison.Ordinal))
                    {
                        targets.Add(Relative(root, reference.SyntaxTree.FilePath));
                    }
                }
            }

            edges[Relative(root, tree.FilePath)] = targets;
        }

        return new DependencyGraph(project, edges);
    }

    private static string Relative(string root, string path) => Path.GetRelativePath(root, path).Replace('\\', '/');

    /// <summary>The framework (and ASP.NET Core, which this test host runs on) plus every assembly next to the tests, but not the project itself.</summary>
    private static IEnumerable<MetadataReference> References(string project)
    {
        var platform = ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator);
        var local = Directory.EnumerateFiles(AppContext.BaseDirectory, "*.dll");
        return platform.Concat(local)
            .Where(f => !string.Equals(Path.GetFileNameWithoutExtension(f), project, StringComparison.Ordinal))
            .DistinctBy(Path.GetFileName)
            .Select(f => MetadataReference.CreateFromFile(f));
    }

    /// <summary>Strongly connected components with more than one member: each is a set of nodes that import each other.</summary>
    public static IReadOnlyList<IReadOnlyList<string>> Cycles(IReadOnlyDictionary<string, IReadOnlySet<string>> graph)
    {
        // Tarjan's algorithm.
        var index = 0;
        var stack = new Stack<string>();
        var onStack = new HashSet<string>(StringComparer.Ordinal);
        var indices = new Dictionary<string, int>(StringComparer.Ordinal);
        var low = new Dictionary<string, int>(StringComparer.Ordinal);
        var cycles = new List<IReadOnlyList<string>>();

        void Visit(string node)
        {
            indices[node] = low[node] = index++;
            stack.Push(node);
            onStack.Add(node);
            foreach (var next in graph.GetValueOrDefault(node) ?? new HashSet<string>())
            {
                if (!indices.ContainsKey(next))
                {
                    Visit(next);
                    low[node] = Math.Min(low[node], low[next]);
                }
                else if (onStack.Contains(next))
                {
                    low[node] = Math.Min(low[node], indices[next]);
                }
            }

            if (low[node] == indices[node])
            {
                var component = new List<string>();
                string member;
                do
                {
                    member = stack.Pop();
                    onStack.Remove(member);
                    component.Add(member);
                }
                while (member != node);

                if (component.Count > 1)
                {
                    component.Sort(StringComparer.Ordinal);
                    cycles.Add(component);
                }
            }
        }

        foreach (var node in graph.Keys.Order(StringComparer.Ordinal))
        {
            if (!indices.ContainsKey(node))
            {
                Visit(node);
            }
        }

        return cycles;
    }
}
