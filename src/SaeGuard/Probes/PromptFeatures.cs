using SaeGuard.Models;

namespace SaeGuard.Probes;

/// <summary>Pooled raw activations and pooled SAE codes of a list of prompts.</summary>
public sealed class PromptFeatures
{
    public required int Count { get; init; }
    /// <summary>Activation width d.</summary>
    public required int D { get; init; }
    /// <summary>SAE width d_sae.</summary>
    public required int M { get; init; }
    /// <summary>[Count, D] pooled activations.</summary>
    public required float[] Dense { get; init; }
    /// <summary>[Count, M] pooled SAE codes.</summary>
    public required float[] Codes { get; init; }
    /// <summary>Each prompt's non-special token ids, in order.</summary>
    public required int[][] TokenIds { get; init; }
    /// <summary>Firing rates and top tokens over these prompts' tokens (when collected).</summary>
    public FeatureTokenStats? Stats { get; init; }
    /// <summary>Per prompt, its ordinary tokens' SAE codes [tokens, M] (when asked for).</summary>
    public float[][]? TokenCodes { get; init; }
    /// <summary>[Count, M] per prompt and feature, the position (in <see cref="TokenIds"/>) of the ordinary
    /// token the feature fired on most, −1 where it never fired (when collected).</summary>
    public int[]? PeakTokens { get; init; }
    /// <summary>Prompts given as text: how each was tokenized (special tokens included).</summary>
    public IReadOnlyList<TokenizedText>? Tokenized { get; init; }

    public ReadOnlySpan<float> DenseRow(int i) => Dense.AsSpan(i * D, D);
    public ReadOnlySpan<float> CodeRow(int i) => Codes.AsSpan(i * M, M);

    /// <summary>The text of the token feature <paramref name="j"/> fired on most in prompt <paramref name="i"/>, null when unknown or silent.</summary>
    public string? PeakToken(int i, int j, Func<int, string> tokenText)
    {
        if (PeakTokens == null) return null;
        int k = PeakTokens[i * M + j];
        return k < 0 ? null : tokenText(TokenIds[i][k]);
    }
}
