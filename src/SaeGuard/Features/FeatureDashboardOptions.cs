namespace SaeGuard.Features;

/// <summary>How many examples a feature page keeps and how its statistics are binned.</summary>
public sealed record FeatureDashboardOptions
{
    /// <summary>Strongest contexts kept per feature.</summary>
    public int TopExamples { get; init; } = 10;
    /// <summary>Equal-width activation intervals below the top examples, (0, max] cut in this many (SAE-Vis style).</summary>
    public int Bands { get; init; } = 5;
    /// <summary>Contexts sampled (seeded reservoir) per band.</summary>
    public int PerBand { get; init; } = 3;
    /// <summary>Random contexts where the feature does not fire.</summary>
    public int NonFiring { get; init; } = 3;
    /// <summary>Tokens kept on each side of a context's centre token.</summary>
    public int ContextTokens { get; init; } = 12;
    /// <summary>Nearest features by decoder cosine (0: skip the O(d_sae²·d_in) search).</summary>
    public int Neighbours { get; init; } = 6;
    /// <summary>Pseudo-tokens of the specificity prior (<see cref="Analysis.CategorySpecificity"/>, tokens as units), spread over its 2×2 table as independence predicts.</summary>
    public double Prior { get; init; } = 10;
    public int Seed { get; init; }
    /// <summary>Rows encoded per block.</summary>
    public int BlockRows { get; init; } = 2048;

    public void Validate()
    {
        if (TopExamples < 1) throw new Common.UserError($"top examples must be ≥ 1, got {TopExamples}.");
        if (Bands < 0 || PerBand < 0 || NonFiring < 0 || Neighbours < 0) throw new Common.UserError("bands, per-band, non-firing and neighbours must be ≥ 0.");
        if (ContextTokens < 0 || ContextTokens > 256) throw new Common.UserError($"context tokens must be in [0, 256], got {ContextTokens}.");
        if (Prior <= 0) throw new Common.UserError($"the specificity prior must be positive, got {Prior}.");
    }
}
