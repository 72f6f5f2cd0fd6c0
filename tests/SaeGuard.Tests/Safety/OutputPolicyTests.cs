using System.Diagnostics;
using SaeGuard.Common;
using SaeGuard.Tests.Infrastructure;
using SaeGuard.Tests.Sae;
using SaeGuard.Tests.Interop;

namespace SaeGuard.Tests.Safety;

/// <summary>Issue 12, cases 1, 2 and 7: --out never destroys what SaeGuard did not write, and never an input.</summary>
public class OutputPolicyTests
{
    static readonly float[] X = SaeTestDumps.Planted(600, 16, 32, 5);
    static string Sae => InteropFixtures.File("sae", "saelens_topk");

    [Fact]
    public void Analyze_with_out_equal_to_the_dump_is_refused_and_the_dump_is_intact()
    {
        using var tmp = new TempDir();
        SaeTestDumps.Write(tmp["acts"], X, 16);
        var before = FolderSnapshot.Of(tmp["acts"]);
        var sw = Stopwatch.StartNew();
        var (code, _, err) = CliHarness.Run("analyze", "--dump", tmp["acts"], "--out", tmp["acts"]);
        Assert.Equal(1, code);
        Assert.Contains("is the input", err);
        Assert.Contains(tmp["acts"], err);
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(20), $"took {sw.Elapsed}");
        FolderSnapshot.AssertIntact(before, tmp["acts"]);
        Assert.Equal(before.Count, FolderSnapshot.Of(tmp["acts"]).Count);
    }

    [Fact]
    public void Out_inside_or_around_an_input_is_refused()
    {
        using var tmp = new TempDir();
        SaeTestDumps.Write(tmp["acts"], X, 16);
        var before = FolderSnapshot.Of(tmp.Path);
        var (code, _, err) = CliHarness.Run("analyze", "--dump", tmp["acts"], "--out", tmp["acts/report"]);
        Assert.Equal(1, code);
        Assert.Contains("lies inside the input", err);
        (code, _, err) = CliHarness.Run("analyze", "--dump", tmp["acts"], "--out", tmp.Path, "--force");
        Assert.Equal(1, code);
        Assert.Contains("contains the input", err);
        FolderSnapshot.AssertIntact(before, tmp.Path);
        Assert.False(Directory.Exists(tmp["acts/report"]));
    }

    [Fact]
    public void A_symbolic_link_to_the_input_is_still_the_input()
    {
        using var tmp = new TempDir();
        SaeTestDumps.Write(tmp["acts"], X, 16);
        Directory.CreateSymbolicLink(tmp["link"], tmp["acts"]);
        var before = FolderSnapshot.Of(tmp["acts"]);
        var (code, _, err) = CliHarness.Run("analyze", "--dump", tmp["acts"], "--out", tmp["link"], "--force");
        Assert.Equal(1, code);
        Assert.Contains("is the input", err);
        FolderSnapshot.AssertIntact(before, tmp["acts"]);
    }

    [Fact]
    public void Extract_into_a_folder_of_user_files_is_refused_before_any_work()
    {
        using var tmp = new TempDir();
        Directory.CreateDirectory(tmp["mine"]);
        File.WriteAllText(tmp["mine/thesis.tex"], "\\documentclass{article} precious");
        Directory.CreateDirectory(tmp["mine/data"]);
        File.WriteAllBytes(tmp["mine/data/results.bin"], new byte[] { 1, 2, 3 });
        File.WriteAllText(tmp["in.csv"], "text\nhello world\n");
        var before = FolderSnapshot.Of(tmp.Path);
        var sw = Stopwatch.StartNew();
        var (code, _, err) = CliHarness.Run("extract", "--input", tmp["in.csv"], "--out", tmp["mine"]);
        Assert.Equal(1, code);
        Assert.Contains("SaeGuard did not write", err);
        Assert.Contains("--force", err);
        Assert.DoesNotContain("   at ", err);
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(20), $"took {sw.Elapsed}");
        FolderSnapshot.AssertIntact(before, tmp.Path);
        Assert.Empty(Directory.GetFileSystemEntries(tmp.Path, ".mine.*"));
    }

    [Fact]
    public void Out_naming_an_existing_file_fails_before_the_work_with_exit_1()
    {
        using var tmp = new TempDir();
        SaeTestDumps.Write(tmp["acts"], X, 16);
        File.WriteAllText(tmp["notes.txt"], "keep me");
        var sw = Stopwatch.StartNew();
        var (code, _, err) = CliHarness.Run("analyze", "--dump", tmp["acts"], "--out", tmp["notes.txt"], "--force");
        Assert.Equal(1, code);
        Assert.Contains("is a file", err);
        Assert.Contains(tmp["notes.txt"], err);
        Assert.DoesNotContain("   at ", err);
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(20), $"took {sw.Elapsed}");
        Assert.Equal("keep me", File.ReadAllText(tmp["notes.txt"]));
    }

    [Fact]
    public void A_previous_output_of_the_same_kind_is_replaced_another_kind_needs_force()
    {
        using var tmp = new TempDir();
        var (code, _, err) = CliHarness.Run("sae", "convert", "--from", Sae, "--to", tmp["out"], "--model-name", "first");
        Assert.True(code == 0, err);
        Assert.Equal("sae", OutputMarker.Read(tmp["out"])!.Kind);
        (code, _, err) = CliHarness.Run("sae", "convert", "--from", Sae, "--to", tmp["out"], "--model-name", "second");
        Assert.True(code == 0, err);
        Assert.Contains("second", File.ReadAllText(tmp["out/cfg.json"]));
        Assert.Empty(Directory.GetFileSystemEntries(tmp.Path, ".out.*"));

        Directory.CreateDirectory(tmp["report"]);
        File.WriteAllText(tmp["report/report.html"], "<html>an analysis</html>");
        OutputMarker.Write(tmp["report"], "report");
        (code, _, err) = CliHarness.Run("sae", "convert", "--from", Sae, "--to", tmp["report"]);
        Assert.Equal(1, code);
        Assert.Contains("holds a SaeGuard report output", err);
        Assert.True(File.Exists(tmp["report/report.html"]));
        (code, _, err) = CliHarness.Run("sae", "convert", "--from", Sae, "--to", tmp["report"], "--force");
        Assert.True(code == 0, err);
        Assert.False(File.Exists(tmp["report/report.html"]));
        Assert.True(File.Exists(tmp["report/cfg.json"]));
    }

    [Fact]
    public void Force_replaces_a_foreign_folder_through_the_swap()
    {
        using var tmp = new TempDir();
        Directory.CreateDirectory(tmp["old"]);
        File.WriteAllText(tmp["old/x.txt"], "foreign");
        var (code, _, err) = CliHarness.Run("sae", "convert", "--from", Sae, "--to", tmp["old"]);
        Assert.Equal(1, code);
        Assert.True(File.Exists(tmp["old/x.txt"]));
        (code, _, err) = CliHarness.Run("sae", "convert", "--from", Sae, "--to", tmp["old"], "--force");
        Assert.True(code == 0, err);
        Assert.Equal(new[] { ".saeguard-output", "cfg.json", "sae_weights.safetensors" }, Directory.GetFiles(tmp["old"]).Select(Path.GetFileName).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Stale_temporaries_of_dead_processes_are_removed_by_the_next_run_and_live_ones_kept()
    {
        using var tmp = new TempDir();
        int dead = DeadPid();
        var stale = tmp[$".out.tmp-{dead}-{Guid.NewGuid():N}"];
        var staleFile = tmp[$".out.tmp-{dead}-{Guid.NewGuid():N}x"];
        var live = tmp[$".out.tmp-{Environment.ProcessId}-{Guid.NewGuid():N}"];
        var other = tmp[$".other.tmp-{dead}-{Guid.NewGuid():N}"];
        foreach (var d in new[] { stale, live, other }) { Directory.CreateDirectory(d); File.WriteAllText(Path.Combine(d, "part"), "x"); }
        File.WriteAllText(staleFile, "partial file");
        var (code, _, err) = CliHarness.Run("sae", "convert", "--from", Sae, "--to", tmp["out"]);
        Assert.True(code == 0, err);
        Assert.False(Directory.Exists(stale));
        Assert.False(File.Exists(staleFile));
        Assert.True(Directory.Exists(live), "a running process's temporary was removed");
        Assert.True(Directory.Exists(other), "a temporary of another output was removed");
    }

    [Fact]
    public void File_outputs_refuse_an_input_a_folder_and_an_existing_file_without_force()
    {
        using var tmp = new TempDir();
        File.WriteAllText(tmp["in.csv"], "text\nhi\n");
        File.WriteAllText(tmp["old.csv"], "previous results");
        Directory.CreateDirectory(tmp["dir.csv"]);
        Assert.Contains("is the input", Assert.Throws<UserError>(() => OutputPolicy.File(tmp["in.csv"], true, tmp["in.csv"])).Message);
        Assert.Contains("is a folder", Assert.Throws<UserError>(() => OutputPolicy.File(tmp["dir.csv"], true)).Message);
        Assert.Contains("--force", Assert.Throws<UserError>(() => OutputPolicy.File(tmp["old.csv"], false, tmp["in.csv"])).Message);
        Assert.Equal(Path.GetFullPath(tmp["old.csv"]), OutputPolicy.File(tmp["old.csv"], true, tmp["in.csv"]));
        Assert.Equal("previous results", File.ReadAllText(tmp["old.csv"]));
    }

    [Fact]
    public void A_failed_in_place_output_leaves_nothing_behind()
    {
        using var tmp = new TempDir();
        File.WriteAllText(tmp["recipe.yaml"], "sources:\n  - name: a\n    path: " + tmp["missing.csv"] + "\n    share: 1\n");
        var (code, _, _) = CliHarness.Run("data", "mix", "--recipe", tmp["recipe.yaml"], "--out", tmp["mix"]);
        Assert.Equal(1, code);
        Assert.False(Directory.Exists(tmp["mix"]));
    }

    internal static int DeadPid()
    {
        for (int pid = 4_000_000; ; pid--)
            try { using var p = Process.GetProcessById(pid); }
            catch (ArgumentException) { return pid; }
    }
}
