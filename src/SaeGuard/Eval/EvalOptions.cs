namespace SaeGuard.Eval;

/// <summary>How <c>saeguard eval</c> measures SAEs (see docs/EVAL.md).</summary>
public sealed record EvalOptions
{
    /// <summary>Also splice special tokens (BOS, [CLS], [SEP], …); default false, as SAELens's evals (ignore_tokens = {bos, eos, pad}).</summary>
    public bool SpliceSpecialTokens { get; init; }
    /// <summary>Documents evaluated at most (0 = all).</summary>
    public int MaxDocs { get; init; }
    /// <summary>Tokens per forward call at most (documents are packed as separate sequences).</summary>
    public int PackTokens { get; init; } = 512;
    /// <summary>k values of k-sparse probing.</summary>
    public int[] ProbeKs { get; init; } = { 1, 2, 5, 10, 20, 50 };
    /// <summary>Share of labelled documents held out (stratified) to test the probes.</summary>
    public double ProbeTestFraction { get; init; } = 0.2;
    /// <summary>Inverse L2 strength of the logistic probes (scikit-learn's C).</summary>
    public double ProbeC { get; init; } = 1.0;
    public int Seed { get; init; }
}
