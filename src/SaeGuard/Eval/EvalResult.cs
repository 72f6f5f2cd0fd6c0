using System.Text.Json.Serialization;

namespace SaeGuard.Eval;

/// <summary>KL(clean ‖ spliced) of the next-token distribution, mean over counted positions (SAELens names).</summary>
public sealed record ModelBehaviorPreservation
{
    /// <summary>(KL_zero − KL_sae) / KL_zero.</summary>
    public double KlDivScore { get; init; }
    public double KlDivWithSae { get; init; }
    /// <summary>Zero ablation, as SAELens.</summary>
    public double KlDivWithAblation { get; init; }
    public double KlDivWithMeanAblation { get; init; }
    public double KlDivScoreMeanAblation { get; init; }
    /// <summary>SAE output plus its error term x − x̂: must be ≈ 0.</summary>
    public double KlDivWithSaeAndError { get; init; }
}

/// <summary>Next-token cross-entropy, mean over counted predictions (SAELens names).</summary>
public sealed record ModelPerformancePreservation
{
    /// <summary>(CE_zero − CE_sae) / (CE_zero − CE_clean).</summary>
    public double CeLossScore { get; init; }
    public double CeLossWithSae { get; init; }
    public double CeLossWithoutSae { get; init; }
    public double CeLossWithAblation { get; init; }
    public double CeLossWithMeanAblation { get; init; }
    /// <summary>(CE_mean − CE_sae) / (CE_mean − CE_clean).</summary>
    public double CeLossScoreMeanAblation { get; init; }
    /// <summary>SAE output plus its error term: must equal CE clean.</summary>
    public double CeLossWithSaeAndError { get; init; }
}

/// <summary>Encoders: cosine between the clean and the spliced mean-pooled sentence embedding, mean over documents.</summary>
public sealed record EmbeddingPreservation
{
    /// <summary>(cos_sae − cos_zero) / (1 − cos_zero).</summary>
    public double EmbeddingScore { get; init; }
    public double EmbeddingCosWithSae { get; init; }
    public double EmbeddingCosWithAblation { get; init; }
    public double EmbeddingCosWithMeanAblation { get; init; }
    public double EmbeddingScoreMeanAblation { get; init; }
    public double EmbeddingCosWithSaeAndError { get; init; }
}

public sealed record ReconstructionQuality
{
    public double ExplainedVariance { get; init; }
    /// <summary>Mean over tokens of ‖x − x̂‖² / d_in.</summary>
    public double Mse { get; init; }
    /// <summary>Σ‖x − x̂‖² / Σ‖x‖².</summary>
    public double Nmse { get; init; }
    /// <summary>Mean cosine of x and x̂.</summary>
    public double Cossim { get; init; }
}

public sealed record Shrinkage
{
    public double L2NormIn { get; init; }
    public double L2NormOut { get; init; }
    /// <summary>Mean ‖x̂‖/‖x‖.</summary>
    public double L2Ratio { get; init; }
    /// <summary>mean‖x̂‖² / mean(x·x̂) (Rajamanoharan et al. 2024, eq. 10): 1 = no shrinkage.</summary>
    public double RelativeReconstructionBias { get; init; }
}

public sealed record Sparsity
{
    public double L0 { get; init; }
    /// <summary>Mean Σ z per token.</summary>
    public double L1 { get; init; }
}

public sealed record FeatureDensity
{
    /// <summary>Share of latents that fired at least once on the evaluated tokens.</summary>
    public double FracAlive { get; init; }
    [JsonPropertyName("freq_over_1_percent")] public double FreqOver1Percent { get; init; }
    [JsonPropertyName("freq_over_10_percent")] public double FreqOver10Percent { get; init; }
    public double MaxFeatureFrequency { get; init; }
}

public sealed record TokenStats
{
    public int Documents { get; init; }
    /// <summary>Next-token predictions (LMs) or documents (encoders) the spliced metrics average over.</summary>
    public long TotalTokensEvalReconstruction { get; init; }
    /// <summary>Rows (non-special hooked tokens) the SAEBench core metrics average over.</summary>
    public long TotalTokensEvalSparsityVariance { get; init; }
}

/// <summary>k-sparse probing (SAEBench): top-k latents by class-mean difference on the training documents, logistic probe, test AUROC.</summary>
public sealed record SparseProbing
{
    public int[] K { get; init; } = Array.Empty<int>();
    public double[] SaeTestAuroc { get; init; } = Array.Empty<double>();
    /// <summary>Latents chosen per k (the largest k's list; smaller k take its prefix).</summary>
    public int[] TopLatents { get; init; } = Array.Empty<int>();
    /// <summary>Logistic probe on all d_in mean-pooled clean activations.</summary>
    public double DenseTestAuroc { get; init; }
    /// <summary>The same dense probe applied to the mean-pooled SAE reconstructions x̂ of the test documents.</summary>
    public double DenseOnReconstructionTestAuroc { get; init; }
    public int NTrain { get; init; }
    public int NTest { get; init; }
}

/// <summary>One SAE's results in eval.json (SAEBench-like groups and key names).</summary>
public sealed record SaeEvalResult
{
    public string SaeDir { get; init; } = "";
    public string Name { get; init; } = "";
    public string Architecture { get; init; } = "";
    public int DIn { get; init; }
    public int DSae { get; init; }
    public int? K { get; init; }
    public ModelBehaviorPreservation? ModelBehaviorPreservation { get; init; }
    public ModelPerformancePreservation? ModelPerformancePreservation { get; init; }
    public EmbeddingPreservation? EmbeddingPreservation { get; init; }
    public ReconstructionQuality ReconstructionQuality { get; init; } = new();
    public Shrinkage Shrinkage { get; init; } = new();
    public Sparsity Sparsity { get; init; } = new();
    [JsonPropertyName("misc")] public FeatureDensity Misc { get; init; } = new();
    public TokenStats TokenStats { get; init; } = new();
    public SparseProbing? SparseProbing { get; init; }

    /// <summary>The spliced faithfulness score: ce_loss_score for LMs, embedding_score for encoders.</summary>
    [JsonIgnore] public double? SplicedScore => ModelPerformancePreservation?.CeLossScore ?? EmbeddingPreservation?.EmbeddingScore;
}

/// <summary>Which positions are spliced and which predictions count (toolkits differ; SAELens's by default).</summary>
public sealed record SpliceConvention
{
    public string SplicedPositions { get; init; } = "";
    public string CountedPredictions { get; init; } = "";
    public string ZeroAblation { get; init; } = "";
    public string MeanAblation { get; init; } = "";
    public string Reference { get; init; } = "";
}

/// <summary>The whole eval.json.</summary>
public sealed record EvalFile
{
    public string Tool { get; init; } = "";
    public string Model { get; init; } = "";
    public string? ModelSha256 { get; init; }
    public int Layer { get; init; }
    public string Hook { get; init; } = "";
    public string Output { get; init; } = "";
    public string Corpus { get; init; } = "";
    public SpliceConvention Convention { get; init; } = new();
    public double Seconds { get; init; }
    public List<SaeEvalResult> Saes { get; init; } = new();
}
