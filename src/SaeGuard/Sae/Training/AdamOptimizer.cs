using SaeGuard.Sae.Backend;
using SaeGuard.Sae.Training.Architectures;

namespace SaeGuard.Sae.Training;

/// <summary>
/// Adam over all SAE tensors, with the decoder kept at unit-norm rows: the gradient's component
/// along each decoder row is removed before the step and the rows are renormalised after it.
/// </summary>
public sealed class AdamOptimizer
{
    public SaeParams M1 { get; }
    public SaeParams M2 { get; }
    public int Step { get; set; }
    readonly float _b1, _b2;

    public AdamOptimizer(int d, int m, bool theta, double beta1, double beta2)
    {
        M1 = new SaeParams(d, m, theta);
        M2 = new SaeParams(d, m, theta);
        _b1 = (float)beta1; _b2 = (float)beta2;
    }

    public void Update(ISaeBackend be, SaeParams p, SaeParams g, float lr, TrainingSae arch)
    {
        Step++;
        var hp = new AdamStep(lr, _b1, _b2, 1e-8f, Step);
        foreach (var (((name, pt), (_, gt)), ((_, mt), (_, vt))) in p.Tensors().Zip(g.Tensors()).Zip(M1.Tensors().Zip(M2.Tensors())))
        {
            if (name == "W_dec") be.AdamUnitRows(pt, gt, mt, vt, p.M, p.D, hp);
            else be.Adam(pt, gt, mt, vt, name == "theta" ? hp with { Lr = (float)(lr * arch.ThetaLrScale) } : hp);
        }
        arch.AfterUpdate(p);
    }
}
