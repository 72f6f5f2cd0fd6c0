namespace SaeGuard.Common;

/// <summary>
/// Writes an output folder through a temporary sibling (<c>.NAME.tmp-PID-GUID</c>) and puts it in
/// place on <see cref="Commit"/>; disposing without committing deletes the temporary, so a failed
/// run never leaves a half-written output. An existing folder is replaced only when
/// <see cref="OutputPolicy"/> allows it (empty, a SaeGuard output, or --force), and only through a
/// swap: old renamed aside, new renamed in, old deleted. A crash at any point leaves the old or the
/// new output whole; if it struck between the two renames, the next run writing there puts the old
/// one back (<see cref="StaleTemporaries"/>).
/// </summary>
public sealed class AtomicDirectory : IDisposable
{
    public string FinalPath { get; }
    public string TempPath { get; }
    public string Kind { get; }
    bool _committed;

    /// <summary>Set SAEGUARD_CRASH_AT to a swap step (written, aside, swapped) to kill the process there (tests).</summary>
    public const string CrashVariable = "SAEGUARD_CRASH_AT";

    /// <param name="finalPath">The folder the output will be at once committed.</param>
    /// <param name="kind">The output kind recorded in the marker (default: what the command's policy check said).</param>
    public AtomicDirectory(string finalPath, string? kind = null)
    {
        FinalPath = Path.GetFullPath(finalPath).TrimEnd(Path.DirectorySeparatorChar);
        var approval = OutputPolicy.ApprovalFor(FinalPath);
        Kind = kind ?? approval?.Kind ?? "output";
        var parent = Path.GetDirectoryName(FinalPath) ?? ".";
        try { Directory.CreateDirectory(parent); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new UserError($"Cannot create output folder '{parent}': {e.Message}");
        }
        CheckReplaceable(approval);
        StaleTemporaries.SweepBeside(FinalPath);
        TempPath = StaleTemporaries.TempName(FinalPath);
        try { Directory.CreateDirectory(TempPath); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new UserError($"Cannot write to output folder '{parent}': {e.Message}");
        }
    }

    void CheckReplaceable(OutputApproval? approval)
    {
        if (System.IO.File.Exists(FinalPath))
            throw new UserError($"Output '{FinalPath}' is a file; a folder is never written over a file.");
        if (Directory.Exists(FinalPath) && approval is not { Force: true })
            OutputPolicy.RequireReplaceable(FinalPath, approval?.Kind);
    }

    public string File(string relative) => Path.Combine(TempPath, relative);

    public void Commit()
    {
        OutputMarker.Write(TempPath, Kind);
        CrashPoint("written");
        var approval = OutputPolicy.ApprovalFor(FinalPath);
        CheckReplaceable(approval);
        if (!Directory.Exists(FinalPath))
        {
            Directory.Move(TempPath, FinalPath);
            _committed = true;
            return;
        }
        var aside = StaleTemporaries.AsideName(FinalPath);
        Directory.Move(FinalPath, aside);
        CrashPoint("aside");
        try { Directory.Move(TempPath, FinalPath); }
        catch
        {
            try { Directory.Move(aside, FinalPath); } catch (IOException) { }
            throw;
        }
        _committed = true;
        CrashPoint("swapped");
        try { Directory.Delete(aside, recursive: true); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
    }

    static void CrashPoint(string step)
    {
        if (Environment.GetEnvironmentVariable(CrashVariable) == step)
            System.Diagnostics.Process.GetCurrentProcess().Kill();
    }

    public void Dispose()
    {
        if (!_committed && Directory.Exists(TempPath))
        {
            try { Directory.Delete(TempPath, recursive: true); } catch (IOException) { }
        }
    }
}

/// <summary>Writes one file through a temporary sibling, then renames it.</summary>
public static class AtomicFile
{
    public static void Write(string path, Action<Stream> write)
    {
        var full = Path.GetFullPath(path);
        var dir = Path.GetDirectoryName(full) ?? ".";
        try { Directory.CreateDirectory(dir); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new UserError($"Cannot create folder '{dir}': {e.Message}");
        }
        if (Directory.Exists(full)) throw new UserError($"Cannot write the file '{full}': a folder is there.");
        OutputPolicy.Claim(dir);
        var tmp = StaleTemporaries.TempName(full);
        try
        {
            using (var fs = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20))
                write(fs);
            System.IO.File.Move(tmp, full, overwrite: true);
        }
        catch (UnauthorizedAccessException e)
        {
            throw new UserError($"Cannot write '{full}': {e.Message}");
        }
        finally
        {
            if (System.IO.File.Exists(tmp)) System.IO.File.Delete(tmp);
        }
    }

    public static void WriteAllText(string path, string text) =>
        Write(path, s => { using var w = new StreamWriter(s, new System.Text.UTF8Encoding(false)); w.Write(text); });
}
