using System.Diagnostics;
using System.Text.Json;
using SaeGuard.Activations;
using SaeGuard.IO;
using SaeGuard.Probes;
using SaeGuard.Sae;

namespace SaeGuard.Bench;

/// <summary>
/// Probe solver vs scikit-learn on the same pooled features: 5-fold stratified CV of standardised
/// logistic regression (C = 1, L2 and L1), SaeGuard's float64 L-BFGS/OWL-QN against the peer
/// script ../shared/bench/sklearn_probe_reference.py (lbfgs / liblinear), plus the full probe CV.
/// Args: --acts DIR [DIR…] --sae DIR [--pooling mean] [--labels SPEC] [--no-peer]
/// </summary>
public sealed class ProbeBenchmark : IBenchmark
{
    public string Name => "probe";
    public string Description => "probe solver speed/AUROC vs scikit-learn on pooled activations and SAE codes";

    public void Run(string[] args)
    {
        var acts = new List<string>();
        string? saeDir = null, labels = null;
        var pooling = Pooling.Mean;
        bool peer = true;
        for (int i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--acts": while (i + 1 < args.Length && !args[i + 1].StartsWith("--")) acts.Add(args[++i]); break;
                case "--sae": saeDir = args[++i]; break;
                case "--pooling": pooling = PoolingNames.Parse(args[++i]); break;
                case "--labels": labels = args[++i]; break;
                case "--no-peer": peer = false; break;
                default: throw new ArgumentException($"unknown argument '{args[i]}'");
            }
        }
        if (acts.Count == 0 || saeDir == null) throw new ArgumentException("usage: probe --acts DIR [DIR…] --sae DIR [--pooling mean] [--labels SPEC] [--no-peer]");

        var dumps = acts.Select(a => ActivationDump.Open(a)).ToList();
        var sae = SaeLensFormat.Load(saeDir);
        var all = LabelledSet.Collect(dumps, LabelRules.Parse(labels), out _, out _);
        var (prompts, sel) = LabelledSet.Select(all, new SelectionOptions());
        var sw = Stopwatch.StartNew();
        var f = DumpFeaturizer.Run(dumps, prompts.Select(p => (p.Dump, p.DocId)).ToList(), sae, pooling, topTokens: 8);
        double poolSecs = sw.Elapsed.TotalSeconds;
        long tokens = prompts.Sum(p => (long)p.Tokens);
        var y = prompts.Select(p => p.Label).ToArray();
        Console.WriteLine($"data: {sel.HarmfulUsed}+{sel.BenignUsed} prompts, {tokens:N0} tokens; d = {f.D}, d_sae = {f.M}; pooling {pooling.Name()}");
        Console.WriteLine($"pool+encode: {poolSecs:F2} s ({tokens / poolSecs:N0} tokens/s, SAE encode included)");

