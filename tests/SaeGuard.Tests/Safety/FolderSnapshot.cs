using System.Security.Cryptography;

namespace SaeGuard.Tests.Safety;

/// <summary>Every file under a folder with its sha256, to assert that nothing was changed or deleted.</summary>
public static class FolderSnapshot
{
    public static Dictionary<string, string> Of(string root) =>
        Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories)
            .ToDictionary(f => Path.GetRelativePath(root, f), f => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(f))));

    public static void AssertIntact(Dictionary<string, string> before, string root)
    {
        foreach (var (rel, hash) in before)
        {
            var f = Path.Combine(root, rel);
            Assert.True(File.Exists(f), $"'{rel}' was deleted");
            Assert.True(hash == Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(f))), $"'{rel}' was changed");
        }
    }
}
