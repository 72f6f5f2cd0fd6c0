using SaeGuard.Sae.Backend;

namespace SaeGuard.Sae.Training;

/// <summary>Buffers of one training step, reused across steps (sized for the batch and the SAE).</summary>
public sealed class StepContext
{
    public int Rows { get; private set; }
    public int D { get; }
    public int M { get; }
    public ISaeBackend Backend { get; }
    /// <summary>Scaled input rows [Rows, d].</summary>
    public float[] X { get; private set; } = Array.Empty<float>();
    /// <summary>Pre-activations [Rows, m].</summary>
    public float[] Pre { get; private set; } = Array.Empty<float>();
    /// <summary>Reconstructions [Rows, d].</summary>
    public float[] XHat { get; private set; } = Array.Empty<float>();
    /// <summary>∂L/∂x̂ rows [2·Rows, d]: the main loss first, then the AuxK loss.</summary>
    public float[] G { get; private set; } = Array.Empty<float>();
    /// <summary>AuxK reconstructions of the residual [Rows, d].</summary>
    public float[] AuxHat { get; private set; } = Array.Empty<float>();
    public float[] EncBias { get; }
    public float[] Zeros { get; }
    public SparseRows Codes { get; } = new();
    public SparseRows Aux { get; } = new();
    /// <summary>Per main entry: ∂L/∂z, and ∂L/∂pre (what reaches the encoder).</summary>
    public float[] Dz { get; private set; } = Array.Empty<float>();
    public float[] Delta { get; private set; } = Array.Empty<float>();
    public float[] AuxDz { get; private set; } = Array.Empty<float>();
    public SparseColumns Columns { get; } = new();

    public StepContext(ISaeBackend backend, int d, int m)
    {
        Backend = backend; D = d; M = m;
        EncBias = new float[m];
        Zeros = new float[d];
    }

    public void Prepare(int rows)
    {
        Rows = rows;
        if (X.Length < rows * D)
        {
            X = new float[rows * D]; XHat = new float[rows * D]; G = new float[2 * rows * D]; AuxHat = new float[rows * D];
            Pre = new float[rows * M];
        }
    }

    public void EnsureEntryBuffers()
    {
        int n = Codes.Nnz;
        if (Dz.Length < n) { Dz = new float[Math.Max(n, Dz.Length * 3 / 2)]; Delta = new float[Dz.Length]; }
        if (AuxDz.Length < Aux.Nnz) AuxDz = new float[Math.Max(Aux.Nnz, AuxDz.Length * 3 / 2)];
    }
}

/// <summary>Sums over one step's tokens (scaled units) for the metrics.</summary>
public sealed class StepStats
{
    public long Tokens;
    public double Sse, SumSq, L2Ratio, Active, AuxLoss, SparsityLoss, Loss;
    public double[] SumX;

    public StepStats(int d) => SumX = new double[d];

    public void Add(StepStats o)
    {
        Tokens += o.Tokens; Sse += o.Sse; SumSq += o.SumSq; L2Ratio += o.L2Ratio; Active += o.Active;
        AuxLoss += o.AuxLoss; SparsityLoss += o.SparsityLoss; Loss += o.Loss;
        for (int i = 0; i < SumX.Length; i++) SumX[i] += o.SumX[i];
    }

    public void Clear()
    {
        Tokens = 0; Sse = SumSq = L2Ratio = Active = AuxLoss = SparsityLoss = Loss = 0;
        Array.Clear(SumX);
    }

    /// <summary>1 − Σ‖x−x̂‖² / Σ‖x−x̄‖².</summary>
    public double ExplainedVariance
    {
        get
        {
            double meanSq = 0;
            foreach (var s in SumX) meanSq += s * s;
            double total = SumSq - meanSq / Math.Max(1, Tokens);
            return total > 0 ? 1 - Sse / total : double.NaN;
        }
    }
}
