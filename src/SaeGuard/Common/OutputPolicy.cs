using System.Collections.Concurrent;

namespace SaeGuard.Common;

/// <summary>What a command may do to the path named by its --out, decided before any work.</summary>
public sealed record OutputApproval(string FullPath, string Kind, bool Force, IReadOnlyList<string> Inputs)
{
    /// <summary>The command writes into the folder itself (no swap); <see cref="Claimed"/> once its marker is there.</summary>
    public bool InPlace { get; init; }
    public bool Claimed { get; init; }
}

/// <summary>
/// The one rule for every command that writes (docs/FORMATS.md, "Output policy"). An --out is
/// refused, before any work, when it is a file where a folder is expected, when it equals,
/// contains or lies inside an input, or when it is a non-empty folder SaeGuard did not write
/// (no <see cref="OutputMarker"/>) or wrote as another kind of output. <c>--force</c> lifts the
/// last two refusals, never the input one. A folder output is then replaced only by
/// <see cref="AtomicDirectory.Commit"/>'s swap, which consults the approval recorded here.
/// </summary>
public static class OutputPolicy
{
    static readonly ConcurrentDictionary<string, OutputApproval> Approvals = new(StringComparer.Ordinal);

    /// <summary>Checks a folder output of <paramref name="kind"/>; returns its full path.</summary>
    public static string Folder(string outPath, string kind, bool force, params string?[] inputs)
    {
        var (full, ins) = Relate(outPath, inputs);
        if (System.IO.File.Exists(full))
            throw new UserError($"--out '{full}' is a file; this command writes a folder there. Choose another path (a file is never replaced by a folder).");
        if (Directory.Exists(full) && !force) RequireReplaceable(full, kind);
        Approvals[full] = new OutputApproval(full, kind, force, ins);
        StaleTemporaries.SweepBeside(full);
        return full;
    }

    /// <summary>
    /// Checks a folder that the command fills in place (train, data mix, data viz, demo). The
    /// folder is claimed (created with its marker; a foreign folder replaced under --force is
    /// swapped out first) now when <paramref name="claimNow"/>, else by the first file written into
    /// it (<see cref="AtomicFile"/>), so a run that fails before writing leaves nothing.
    /// </summary>
    public static string FolderInPlace(string outPath, string kind, bool force, bool claimNow, params string?[] inputs)
    {
        var full = Folder(outPath, kind, force, inputs);
        Approvals[full] = Approvals[full] with { InPlace = true };
        if (claimNow) Claim(full);
        return full;
    }

    /// <summary>Creates an output folder a library stage fills in place, claiming it when a command's policy check approved it.</summary>
    public static void CreateInPlace(string dir)
    {
        Claim(Path.GetFullPath(dir).TrimEnd(Path.DirectorySeparatorChar));
        Directory.CreateDirectory(dir);
    }

    /// <summary>Called before a file is written into <paramref name="dir"/>: claims an in-place output folder once.</summary>
    internal static void Claim(string dir)
    {
        if (!Approvals.TryGetValue(dir, out var a) || !a.InPlace || a.Claimed) return;
        lock (a)
        {
            if (Approvals[dir].Claimed) return;
            if (Directory.Exists(dir) && OutputMarker.Read(dir)?.Kind != a.Kind && Directory.EnumerateFileSystemEntries(dir).Any())
            {
                using var fresh = new AtomicDirectory(dir, a.Kind); // only reached under --force: Folder refused otherwise
                fresh.Commit();
            }
            Directory.CreateDirectory(dir);
            OutputMarker.Write(dir, a.Kind);
            Approvals[dir] = Approvals[dir] with { Claimed = true };
        }
    }

    /// <summary>Checks a single-file output: never an input, never a folder; an existing file only with --force.</summary>
    public static string File(string outPath, bool force, params string?[] inputs)
    {
        var (full, ins) = Relate(outPath, inputs);
        if (Directory.Exists(full))
            throw new UserError($"--out '{full}' is a folder; this command writes a file there.");
        if (System.IO.File.Exists(full) && !force)
            throw new UserError($"--out '{full}' already exists; pass --force to replace it.");
        StaleTemporaries.SweepBeside(full);
        return full;
    }

