using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using SaeGuard.Activations;
using SaeGuard.Analysis;
using SaeGuard.Interop;

namespace SaeGuard.Bench;

/// <summary>
/// Feature statistics on a 13,676 × 20,480 f32 codes matrix (1.1 GB, ≈58% positive, the seed's
/// shape) vs the numpy peer ../shared/bench/numpy_feature_stats.py on the same matrix.
/// args: [work dir (default /tmp/saeguard-bench-analyze)] [--rows N] [--width W] [--no-peer]
/// [--formats: also time the matrix as one .pt, .npz (stored, deflated) and safetensors chunk]
/// </summary>
public sealed class AnalyzeBenchmark : IBenchmark
{
    public string Name => "analyze";
    public string Description => "feature statistics on a 13,676 × 20,480 f32 dump vs numpy (numpy_feature_stats.py)";

    public void Run(string[] args)
    {
        string work = args.FirstOrDefault(a => !a.StartsWith("--")) ?? Path.Combine(Path.GetTempPath(), "saeguard-bench-analyze");
        int rows = IntArg(args, "--rows", 13676), width = IntArg(args, "--width", 20480);
        bool peer = !args.Contains("--no-peer");
        Directory.CreateDirectory(work);
        var peerScript = Path.GetFullPath(Path.Combine(FindRepoRoot(), "..", "shared", "bench", "numpy_feature_stats.py"));
        var npyDir = Path.Combine(work, $"npy_{rows}x{width}");
        var npy = Path.Combine(npyDir, "X_chunk0.npy");
        if (!File.Exists(npy))
        {
            Directory.CreateDirectory(npyDir);
            if (peer)
            {
                Console.WriteLine($"making {npy} with the peer's generator (seed 0)…");
                Python(peerScript, $"--make {rows} {width} {npy}");
            }
            else
            {
                Console.WriteLine($"making {npy} (C# generator, seed 0; --no-peer)…");
                ForeignFormatChunks.MakeNpy(npy, rows, width);
            }
        }
        var dumpDir = Path.Combine(work, $"dump_{rows}x{width}");
        if (!File.Exists(Path.Combine(dumpDir, "meta.json"))) ConvertToDump(npyDir, dumpDir, width);

        Console.WriteLine($"matrix: {rows:N0} × {width:N0} f32 ({(long)rows * width * 4 / 1e9:F2} GB), {Environment.ProcessorCount} threads");
        ProgressBarSilence();
        if (args.Contains("--read-only"))
        {
            foreach (var dir in new[] { dumpDir, npyDir, dumpDir, npyDir })
            {
                var sw = Stopwatch.StartNew(); var cpu = Cpu(); long n = 0;
                foreach (var b in AnalysisInput.Open(dir).Blocks(BlockRows(width))) n += b.Rows;
                Console.WriteLine($"read {dir}: {n} rows in {sw.Elapsed.TotalSeconds:F2} s wall, {Cpu() - cpu:F2} s CPU");
            }
            return;
        }
        {
            // in memory, like the peer's timer (np.load excluded)
            var input = AnalysisInput.Open(npyDir);
            var blocks = input.Blocks(BlockRows(width)).Select(b => new RowBlock { Data = (float[])b.Data.Clone(), Rows = b.Rows, D = b.D, RowIds = b.RowIds, DocIds = b.DocIds, Positions = b.Positions, TokenIds = b.TokenIds, IsSpecial = b.IsSpecial }).ToList();
            var sw = Stopwatch.StartNew();
            var cpu = Cpu();
            var a = new FeatureAnalyzer(width, new AnalysisOptions { SampleTokens = 0 });
            foreach (var b in blocks) a.Add(b);
            double p1 = sw.Elapsed.TotalSeconds, c1 = Cpu() - cpu;
            if (a.EndFirstPass()) foreach (var b in blocks) a.AddSecondPass(b);
            var st = a.Finish();
            Console.WriteLine($"in memory: statistics in {sw.Elapsed.TotalSeconds:F2} s wall, {Cpu() - cpu:F2} s CPU (pass 1: {p1:F2} s wall, {c1:F2} s CPU; {st.Passes} passes)");
        }
        GC.Collect();
        var inputs = new List<(string Label, string Dir)> { ("saeguard dump (safetensors shards)", dumpDir), ("foreign .npy chunk", npyDir) };
        if (args.Contains("--formats")) inputs.AddRange(ForeignFormatChunks.Make(npy, work, rows, width));
        double nativeSecs = 0;
        foreach (var (label, dir) in inputs)
        {
            var input = AnalysisInput.Open(dir);
            // warm the page cache the way the peer's np.load does, then time the analysis
            foreach (var _ in input.Blocks(BlockRows(width))) { }
            var sw = Stopwatch.StartNew();
            var cpu = Cpu();
            var stats = FeatureAnalyzer.Run(input.Width, () => input.Blocks(BlockRows(width)), input.Replayable, new AnalysisOptions { SampleTokens = 0 });
            double statsSecs = sw.Elapsed.TotalSeconds;
            if (nativeSecs == 0) nativeSecs = statsSecs;
            Console.WriteLine($"{label}: statistics in {statsSecs:F2} s wall ({statsSecs / nativeSecs:F2}× the SaeGuard dump), {Cpu() - cpu:F2} s CPU ({stats.Passes} passes, reading included) — L0 mean {stats.L0.Mean:F3}, median {stats.L0.Median}, p95 {stats.L0.P95}, p99 {stats.L0.P99}, "
                + $"p50 {stats.Values.P50:G9}, p95 {stats.Values.P95:G9}, p99 {stats.Values.P99:G9}, frac>0.1 {stats.EpsTable[4].FracAbove:F6}");
            if (label.StartsWith("saeguard") && !args.Contains("--stats-only"))
            {
                sw.Restart();
                var result = AnalysisRunner.Run(AnalysisInput.Open(dir), new AnalysisOptions(), PcaMode.Centre);
                double run = sw.Elapsed.TotalSeconds;
                sw.Restart();
                AnalysisReport.Write(Path.Combine(work, "report"), result);
                Console.WriteLine($"{label}: full analyze (stats + 20k-token sample + PCA) {run:F2} s, report (7 plots, npz, html) {sw.Elapsed.TotalSeconds:F2} s");
            }
        }
        if (!peer) return;
        var sw2 = Stopwatch.StartNew();
        var (output, peerCpu) = PythonTimed(peerScript, npy);
        double wall = sw2.Elapsed.TotalSeconds;
        using var doc = JsonDocument.Parse(output.Trim().Split('\n').Last());
        var r = doc.RootElement;
        Console.WriteLine($"numpy peer ({r.GetProperty("numpy").GetString()}): statistics {r.GetProperty("seconds").GetDouble():F2} s (in-memory, load excluded), process wall {wall:F2} s, process CPU {peerCpu:F2} s (load included) — "
            + $"L0 mean {r.GetProperty("l0_mean").GetDouble():F3}, median {r.GetProperty("l0_median").GetDouble()}, p95 {r.GetProperty("l0_p95").GetDouble()}, p99 {r.GetProperty("l0_p99").GetDouble()}, "
            + $"percentiles {string.Join(", ", r.GetProperty("percentiles").EnumerateArray().Select(x => x.GetDouble().ToString("G9", CultureInfo.InvariantCulture)))}");
    }

