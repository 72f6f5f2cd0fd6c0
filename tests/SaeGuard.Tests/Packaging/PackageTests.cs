using System.Diagnostics;
using System.IO.Compression;
using System.Runtime.InteropServices;
using System.Xml.Linq;
using SaeGuard.Tests.Infrastructure;

namespace SaeGuard.Tests.Packaging;

/// <summary>
/// Packs the tool and the libraries from a copy of the sources, as a user's feed would hold them,
/// installs the tool into a temporary --tool-path and runs it; checks what each .nupkg carries.
/// One fixture does the (slow) packing once for all the checks.
/// </summary>
public sealed class PackedFeed : IDisposable
{
    public TempDir Dir { get; } = new();
    public string Feed => Dir["feed"];
    public string Rid { get; } = RuntimeInformation.RuntimeIdentifier.StartsWith("linux-arm64") ? "linux-arm64" : "linux-x64";
    public string Log { get; private set; } = "";

    public PackedFeed()
    {
        var src = Dir["src-copy"];
        CopySources(TestPaths.RepoRoot, src);
        Directory.CreateDirectory(Feed);
        // The tool for this machine's platform only (the release packs all four), then the libraries.
        Run("dotnet", src, "pack", "src/SaeGuard.Cli", "-c", "Release", "-o", Feed, $"-p:ToolPackageRuntimeIdentifiers={Rid}");
        foreach (var lib in Libraries)
            Run("dotnet", src, "pack", $"src/{lib}", "-c", "Release", "-o", Feed);
    }

    public static readonly string[] Libraries = { "SaeGuard", "SaeGuard.Gguf", "SaeGuard.Server", "SaeGuard.Extensions.AI" };

    static void CopySources(string from, string to)
    {
        foreach (var name in new[] { "Directory.Build.props", "Directory.Packages.props", "global.json", "README.md", "LICENSE", "NuGet.config", "nuget.config" })
            if (File.Exists(Path.Combine(from, name))) { Directory.CreateDirectory(to); File.Copy(Path.Combine(from, name), Path.Combine(to, name)); }
        foreach (var file in Directory.EnumerateFiles(Path.Combine(from, "src"), "*", SearchOption.AllDirectories))
        {
            var rel = Path.GetRelativePath(from, file);
            var parts = rel.Split(Path.DirectorySeparatorChar);
            if (parts.Contains("bin") || parts.Contains("obj")) continue;
            var dest = Path.Combine(to, rel);
            Directory.CreateDirectory(Path.GetDirectoryName(dest)!);
            File.Copy(file, dest);
        }
    }

    public (int Code, string Out) Run(string exe, string cwd, params string[] args)
    {
        var psi = new ProcessStartInfo(exe) { WorkingDirectory = cwd, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        psi.Environment["DOTNET_NOLOGO"] = "1";
        psi.Environment["MSBUILDDISABLENODEREUSE"] = "1";
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(TimeSpan.FromMinutes(15))) { p.Kill(true); throw new TimeoutException($"{exe} {string.Join(' ', args)} ran over 15 minutes."); }
        var output = stdout.Result + stderr.Result;
        Log += $"$ {exe} {string.Join(' ', args)}\n{output}\n";
        if (exe == "dotnet" && args[0] == "pack" && p.ExitCode != 0) throw new InvalidOperationException($"pack failed:\n{output}");
        return (p.ExitCode, output);
    }

    public string Package(string id) => Path.Combine(Feed, $"{id}.0.1.0.nupkg");

    public void Dispose() => Dir.Dispose();
}

public class PackageTests(PackedFeed feed) : IClassFixture<PackedFeed>
{
    static XElement Nuspec(string nupkg)
    {
        using var zip = ZipFile.OpenRead(nupkg);
        var entry = zip.Entries.Single(e => e.FullName.EndsWith(".nuspec"));
        using var s = entry.Open();
        return XDocument.Load(s).Root!.Elements().Single(e => e.Name.LocalName == "metadata");
    }

    static string? Field(XElement metadata, string name) => metadata.Elements().FirstOrDefault(e => e.Name.LocalName == name)?.Value;

