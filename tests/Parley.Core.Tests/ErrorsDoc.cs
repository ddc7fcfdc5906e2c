using System.Text.RegularExpressions;

namespace Parley.Core.Tests;

/// <summary>Reads the code table of docs/errors.md, so tests check the published document, not a copy of it.</summary>
public static partial class ErrorsDoc
{
    /// <summary>Each documented code and its status column as written ("400", or "—" for a reserved code).</summary>
    public static Dictionary<string, string> Codes() => Rows().ToDictionary(r => r.Code, r => r.Status, StringComparer.Ordinal);

    /// <summary>Documented codes whose "When" column says no endpoint returns them.</summary>
    public static IEnumerable<string> Reserved() => Rows().Where(r => r.When.StartsWith("Reserved", StringComparison.Ordinal)).Select(r => r.Code);

    public static string RepositoryFile(params string[] parts) => Path.Combine([RepositoryRoot(), .. parts]);

    private static List<(string Code, string Status, string When)> Rows()
    {
        var text = File.ReadAllText(Path.Combine(RepositoryRoot(), "docs", "errors.md"));
        var section = text[text.IndexOf("\n## Codes", StringComparison.Ordinal)..];
        var next = section.IndexOf("\n## ", 1, StringComparison.Ordinal);
        section = next < 0 ? section : section[..next];
        var rows = Row().Matches(section).Select(m => (m.Groups["code"].Value, m.Groups["status"].Value.Trim(), m.Groups["when"].Value.Trim())).ToList();
        var twice = rows.GroupBy(r => r.Item1).Where(g => g.Count() > 1).Select(g => g.Key).ToList();
        Assert.True(twice.Count == 0, $"docs/errors.md lists {string.Join(", ", twice)} twice");
        return rows;
    }

    private static string RepositoryRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Parley.slnx")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? throw new InvalidOperationException("Repository root not found");
    }

    [GeneratedRegex(@"^\|\s*`(?<code>[A-Z][A-Z0-9_]*)`\s*\|\s*(?<status>[^|]+)\|(?<when>[^|]*)\|", RegexOptions.Multiline)]
    private static partial Regex Row();
}
