namespace SaeGuard.Eval;

/// <summary>Cross-entropy and KL of next-token distributions from raw logits, in float64.</summary>
public static class NextTokenMath
{
    /// <summary>log Σ exp(logits).</summary>
    public static double LogSumExp(ReadOnlySpan<float> logits)
    {
        float max = System.Numerics.Tensors.TensorPrimitives.Max(logits);
        double sum = 0;
        foreach (var v in logits) sum += Math.Exp(v - max);
        return max + Math.Log(sum);
    }

    /// <summary>−log softmax(logits)[target].</summary>
    public static double CrossEntropy(ReadOnlySpan<float> logits, int target, double lse) => lse - logits[target];

    /// <summary>KL(p ‖ q) = Σ p (log p − log q) with p = softmax(<paramref name="p"/>), q = softmax(<paramref name="q"/>).</summary>
    public static double Kl(ReadOnlySpan<float> p, double lseP, ReadOnlySpan<float> q, double lseQ)
    {
        double kl = 0;
        for (int i = 0; i < p.Length; i++)
        {
            double lp = p[i] - lseP;
            kl += Math.Exp(lp) * (lp - (q[i] - lseQ));
        }
        return Math.Max(0, kl);
    }

    /// <summary>Cosine of two vectors (0 when either is zero).</summary>
    public static double Cosine(ReadOnlySpan<double> a, ReadOnlySpan<double> b)
    {
        double ab = 0, aa = 0, bb = 0;
        for (int i = 0; i < a.Length; i++) { ab += a[i] * b[i]; aa += a[i] * a[i]; bb += b[i] * b[i]; }
        return aa > 0 && bb > 0 ? ab / Math.Sqrt(aa * bb) : 0;
    }
}