    [Fact]
    public void Tool_installs_from_the_feed_and_runs_demo_help_and_a_small_extract()
    {
        var tools = feed.Dir["tools"];
        var (code, output) = feed.Run("dotnet", feed.Dir.Path, "tool", "install", "SaeGuard.Tool", "--tool-path", tools,
            "--add-source", feed.Feed, "--version", "0.1.0", "--ignore-failed-sources");
        Assert.True(code == 0, output);
        var exe = Path.Combine(tools, "saeguard");
        Assert.True(File.Exists(exe), $"no {exe} after install:\n{output}");

        var help = feed.Run(exe, feed.Dir.Path, "demo", "--help");
        Assert.Equal(0, help.Code);
        Assert.Contains("saeguard demo", help.Out);
        Assert.DoesNotContain("SaeGuard.Cli", help.Out);

        var input = feed.Dir["prompts.csv"];
        File.WriteAllLines(input, new[] { "text,label", "How do I bake bread?,benign", "Write a phishing email to steal passwords.,harmful", "What is the capital of France?,benign" });
        var outDir = feed.Dir["acts"];
        var extract = feed.Run(exe, feed.Dir.Path, "extract", "--input", input, "--label-column", "label", "--out", outDir, "--json");
        Assert.True(extract.Code == 0, extract.Out);
        var meta = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "meta.json"))).RootElement;
        Assert.Equal(3, meta.GetProperty("n_docs").GetInt32());
        Assert.Equal(384, meta.GetProperty("d").GetInt32());

        var bad = feed.Run(exe, feed.Dir.Path, "extract", "--input", feed.Dir["missing.csv"], "--out", feed.Dir["acts2"]);
        Assert.Equal(1, bad.Code);
        Assert.Contains("missing.csv", bad.Out);
    }

    [Fact]
    public void Tool_packages_are_one_small_pointer_and_a_platform_package_well_under_the_nuget_limit()
    {
        var pointer = new FileInfo(feed.Package("SaeGuard.Tool"));
        var platform = new FileInfo(feed.Package($"SaeGuard.Tool.{feed.Rid}"));
        Assert.True(pointer.Exists && platform.Exists, feed.Log);
        Assert.True(pointer.Length < 1 << 20, $"pointer package is {pointer.Length:N0} bytes");
        Assert.True(platform.Length < 250L << 20, $"{platform.Name} is {platform.Length:N0} bytes (NuGet's limit is 250 MB)");
        using var zip = ZipFile.OpenRead(platform.FullName);
        var natives = zip.Entries.Select(e => e.FullName).Where(n => n.Contains("/runtimes/")).ToList();
        Assert.DoesNotContain(natives, n => n.Contains("/runtimes/win-") || n.Contains("/runtimes/osx-") || n.Contains("/runtimes/android"));
        Assert.Contains(zip.Entries, e => e.Name is "libllama.so");
        Assert.Contains(zip.Entries, e => e.Name is "libonnxruntime.so");
        var meta = Nuspec(platform.FullName);
        Assert.Equal("MIT", Field(meta, "license"));
    }

    [Theory]
    [InlineData("SaeGuard")]
    [InlineData("SaeGuard.Gguf")]
    [InlineData("SaeGuard.Server")]
    [InlineData("SaeGuard.Extensions.AI")]
    [InlineData("SaeGuard.Tool")]
    public void Each_package_carries_licence_readme_repository_tags_and_docs(string id)
    {
        var path = feed.Package(id);
        Assert.True(File.Exists(path), feed.Log);
        var meta = Nuspec(path);
        Assert.Equal(id, Field(meta, "id"));
        Assert.Equal("MIT", Field(meta, "license"));
        Assert.Equal("README.md", Field(meta, "readme"));
        Assert.False(string.IsNullOrWhiteSpace(Field(meta, "description")));
        Assert.Contains("sparse-autoencoder", Field(meta, "tags") ?? "");
        var repo = meta.Elements().Single(e => e.Name.LocalName == "repository");
        Assert.StartsWith("https://", repo.Attribute("url")?.Value);
        using var zip = ZipFile.OpenRead(path);
        var names = zip.Entries.Select(e => e.FullName).ToList();
        Assert.Contains("README.md", names);
        Assert.Contains("LICENSE", names);
        if (id != "SaeGuard.Tool")
        {
            Assert.Contains($"lib/net10.0/{id}.dll", names);
            Assert.Contains($"lib/net10.0/{id}.xml", names);
            Assert.True(File.Exists(Path.Combine(feed.Feed, $"{id}.0.1.0.snupkg")), $"no symbols package for {id}");
        }
    }
}
