namespace SaeGuard.Tests.Infrastructure;

/// <summary>Where the shared data sets are (../shared beside the repo) and scratch folders.</summary>
public static class TestPaths
{
    public static string RepoRoot { get; } = FindRepoRoot();

    public static string SharedData(params string[] parts) =>
        Path.Combine(new[] { RepoRoot, "..", "shared", "data" }.Concat(parts).ToArray());

    static string FindRepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir != null && !File.Exists(Path.Combine(dir.FullName, "SaeGuard.sln"))) dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("SaeGuard.sln not found above the test binaries.");
    }
}

/// <summary>A temporary folder deleted on dispose.</summary>
public sealed class TempDir : IDisposable
{
    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "saeguard-test-" + Guid.NewGuid().ToString("N")[..12]);
    public TempDir() => Directory.CreateDirectory(Path);
    public string this[string relative] => System.IO.Path.Combine(Path, relative);
    public void Dispose() { try { Directory.Delete(Path, true); } catch (IOException) { } }
}