        Console.WriteLine();
        Console.WriteLine("| features | penalty | SaeGuard AUROC | SaeGuard s | sklearn AUROC | sklearn s |");
        Console.WriteLine("|---|---|---|---|---|---|");
        var tmp = Path.Combine(Path.GetTempPath(), "saeguard-probe-bench-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(tmp);
        try
        {
            foreach (var (name, x, w) in new[] { ("dense", f.Dense, f.D), ("sae", f.Codes, f.M) })
            {
                var xPath = Path.Combine(tmp, name + "_X.npy");
                var yPath = Path.Combine(tmp, "y.npy");
                NpyWriter.Write(xPath, x, y.Length, w);
                NpyWriter.Write(yPath, DenseTensor.FromInt64(y.Select(v => (long)v).ToArray(), y.Length));
                foreach (var penalty in new[] { Penalty.L2, Penalty.L1 })
                {
                    var (auc, secs, nnz) = OwnCv(x, w, y, penalty);
                    string peerAuc = "–", peerSecs = "–";
                    if (peer)
                    {
                        var res = RunPeer(xPath, yPath, penalty == Penalty.L1 ? "l1" : "l2");
                        if (res != null) { peerAuc = res.Value.GetProperty("auroc").GetDouble().ToString("F4"); peerSecs = res.Value.GetProperty("seconds").GetDouble().ToString("F2"); }
                    }
                    Console.WriteLine($"| {name} [{y.Length}×{w}] | {penalty} C=1 (mean nnz {nnz:F0}) | {auc:F4} | {secs:F2} | {peerAuc} | {peerSecs} |");
                }
            }
        }
        finally { Directory.Delete(tmp, true); }

        sw.Restart();
        var cv = CrossValidation.Run(f.Dense, f.D, f.Codes, f.M, y, 5, 0, new ProbeSettings());
        double cvSecs = sw.Elapsed.TotalSeconds;
        Console.WriteLine();
        Console.WriteLine($"full probe CV (5 folds: L1 path ≤ 64 features, top-64, dense L2; 3 probes fitted in parallel): {cvSecs:F2} s");
        foreach (var kind in ProbeKinds.Fitted)
            Console.WriteLine($"  {kind,-9} AUROC {cv.PerFold[kind].Average(m => m.Auroc):F4}  features/fold {cv.PerFold[kind].Average(m => m.NFeaturesUsed):F1}");
    }

    /// <summary>The peer's protocol in SaeGuard: 5-fold stratified, standardise on train, C = 1.</summary>
    static (double Auroc, double Seconds, double Nnz) OwnCv(float[] x, int width, int[] y, Penalty penalty)
    {
        var sw = Stopwatch.StartNew();
        var fold = CrossValidation.StratifiedFolds(y, 5, 0);
        double auc = 0, nnz = 0;
        for (int k = 0; k < 5; k++)
        {
            var train = Enumerable.Range(0, y.Length).Where(i => fold[i] != k).ToArray();
            var test = Enumerable.Range(0, y.Length).Where(i => fold[i] == k).ToArray();
            var std = Standardizer.Fit(x, width, train);
            var feats = std.Varying();
            var m = LogisticRegression.Fit(std.Transform(x, train, feats), train.Length, feats.Length, train.Select(i => y[i]).ToArray(),
                new LogisticOptions { Penalty = penalty, C = 1 });
            var xt = std.Transform(x, test, feats);
            var s = test.Select((_, i) => m.Logit(xt.AsSpan(i * feats.Length, feats.Length))).ToArray();
            auc += BinaryMetrics.Auroc(s, test.Select(i => y[i]).ToArray()) / 5;
            nnz += m.NonZero / 5.0;
        }
        return (auc, sw.Elapsed.TotalSeconds, nnz);
    }

    static JsonElement? RunPeer(string x, string y, string penalty)
    {
        var script = Path.Combine(RepoRoot(), "..", "shared", "bench", "sklearn_probe_reference.py");
        if (!File.Exists(script) || !File.Exists("/usr/bin/python3")) { Console.Error.WriteLine($"peer not run: {script} or /usr/bin/python3 missing"); return null; }
        var psi = new ProcessStartInfo("/usr/bin/python3") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { script, x, y, penalty }) psi.ArgumentList.Add(a);
        psi.Environment.Remove("OPENBLAS_CORETYPE");
        psi.Environment.Remove("OPENBLAS_L2_SIZE");
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEnd();
        var stderr = p.StandardError.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0) { Console.Error.WriteLine($"peer failed: {stderr}"); return null; }
        var line = stdout.Split('\n').LastOrDefault(l => l.StartsWith('{'));
        return line == null ? null : JsonDocument.Parse(line).RootElement.Clone();
    }

    static string RepoRoot()
    {
        var dir = new DirectoryInfo(Directory.GetCurrentDirectory());
        while (dir != null && !File.Exists(Path.Combine(dir.FullName, "SaeGuard.sln"))) dir = dir.Parent;
        return dir?.FullName ?? Directory.GetCurrentDirectory();
    }
}