    static double Cpu() => Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds;

    static int BlockRows(int width) => AnalysisRunner.BlockRows(width);

    static void ProgressBarSilence() => SaeGuard.Common.ProgressBar.Silent = true;

    static void ConvertToDump(string npyDir, string dumpDir, int width)
    {
        Console.WriteLine($"writing {dumpDir} (f32 safetensors shards)…");
        var foreign = ForeignDump.Open(npyDir, AnalysisInput.ForeignOptions);
        using var w = new DumpWriter(dumpDir, new DumpMeta { Kind = "codes", Model = "synthetic", Hook = "sae_codes" }, width, f16: false);
        int doc = 0;
        foreach (var b in foreign.ReadBlocks(512))
        {
            w.AddDoc(new SaeGuard.Data.DocRecord { Id = doc, Text = $"block {doc}" });
            w.AddRows(doc, b.Data, new int[b.Rows], new bool[b.Rows]);
            doc++;
        }
        w.Complete();
    }

    /// <summary>Runs the peer and returns its stdout and the CPU seconds (user + system) of the python process.</summary>
    static (string Output, double Cpu) PythonTimed(string script, string args)
    {
        var psi = new ProcessStartInfo("/usr/bin/python3", $"{script} {args}") { RedirectStandardOutput = true, UseShellExecute = false };
        psi.Environment.Remove("OPENBLAS_CORETYPE");
        psi.Environment.Remove("OPENBLAS_L2_SIZE");
        using var p = Process.Start(psi)!;
        double cpu = 0;
        var output = new System.Text.StringBuilder();
        var reader = Task.Run(() => output.Append(p.StandardOutput.ReadToEnd()));
        while (!p.WaitForExit(50))
        {
            try { p.Refresh(); cpu = p.TotalProcessorTime.TotalSeconds; } catch (InvalidOperationException) { }
        }
        reader.Wait();
        if (p.ExitCode != 0) throw new InvalidOperationException($"python {script} failed with exit code {p.ExitCode}");
        return (output.ToString(), cpu);
    }

    static string Python(string script, string args)
    {
        var psi = new ProcessStartInfo("/usr/bin/python3", $"{script} {args}") { RedirectStandardOutput = true, UseShellExecute = false };
        psi.Environment.Remove("OPENBLAS_CORETYPE");
        psi.Environment.Remove("OPENBLAS_L2_SIZE");
        using var p = Process.Start(psi)!;
        var output = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0) throw new InvalidOperationException($"python {script} failed with exit code {p.ExitCode}");
        return output;
    }

    static int IntArg(string[] args, string name, int dflt)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1], CultureInfo.InvariantCulture) : dflt;
    }

    static string FindRepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir != null && !File.Exists(Path.Combine(dir.FullName, "SaeGuard.sln"))) dir = dir.Parent;
        return dir?.FullName ?? Directory.GetCurrentDirectory();
    }
}
