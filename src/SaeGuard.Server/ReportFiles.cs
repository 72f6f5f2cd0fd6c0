namespace SaeGuard.Server;

/// <summary>
/// The files of a report folder that may be served, found once at start-up: report pages and
/// their images only. Requests name a file by its relative path, which is looked up in this
/// list; nothing from a request is ever combined into a file-system path.
/// </summary>
sealed class ReportFiles
{
    static readonly HashSet<string> Allowed = new(StringComparer.OrdinalIgnoreCase) { ".html", ".png", ".svg", ".jpg", ".jpeg", ".css" };
    const int MaxFiles = 500;
    const int MaxDepth = 3;

    readonly Dictionary<string, string> _files = new(StringComparer.Ordinal);

    public ReportFiles(string? dir)
    {
        if (dir == null || !Directory.Exists(dir)) return;
        Scan(new DirectoryInfo(dir), "", 0);
    }

    void Scan(DirectoryInfo dir, string prefix, int depth)
    {
        foreach (var f in dir.EnumerateFiles().OrderBy(f => f.Name, StringComparer.Ordinal))
        {
            if (_files.Count >= MaxFiles) return;
            if (f.Attributes.HasFlag(FileAttributes.ReparsePoint) || !Allowed.Contains(f.Extension)) continue;
            _files[prefix + f.Name] = f.FullName;
        }
        if (depth >= MaxDepth) return;
        foreach (var d in dir.EnumerateDirectories().OrderBy(d => d.Name, StringComparer.Ordinal))
            if (!d.Attributes.HasFlag(FileAttributes.ReparsePoint) && !d.Name.StartsWith('.'))
                Scan(d, prefix + d.Name + "/", depth + 1);
    }

    public bool Has(string relative) => _files.ContainsKey(relative);

    public string? PathOf(string relative) => _files.GetValueOrDefault(relative);
}
