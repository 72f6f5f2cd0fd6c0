using System.Diagnostics;
using System.Text.Json;
using SaeGuard.Common;
using SaeGuard.Data;
using SaeGuard.Sae;

namespace SaeGuard.Eval;

/// <summary>An SAE to evaluate and the folder it came from.</summary>
public sealed record EvalSae(string Dir, SaeModel Sae)
{
    public string Name => Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(Dir)));
}

/// <summary>
/// <c>saeguard eval</c>: splices each SAE into the model over a corpus and writes OUT/eval.json
/// (one object per SAE), OUT/report.html and the Pareto plots; beside each SAE (its folder) a small
/// eval_summary.json points back to the result, which <c>analyze --sae</c> reads (H3 evidence).
/// </summary>
public static class EvalRunner
{
    public const string EvalFileName = "eval.json";
    public const string SummaryFileName = "eval_summary.json";
    public const string ReportFileName = "report.html";

    public static SpliceConvention Convention(EvalOptions o) => new()
    {
        SplicedPositions = o.SpliceSpecialTokens
            ? "every token, special ones (BOS, [CLS], [SEP], chat markers) included"
            : "every token except special ones (BOS, EOS, pad, [CLS], [SEP], control tokens keep their clean value), as SAELens's evals with ignore_tokens = {bos, eos, pad}",
        CountedPredictions = "LMs: CE of token t+1 predicted at position t and KL at position t (the last position included), for every position whose token t is not special; a document is its own sequence (no packing across documents). Encoders: one cosine per document between mean-pooled last hidden states (all tokens).",
        ZeroAblation = "the hooked layer's output set to 0 at every position, BOS included (SAELens's standard_zero_ablate_hook)",
        MeanAblation = "the spliced positions set to the mean hooked row over the spliced positions of the corpus",
        Reference = "SAELens sae_lens/evals.py get_recons_loss / get_downstream_reconstruction_metrics",
    };

    public static List<EvalDoc> Tokenize(ISplicedModel model, IEnumerable<DocRecord> docs, EvalOptions o)
    {
        var list = new List<EvalDoc>();
        foreach (var d in docs)
        {
            if (o.MaxDocs > 0 && list.Count >= o.MaxDocs) break;
            var tok = model.Tokenize(d.Text);
            if (tok.Length < 2) continue;
            int label = d.Label == Labels.Harmful ? 1 : d.Label == Labels.Benign ? 0 : -1;
            list.Add(new EvalDoc(tok, label));
        }
        return list;
    }

    public static EvalFile Run(ISplicedModel model, IReadOnlyList<EvalSae> saes, IReadOnlyList<DocRecord> corpus, string corpusName, string outDir, EvalOptions o)
    {
        if (saes.Count == 0) throw new UserError("Give at least one --sae folder.");
        var clock = Stopwatch.StartNew();
        var docs = Tokenize(model, corpus, o);
        var run = SpliceEvaluator.Run(model, saes.Select(s => s.Sae).ToList(), docs, o);
        var probes = ProbeSetup.Create(run, o);
        var results = saes.Select((s, i) => Result(s, run, run.Saes[i], model.Output, probes, o)).ToList();
        var file = new EvalFile
        {
            Tool = "saeguard " + ToolInfo.Version, Model = model.ModelName, ModelSha256 = model.ModelSha256, Layer = model.Layer,
            Hook = model.HookDescription, Output = model.Output == SpliceOutput.Logits ? "next-token logits" : "last hidden states (mean-pooled sentence embedding)",
            Corpus = corpusName, Convention = Convention(o), Seconds = clock.Elapsed.TotalSeconds, Saes = results,
        };
        Write(file, outDir);
        for (int i = 0; i < saes.Count; i++) WriteSummary(saes[i], results[i], file.Model, outDir);
        return file;
    }

