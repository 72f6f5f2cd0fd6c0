namespace SaeGuard.Activations;

/// <summary>A block of dump rows as dense float32 [Rows, D], with each row's token index.</summary>
public sealed class RowBlock
{
    public required float[] Data { get; init; }
    public required int Rows { get; init; }
    public required int D { get; init; }
    /// <summary>Global row numbers (0-based over the whole dump).</summary>
    public required long[] RowIds { get; init; }
    public required int[] DocIds { get; init; }
    public required int[] Positions { get; init; }
    public required int[] TokenIds { get; init; }
    public required bool[] IsSpecial { get; init; }
    /// <summary>Per row: a chat-template token (also special); all false when the dump has no is_template tensor.</summary>
    public bool[] IsTemplate { get => _isTemplate ??= new bool[Rows]; init => _isTemplate = value; }
    bool[]? _isTemplate;

    public Span<float> Row(int i) => Data.AsSpan(i * D, D);

    /// <summary>The same rows without special tokens.</summary>
    public RowBlock WithoutSpecial()
    {
        int keep = CountOrdinary(IsSpecial, Rows);
        if (keep == Rows) return this;
        var data = new float[keep * D];
        var rowIds = new long[keep]; var docs = new int[keep]; var pos = new int[keep]; var tok = new int[keep];
        int j = 0;
        for (int i = 0; i < Rows; i++)
        {
            if (IsSpecial[i]) continue;
            Array.Copy(Data, i * D, data, j * D, D);
            rowIds[j] = RowIds[i]; docs[j] = DocIds[i]; pos[j] = Positions[i]; tok[j] = TokenIds[i];
            j++;
        }
        return new RowBlock { Data = data, Rows = keep, D = D, RowIds = rowIds, DocIds = docs, Positions = pos, TokenIds = tok, IsSpecial = new bool[keep] };
    }

    /// <summary>
    /// Out of line on purpose: a call-free count loop ahead of the first array allocation is the
    /// shape in which .NET 10.0's JIT reported not-yet-written stack slots to the GC (see
    /// <c>SampleRow.CountNonZero</c>).
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    static int CountOrdinary(bool[] isSpecial, int rows)
    {
        int keep = 0;
        for (int i = 0; i < rows; i++) if (!isSpecial[i]) keep++;
        return keep;
    }
}
