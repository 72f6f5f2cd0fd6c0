namespace SaeGuard.Sae.Backend;

/// <summary>
/// Active latents of a batch, one row per token (CSR): row t holds entries RowPtr[t]..RowPtr[t+1]
/// with latent Idx[p] and value Val[p]. Buffers grow and are reused across steps.
/// </summary>
public sealed class SparseRows
{
    public int Rows { get; private set; }
    public int[] RowPtr { get; private set; } = new int[1];
    public int[] Idx { get; private set; } = Array.Empty<int>();
    public float[] Val { get; private set; } = Array.Empty<float>();
    public int Nnz => RowPtr[Rows];

    /// <summary>Sets the row count and sizes RowPtr; entries are laid out by <see cref="SetCounts"/>.</summary>
    public void Reset(int rows)
    {
        Rows = rows;
        if (RowPtr.Length < rows + 1) RowPtr = new int[rows + 1];
        RowPtr[0] = 0;
    }

    /// <summary>Lays out rows from per-row counts (prefix sums) and sizes the entry arrays.</summary>
    public void SetCounts(ReadOnlySpan<int> counts)
    {
        int p = 0;
        for (int t = 0; t < Rows; t++) { RowPtr[t] = p; p += counts[t]; }
        RowPtr[Rows] = p;
        EnsureEntries(p);
    }

    /// <summary>Fixed-width layout: row t starts at t·k (counts set later by <see cref="Compact"/>).</summary>
    public void SetFixedWidth(int k)
    {
        for (int t = 0; t <= Rows; t++) RowPtr[t] = t * k;
        EnsureEntries(Rows * k);
    }

    /// <summary>Packs a fixed-width layout of width k whose rows hold counts[t] entries each.</summary>
    public void Compact(int k, ReadOnlySpan<int> counts)
    {
        int p = 0;
        for (int t = 0; t < Rows; t++)
        {
            int src = t * k, c = counts[t];
            if (src != p)
            {
                Array.Copy(Idx, src, Idx, p, c);
                Array.Copy(Val, src, Val, p, c);
            }
            RowPtr[t] = p;
            p += c;
        }
        RowPtr[Rows] = p;
    }

    public void EnsureEntries(int n)
    {
        if (Idx.Length < n)
        {
            int cap = Math.Max(n, Idx.Length + Idx.Length / 2);
            Idx = new int[cap];
            Val = new float[cap];
        }
    }

    public ReadOnlySpan<int> RowIdx(int t) => Idx.AsSpan(RowPtr[t], RowPtr[t + 1] - RowPtr[t]);
    public ReadOnlySpan<float> RowVal(int t) => Val.AsSpan(RowPtr[t], RowPtr[t + 1] - RowPtr[t]);
}

/// <summary>
/// Gradient contributions grouped by latent (CSC): latent j owns entries ColPtr[j]..ColPtr[j+1];
/// entry e adds CoefA[e]·A[RowA[e]] to the latent's first gradient row, CoefB[e]·B[RowB[e]] to its
/// second, and CoefB[e] to its scalar. Entries keep token order within a latent, so sums are
/// deterministic.
/// </summary>
public sealed class SparseColumns
{
    public int Cols { get; private set; }
    public int[] ColPtr { get; private set; } = new int[1];
    public int[] RowA { get; private set; } = Array.Empty<int>();
    public float[] CoefA { get; private set; } = Array.Empty<float>();
    public int[] RowB { get; private set; } = Array.Empty<int>();
    public float[] CoefB { get; private set; } = Array.Empty<float>();
    int[] _fill = Array.Empty<int>();

    public int Nnz => ColPtr[Cols];

    /// <summary>Starts a build: call <see cref="Count"/> for every entry, then <see cref="Layout"/>, then <see cref="Add"/> in order.</summary>
    public void Begin(int cols)
    {
        Cols = cols;
        if (ColPtr.Length < cols + 1) ColPtr = new int[cols + 1];
        if (_fill.Length < cols) _fill = new int[cols];
        Array.Clear(ColPtr, 0, cols + 1);
    }

    public void Count(int col) => ColPtr[col + 1]++;

    public void Layout()
    {
        for (int j = 0; j < Cols; j++) ColPtr[j + 1] += ColPtr[j];
        int n = ColPtr[Cols];
        if (RowA.Length < n)
        {
            int cap = Math.Max(n, RowA.Length + RowA.Length / 2);
            RowA = new int[cap]; CoefA = new float[cap]; RowB = new int[cap]; CoefB = new float[cap];
        }
        Array.Copy(ColPtr, _fill, Cols);
    }

    public void Add(int col, int rowA, float coefA, int rowB, float coefB)
    {
        int e = _fill[col]++;
        RowA[e] = rowA; CoefA[e] = coefA; RowB[e] = rowB; CoefB[e] = coefB;
    }
}