    /// <summary>The approval a command recorded for this path, if any.</summary>
    public static OutputApproval? ApprovalFor(string fullPath) => Approvals.GetValueOrDefault(fullPath);

    /// <summary>Refuses a non-empty folder that is not a SaeGuard output of this kind.</summary>
    internal static void RequireReplaceable(string full, string? kind)
    {
        if (!Directory.EnumerateFileSystemEntries(full).Any()) return;
        var marker = OutputMarker.Read(full);
        if (marker == null)
            throw new UserError($"--out '{full}' is a folder with files that SaeGuard did not write; it is left untouched. " +
                                "Choose an empty or new folder, or pass --force to replace it.");
        if (kind != null && marker.Kind != kind)
            throw new UserError($"--out '{full}' holds a SaeGuard {marker.Kind} output, not a {kind}; it is left untouched. " +
                                "Choose another folder, or pass --force to replace it.");
    }

    static (string Full, List<string> Inputs) Relate(string outPath, string?[] inputs)
    {
        if (string.IsNullOrWhiteSpace(outPath)) throw new UserError("--out is empty.");
        var full = Path.GetFullPath(outPath).TrimEnd(Path.DirectorySeparatorChar);
        if (full.Length == 0 || Path.GetDirectoryName(full) == null)
            throw new UserError($"--out '{outPath}' is a file-system root.");
        var realOut = PathRelations.Real(full);
        var ins = new List<string>();
        foreach (var i in inputs)
        {
            if (string.IsNullOrWhiteSpace(i)) continue;
            var fi = Path.GetFullPath(i).TrimEnd(Path.DirectorySeparatorChar);
            if (!System.IO.File.Exists(fi) && !Directory.Exists(fi)) continue; // a built-in name ("minilm"), or missing: its reader says so
            var realIn = PathRelations.Real(fi);
            ins.Add(realIn);
            if (PathRelations.Same(realOut, realIn))
                throw new UserError($"--out '{full}' is the input '{i}'; it would be overwritten. Choose another output path.");
            if (PathRelations.Inside(realOut, realIn))
                throw new UserError($"--out '{full}' lies inside the input '{i}'; outputs never go into an input. Choose another output path.");
            if (PathRelations.Inside(realIn, realOut))
                throw new UserError($"--out '{full}' contains the input '{i}'; replacing it would delete the input. Choose another output path.");
        }
        return (full, ins);
    }
}

/// <summary>Path comparisons after resolving symbolic links, so a link cannot hide an input.</summary>
static class PathRelations
{
    static readonly StringComparison Cmp = OperatingSystem.IsWindows() || OperatingSystem.IsMacOS()
        ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal;

    public static bool Same(string a, string b) => string.Equals(a, b, Cmp);

    /// <summary>True when <paramref name="inner"/> lies strictly inside <paramref name="outer"/>.</summary>
    public static bool Inside(string inner, string outer)
    {
        var o = outer.EndsWith(Path.DirectorySeparatorChar) ? outer : outer + Path.DirectorySeparatorChar;
        return inner.StartsWith(o, Cmp);
    }

    /// <summary>The path with every symbolic link on it resolved (components that do not exist yet are kept).</summary>
    public static string Real(string full)
    {
        var root = Path.GetPathRoot(full) ?? "/";
        var parts = full[root.Length..].Split(Path.DirectorySeparatorChar, StringSplitOptions.RemoveEmptyEntries);
        var cur = root;
        int hops = 0;
        for (int i = 0; i < parts.Length; i++)
        {
            var next = Path.Combine(cur, parts[i]);
            FileSystemInfo info = Directory.Exists(next) ? new DirectoryInfo(next) : new FileInfo(next);
            if (info.Exists && info.LinkTarget != null && hops++ < 40)
            {
                try
                {
                    var target = info.ResolveLinkTarget(returnFinalTarget: true);
                    if (target != null) { cur = Real(Path.GetFullPath(target.FullName)); continue; }
                }
                catch (IOException) { }
            }
            cur = next;
        }
        return cur.Length > root.Length ? cur.TrimEnd(Path.DirectorySeparatorChar) : cur;
    }
}
