using System.Diagnostics;

namespace SaeGuard.Common;

/// <summary>
/// Names of the temporaries written beside an output (<c>.NAME.tmp-PID-GUID</c> for the new
/// output, <c>.NAME.old-PID-GUID</c> for the old one during a swap) and their clean-up: those of a
/// process that is no longer running are removed by the next run writing beside them, and an old
/// output a crash left aside (with no output at its place) is put back.
/// </summary>
public static class StaleTemporaries
{
    public static string TempName(string finalPath) => Name(finalPath, "tmp");
    public static string AsideName(string finalPath) => Name(finalPath, "old");

    static string Name(string finalPath, string what) =>
        Path.Combine(Path.GetDirectoryName(finalPath) ?? ".", $".{Path.GetFileName(finalPath)}.{what}-{Environment.ProcessId}-{Guid.NewGuid():N}");

    /// <summary>Removes dead processes' temporaries of <paramref name="finalPath"/>; restores an old output left aside.</summary>
    public static void SweepBeside(string finalPath)
    {
        var dir = Path.GetDirectoryName(finalPath);
        if (dir == null || !Directory.Exists(dir)) return;
        var name = Path.GetFileName(finalPath);
        string[] entries;
        try { entries = Directory.GetFileSystemEntries(dir, $".{name}.*-*"); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return; }
        foreach (var e in entries.Order(StringComparer.Ordinal))
        {
            var rest = Path.GetFileName(e)[(name.Length + 2)..];
            bool aside = rest.StartsWith("old-", StringComparison.Ordinal);
            if (!aside && !rest.StartsWith("tmp-", StringComparison.Ordinal)) continue;
            if (!IsStale(rest[4..], e)) continue;
            try
            {
                if (aside && !Directory.Exists(finalPath) && !File.Exists(finalPath))
                {
                    Directory.Move(e, finalPath); // a crash between the two renames of a swap: the old output comes back
                    continue;
                }
                if (Directory.Exists(e)) Directory.Delete(e, recursive: true);
                else File.Delete(e);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { }
        }
    }

    /// <summary>"PID-GUID" of a process that is gone; a legacy "GUID" (no PID) older than a day.</summary>
    static bool IsStale(string idPart, string path)
    {
        int dash = idPart.IndexOf('-');
        if (dash > 0 && int.TryParse(idPart.AsSpan(0, dash), out int pid))
            return pid != Environment.ProcessId && !Alive(pid);
        if (dash < 0 && Guid.TryParseExact(idPart, "N", out _))
            return DateTime.UtcNow - Directory.GetLastWriteTimeUtc(path) > TimeSpan.FromDays(1);
        return false;
    }

    static bool Alive(int pid)
    {
        try { using var p = Process.GetProcessById(pid); return !p.HasExited; }
        catch (ArgumentException) { return false; }
        catch (InvalidOperationException) { return false; }
    }
}
