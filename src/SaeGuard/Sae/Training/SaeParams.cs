namespace SaeGuard.Sae.Training;

/// <summary>
/// Trainable tensors in the trainer's layout: W_encT [m, d] (latent-major, so a latent's encoder
/// row is contiguous for the sparse gradient scatter), b_enc [m], W_dec [m, d], b_dec [d], and the
/// JumpReLU threshold θ [m] (fp32). The same shape holds gradients and Adam moments.
/// </summary>
public sealed class SaeParams
{
    public int D { get; }
    public int M { get; }
    public float[] WEncT { get; }
    public float[] BEnc { get; }
    public float[] WDec { get; }
    public float[] BDec { get; }
    public float[]? Theta { get; }

    public SaeParams(int d, int m, bool theta)
    {
        D = d; M = m;
        WEncT = new float[m * d]; BEnc = new float[m]; WDec = new float[m * d]; BDec = new float[d];
        Theta = theta ? new float[m] : null;
    }

    /// <summary>(name, values) of every tensor, in a fixed order.</summary>
    public IEnumerable<(string Name, float[] Data)> Tensors()
    {
        yield return ("W_enc_t", WEncT);
        yield return ("b_enc", BEnc);
        yield return ("W_dec", WDec);
        yield return ("b_dec", BDec);
        if (Theta != null) yield return ("theta", Theta);
    }

    public SaeParams Clone()
    {
        var c = new SaeParams(D, M, Theta != null);
        foreach (var ((_, src), (_, dst)) in Tensors().Zip(c.Tensors())) Array.Copy(src, dst, src.Length);
        return c;
    }

    public void Clear()
    {
        foreach (var (_, t) in Tensors()) Array.Clear(t);
    }
}
