using ILGPU;

namespace SaeGuard.Sae.Device;

/// <summary>
/// The inference activations on the device, after the encoder GEMM: dense codes from the padded
/// top-k layout (TopK SAEs), or a per-latent threshold applied to every pre-activation (ReLU,
/// JumpReLU) with the host's comparisons (<see cref="Architectures.ReluArchitecture"/>,
/// <see cref="Architectures.JumpReluArchitecture"/>).
/// </summary>
public static class EncodeKernels
{
    /// <summary>codes[t, idx[t, e]] = val[t, e] for the used slots (codes cleared first); g runs over rows·k.</summary>
    public static void ScatterTopK(Index1D g, ArrayView<int> idx, ArrayView<float> val, ArrayView<int> count, int k, int m, ArrayView<float> codes)
    {
        int t = g / k, e = g - t * k;
        if (e < count[t]) codes[t * m + idx[g]] = val[g];
    }

    /// <summary>
    /// codes[g] = pre[g] when pre[g] &gt; 0 and (useTheta = 0 or pre[g] &gt; θ[g mod m]), else 0:
    /// ReLU with useTheta = 0, JumpReLU with its threshold θ.
    /// </summary>
    public static void Threshold(Index1D g, ArrayView<float> pre, ArrayView<float> theta, int useTheta, int m, ArrayView<float> codes)
    {
        float v = pre[g];
        bool keep = v > 0f && (useTheta == 0 || v > theta[g % m]);
        codes[g] = keep ? v : 0f;
    }
}
