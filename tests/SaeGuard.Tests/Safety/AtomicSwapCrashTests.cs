using System.Diagnostics;
using SaeGuard.Common;
using SaeGuard.Tests.Infrastructure;
using SaeGuard.Tests.Interop;

namespace SaeGuard.Tests.Safety;

/// <summary>
/// The swap that replaces an output, killed (SIGKILL, in a child process) after each of its
/// steps: the old or the new output is whole every time, and the next run cleans up or puts the
/// old one back.
/// </summary>
public class AtomicSwapCrashTests
{
    static string Sae => InteropFixtures.File("sae", "saelens_topk");

    static int Child(params string[] args)
    {
        var psi = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false,
        };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "SaeGuard.Cli.dll"));
        foreach (var a in args[1..]) psi.ArgumentList.Add(a);
        psi.Environment[AtomicDirectory.CrashVariable] = args[0];
        using var p = Process.Start(psi)!;
        p.StandardError.ReadToEndAsync();
        p.StandardOutput.ReadToEndAsync();
        Assert.True(p.WaitForExit(120_000), "child did not finish");
        return p.ExitCode;
    }

    static string Convert(string to, string name)
    {
        var (code, _, err) = CliHarness.Run("sae", "convert", "--from", Sae, "--to", to, "--model-name", name, "--force");
        Assert.True(code == 0, err);
        return to;
    }

    [Theory]
    [InlineData("written", "old")]
    [InlineData("aside", "old")]
    [InlineData("swapped", "new")]
    public void Killed_at_each_step_of_the_swap_leaves_the_old_or_the_new_output_whole(string step, string expectAfterRecovery)
    {
        using var tmp = new TempDir();
        var oldRef = FolderSnapshot.Of(Convert(tmp["ref_old"], "old"));
        var newRef = FolderSnapshot.Of(Convert(tmp["ref_new"], "new"));
        Assert.NotEqual(oldRef["cfg.json"], newRef["cfg.json"]);
        var outDir = Convert(tmp["out"], "old");

        int code = Child(step, "sae", "convert", "--from", Sae, "--to", outDir, "--model-name", "new");
        Assert.NotEqual(0, code); // killed

        // right after the crash: the final path holds old or new whole, or (between the renames) nothing, with both whole beside it
        var aside = Directory.GetDirectories(tmp.Path, ".out.old-*");
        var temps = Directory.GetDirectories(tmp.Path, ".out.tmp-*");
        switch (step)
        {
            case "written": Same(oldRef, outDir); Assert.Single(temps); Same(newRef, temps[0]); break;
            case "aside": Assert.False(Directory.Exists(outDir)); Same(oldRef, Assert.Single(aside)); Same(newRef, Assert.Single(temps)); break;
            case "swapped": Same(newRef, outDir); Same(oldRef, Assert.Single(aside)); break;
        }

        // the next run writing beside it recovers: the old output back in place, temporaries gone
        OutputPolicy.Folder(outDir, "sae", force: false);
        Same(expectAfterRecovery == "old" ? oldRef : newRef, outDir);
        Assert.Empty(Directory.GetFileSystemEntries(tmp.Path, ".out.*"));
        Convert(outDir, "third");
        Assert.Contains("third", File.ReadAllText(Path.Combine(outDir, "cfg.json")));
        Assert.Empty(Directory.GetFileSystemEntries(tmp.Path, ".out.*"));
    }

    static void Same(Dictionary<string, string> expected, string dir)
    {
        var actual = FolderSnapshot.Of(dir);
        Assert.Equal(expected.OrderBy(kv => kv.Key), actual.OrderBy(kv => kv.Key));
    }
}