    static void Write(EvalFile file, string outDir)
    {
        using var dir = new AtomicDirectory(outDir);
        File.WriteAllText(dir.File(EvalFileName), JsonSerializer.Serialize(file, JsonDefaults.Pretty));
        var plots = EvalPlots.Render(file.Saes);
        foreach (var (name, png, _) in plots) File.WriteAllBytes(dir.File(name), png);
        File.WriteAllText(dir.File(ReportFileName), EvalReport.Build(file, plots).Render());
        dir.Commit();
    }

    /// <summary>What <c>analyze --sae</c> reads from an SAE folder after <c>eval</c> ran on it.</summary>
    public sealed record Summary
    {
        public string EvalJson { get; init; } = "";
        public string Model { get; init; } = "";
        public int Layer { get; init; }
        public double? CeLossScore { get; init; }
        public double? EmbeddingScore { get; init; }
        public double? KlDivScore { get; init; }
        public double ExplainedVariance { get; init; }
        public double L0 { get; init; }
        public string Date { get; init; } = "";
    }

    static void WriteSummary(EvalSae s, SaeEvalResult r, string model, string outDir)
    {
        var summary = new Summary
        {
            EvalJson = Path.GetFullPath(Path.Combine(outDir, EvalFileName)), Model = model, Layer = s.Sae.Config.Metadata.Layer,
            CeLossScore = r.ModelPerformancePreservation?.CeLossScore, EmbeddingScore = r.EmbeddingPreservation?.EmbeddingScore,
            KlDivScore = r.ModelBehaviorPreservation?.KlDivScore, ExplainedVariance = r.ReconstructionQuality.ExplainedVariance, L0 = r.Sparsity.L0,
            Date = DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ"),
        };
        try { AtomicFile.WriteAllText(Path.Combine(s.Dir, SummaryFileName), JsonSerializer.Serialize(summary, JsonDefaults.Pretty)); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"eval: could not write {SummaryFileName} into '{s.Dir}' ({e.Message}); `analyze --sae` will not see this result.");
        }
    }

    /// <summary>The eval summary beside an SAE (null when eval has not been run on it or the file is unreadable).</summary>
    public static Summary? ReadSummary(string saeDir)
    {
        var path = Path.Combine(saeDir, SummaryFileName);
        if (!File.Exists(path)) return null;
        try { return JsonSerializer.Deserialize<Summary>(File.ReadAllText(path), JsonDefaults.Pretty); }
        catch (JsonException) { return null; }
    }

    static double Score(double ablated, double with, double clean) => (ablated - with) / (ablated - clean);

    static SaeEvalResult Result(EvalSae s, SpliceRun run, SaeSpliceRun sr, SpliceOutput output, ProbeSetup? probes, EvalOptions o)
    {
        var (rq, shrink, sparsity, density) = sr.Rows.Finish();
        var c = s.Sae.Config;
        var r = new SaeEvalResult
        {
            SaeDir = Path.GetFullPath(s.Dir), Name = s.Name, Architecture = c.Architecture, DIn = c.DIn, DSae = c.DSae, K = c.Architecture == "topk" ? c.K : null,
            ReconstructionQuality = rq, Shrinkage = shrink, Sparsity = sparsity, Misc = density,
            TokenStats = new TokenStats
            {
                Documents = run.Docs.Count, TotalTokensEvalSparsityVariance = sr.Rows.Rows,
                TotalTokensEvalReconstruction = output == SpliceOutput.Logits ? run.Clean.Ce.Count : run.Clean.Cos.Count,
            },
            SparseProbing = probes?.For(sr),
        };
        if (output == SpliceOutput.Logits)
        {
            double ceClean = run.Clean.Ce.Mean, ceZero = run.Zero.Ce.Mean, ceMean = run.Mean.Ce.Mean, ceSae = sr.WithSae.Ce.Mean;
            double klZero = run.Zero.Kl.Mean, klMean = run.Mean.Kl.Mean, klSae = sr.WithSae.Kl.Mean;
            r = r with
            {
                ModelPerformancePreservation = new ModelPerformancePreservation
                {
                    CeLossScore = Score(ceZero, ceSae, ceClean), CeLossWithSae = ceSae, CeLossWithoutSae = ceClean, CeLossWithAblation = ceZero,
                    CeLossWithMeanAblation = ceMean, CeLossScoreMeanAblation = Score(ceMean, ceSae, ceClean), CeLossWithSaeAndError = sr.WithSaeAndError.Ce.Mean,
                },
                ModelBehaviorPreservation = new ModelBehaviorPreservation
                {
                    KlDivScore = (klZero - klSae) / klZero, KlDivWithSae = klSae, KlDivWithAblation = klZero, KlDivWithMeanAblation = klMean,
                    KlDivScoreMeanAblation = (klMean - klSae) / klMean, KlDivWithSaeAndError = sr.WithSaeAndError.Kl.Mean,
                },
            };
        }
        else
        {
            double cosZero = run.Zero.Cos.Mean, cosMean = run.Mean.Cos.Mean, cosSae = sr.WithSae.Cos.Mean;
            r = r with
            {
                EmbeddingPreservation = new EmbeddingPreservation
                {
                    EmbeddingScore = Score(cosZero, cosSae, 1), EmbeddingCosWithSae = cosSae, EmbeddingCosWithAblation = cosZero,
                    EmbeddingCosWithMeanAblation = cosMean, EmbeddingScoreMeanAblation = Score(cosMean, cosSae, 1), EmbeddingCosWithSaeAndError = sr.WithSaeAndError.Cos.Mean,
                },
            };
        }
        return r;
    }

    /// <summary>The labelled documents' split and the dense probe, shared by every SAE.</summary>
    sealed class ProbeSetup
    {
        public required int[] Docs { get; init; }
        public required int[] Y { get; init; }
        public required bool[] Train { get; init; }
        public required Probes.LogisticModel Dense { get; init; }
        public required double DenseAuroc { get; init; }
        public required EvalOptions O { get; init; }
        int[] AllFeatures => Enumerable.Range(0, Dense.W.Length).ToArray();

        public static ProbeSetup? Create(SpliceRun run, EvalOptions o)
        {
            if (run.PooledClean == null) return null;
            var docs = Enumerable.Range(0, run.Docs.Count).Where(i => run.Docs[i].Label >= 0).ToArray();
            var y = docs.Select(i => run.Docs[i].Label).ToArray();
            if (y.Count(v => v == 1) < 2 || y.Count(v => v == 0) < 2) return null;
            var train = KSparseProbing.TrainMask(y, o.ProbeTestFraction, o.Seed);
            var x = docs.Select(i => run.PooledClean[i]).ToList();
            var all = Enumerable.Range(0, x[0].Length).ToArray();
            var (auroc, dense) = KSparseProbing.ProbeAuroc(x, y, train, all, o.ProbeC);
            return new ProbeSetup { Docs = docs, Y = y, Train = train, Dense = dense, DenseAuroc = auroc, O = o };
        }

        public SparseProbing For(SaeSpliceRun sr)
        {
            var codes = Docs.Select(i => sr.PooledCodes![i]).ToList();
            var ks = O.ProbeKs.Where(k => k > 0).Select(k => Math.Min(k, sr.Sae.DSae)).Distinct().ToArray();
            var (aurocs, ranking) = KSparseProbing.Run(codes, Y, Train, ks, O.ProbeC);
            var recon = Docs.Select(i => sr.PooledRecon![i]).ToList();
            return new SparseProbing
            {
                K = ks, SaeTestAuroc = aurocs, TopLatents = ranking[..ks.Max()], DenseTestAuroc = DenseAuroc,
                DenseOnReconstructionTestAuroc = KSparseProbing.TestAuroc(Dense, recon, Y, Train, AllFeatures),
                NTrain = Train.Count(t => t), NTest = Train.Count(t => !t),
            };
        }
    }
}
