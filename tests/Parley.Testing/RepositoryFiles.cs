using System.Text.RegularExpressions;

namespace Parley.Testing;

/// <summary>
/// The checkout the tests were built from, so tests read the published docs, deploy files and build output
/// rather than copies of them.
/// </summary>
public static class RepositoryFiles
{
    public static readonly string Root = Find();

    public static string Path(params string[] parts) => System.IO.Path.Combine([Root, .. parts]);

    private static string Find()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(System.IO.Path.Combine(dir.FullName, "Parley.slnx")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? throw new InvalidOperationException("Repository root (Parley.slnx) not found above " + AppContext.BaseDirectory);
    }
}

/// <summary>Reads the code table of docs/errors.md, so tests check the published document, not a copy of it.</summary>
public static partial class ErrorsDoc
{
    /// <summary>Each documented code and its status column as written ("400", or "—" for a reserved code).</summary>
    public static Dictionary<string, string> Codes() => Rows().ToDictionary(r => r.Code, r => r.Status, StringComparer.Ordinal);

    /// <summary>Documented codes that are returned, with their status (reserved codes left out).</summary>
    public static Dictionary<string, int> Statuses() => Rows()
        .Where(r => int.TryParse(r.Status, System.Globalization.CultureInfo.InvariantCulture, out _))
        .ToDictionary(r => r.Code, r => int.Parse(r.Status, System.Globalization.CultureInfo.InvariantCulture), StringComparer.Ordinal);

    /// <summary>Documented codes whose "When" column says no endpoint returns them.</summary>
    public static IEnumerable<string> Reserved() => Rows().Where(r => r.When.StartsWith("Reserved", StringComparison.Ordinal)).Select(r => r.Code);

    private static List<(string Code, string Status, string When)> Rows()
    {
        var text = File.ReadAllText(RepositoryFiles.Path("docs", "errors.md"));
        var start = text.IndexOf("\n## Codes", StringComparison.Ordinal);
        if (start < 0)
        {
            throw new InvalidOperationException("docs/errors.md has no '## Codes' section");
        }

        var section = text[start..];
        var next = section.IndexOf("\n## ", 1, StringComparison.Ordinal);
        section = next < 0 ? section : section[..next];
        var rows = Row().Matches(section).Select(m => (m.Groups["code"].Value, m.Groups["status"].Value.Trim(), m.Groups["when"].Value.Trim())).ToList();
        var twice = rows.GroupBy(r => r.Item1).Where(g => g.Count() > 1).Select(g => g.Key).ToList();
        return twice.Count == 0 ? rows : throw new InvalidOperationException($"docs/errors.md lists {string.Join(", ", twice)} twice");
    }

    [GeneratedRegex(@"^\|\s*`(?<code>[A-Z][A-Z0-9_]*)`\s*\|\s*(?<status>[^|]+)\|(?<when>[^|]*)\|", RegexOptions.Multiline)]
    private static partial Regex Row();
}
