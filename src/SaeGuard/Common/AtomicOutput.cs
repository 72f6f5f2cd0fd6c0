namespace SaeGuard.Common;

/// <summary>
/// Writes an output folder or file through a temporary sibling and renames it into place on
/// <see cref="Commit"/>; disposing without committing deletes the temporary, so a failed run
/// never leaves a half-written output.
/// </summary>
public sealed class AtomicDirectory : IDisposable
{
    public string FinalPath { get; }
    public string TempPath { get; }
    bool _committed;

    public AtomicDirectory(string finalPath, bool overwrite = true)
    {
        FinalPath = Path.GetFullPath(finalPath);
        var parent = Path.GetDirectoryName(FinalPath) ?? ".";
        try { Directory.CreateDirectory(parent); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new UserError($"Cannot create output folder '{parent}': {e.Message}");
        }
        if (!overwrite && Directory.Exists(FinalPath) && Directory.EnumerateFileSystemEntries(FinalPath).Any())
            throw new UserError($"Output folder '{FinalPath}' already exists and is not empty.");
        TempPath = Path.Combine(parent, $".{Path.GetFileName(FinalPath)}.tmp-{Guid.NewGuid():N}");
        try { Directory.CreateDirectory(TempPath); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new UserError($"Cannot write to output folder '{parent}': {e.Message}");
        }
    }

    public string File(string relative) => Path.Combine(TempPath, relative);

    public void Commit()
    {
        if (Directory.Exists(FinalPath)) Directory.Delete(FinalPath, recursive: true);
        Directory.Move(TempPath, FinalPath);
        _committed = true;
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
        var tmp = Path.Combine(dir, $".{Path.GetFileName(full)}.tmp-{Guid.NewGuid():N}");
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
