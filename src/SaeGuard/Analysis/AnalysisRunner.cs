using System.Diagnostics;
using SaeGuard.Common;

namespace SaeGuard.Analysis;

/// <summary>Everything one analysis produced.</summary>
public sealed record AnalysisResult
{
    public required FeatureStats Stats { get; init; }
    public required Diagnosis Diagnosis { get; init; }
    public required InputFacts Facts { get; init; }
    public SaeFacts? Sae { get; init; }
    public ReconstructionStats? Reconstruction { get; init; }
    public PcaResult? Pca { get; init; }
    public required AnalysisOptions Options { get; init; }
    public required PcaMode PcaMode { get; init; }
    public double Seconds { get; init; }
    public Func<int, string?> DocGroup { get; init; } = _ => null;
    public string GroupKind { get; init; } = "";
    /// <summary>Per-category specificity, when documents carry two or more categories.</summary>
    public CategoryAnalysis? Categories { get; init; }
    /// <summary>Feature labels from their top tokens ("" where unknown), when the input has token texts.</summary>
    public IReadOnlyList<string>? Labels { get; init; }
}

/// <summary>Runs statistics, the SAE-side measurements, the PCA and the diagnosis for one input.</summary>
public static class AnalysisRunner
{
    static readonly double[] ProbeScales = { 1.0 / 16, 1.0 / 8, 1.0 / 4, 1.0 / 2, 1, 2, 4, 8, 16 };

    /// <summary>Rows per block: about 32 MB of codes, so memory stays bounded whatever the width.</summary>
    public static int BlockRows(int width) => Math.Clamp((32 << 20) / (4 * Math.Max(1, width)), 16, 8192);

    public static AnalysisResult Run(AnalysisInput input, AnalysisOptions options, PcaMode pcaMode)
    {
        var sw = Stopwatch.StartNew();
        int rows = BlockRows(input.Width);
        var tap = new FeatureTap(input.Width, input.DocCategory, input.TokenText != null);
        var stats = FeatureAnalyzer.Run(input.Width, () => tap.Observe(input.Blocks(rows)), input.Replayable, options, input.ExpectedRows);
        var categories = tap.Categories?.Finish();
        var labels = input.TokenText != null ? tap.Labels?.Labels(input.TokenText) : null;
        SaeFacts? saeFacts = input.Sae != null ? SaeFacts.From(input.Sae, input.SaeDir) : null;
        ReconstructionStats? recon = null;
        if (input.Encoder != null)
        {
            // with a known training scale, compare the current scale with that one; otherwise scan a range
            recon = input.Encoder.Finish(saeFacts?.TrainNorm is double tn && tn > 0 ? new[] { 1.0 } : ProbeScales);
            if (saeFacts?.TrainNorm is double norm && norm > 0 && recon.MeanNorm > 0)
            {
                double back = norm / recon.MeanNorm;
                recon = recon with { ScaleProbe = new[] { (1.0, input.Encoder.ExplainedVarianceAtScale(1)), (back, input.Encoder.ExplainedVarianceAtScale(back)) } };
            }
        }
        if (stats.Values.NonFinite > 0)
            Console.Error.WriteLine($"analyze: warning: {stats.Values.NonFinite:N0} values are NaN or infinite.");
        var pca = SamplePca.Compute(stats.Sample.Rows, stats.Width, pcaMode, options.Seed);
        var diagnosis = Diagnoser.Diagnose(stats, input.Facts, saeFacts, recon);
        return new AnalysisResult
        {
            Stats = stats, Diagnosis = diagnosis, Facts = input.Facts, Sae = saeFacts, Reconstruction = recon, Pca = pca,
            Options = options, PcaMode = pcaMode, Seconds = sw.Elapsed.TotalSeconds, DocGroup = input.DocGroup, GroupKind = input.GroupKind,
            Categories = categories, Labels = labels,
        };
    }

    public static PcaMode ParsePcaMode(string s) => s.ToLowerInvariant() switch
    {
        "raw" or "none" => PcaMode.Raw,
        "centre" or "center" or "centred" or "centered" => PcaMode.Centre,
        "standardise" or "standardize" or "standardised" or "standardized" or "zscore" => PcaMode.Standardise,
        _ => throw new UserError($"--pca must be centre, standardise or raw, got '{s}'."),
    };
}
