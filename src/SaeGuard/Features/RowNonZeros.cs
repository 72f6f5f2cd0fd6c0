using System.Numerics;
using System.Runtime.Intrinsics;

namespace SaeGuard.Features;

/// <summary>The indices of a code row's positive entries, found eight at a time (codes are sparse, so the passes visit only these).</summary>
static class RowNonZeros
{
    /// <summary>Writes the indices j with row[j] &gt; 0 into <paramref name="idx"/> (length ≥ row length); returns how many.</summary>
    public static int Collect(ReadOnlySpan<float> row, Span<int> idx)
    {
        int n = 0, j = 0;
        var zero = Vector256<float>.Zero;
        for (; j <= row.Length - 8; j += 8)
        {
            uint mask = Vector256.GreaterThan(Vector256.Create(row.Slice(j, 8)), zero).ExtractMostSignificantBits();
            while (mask != 0)
            {
                idx[n++] = j + BitOperations.TrailingZeroCount(mask);
                mask &= mask - 1;
            }
        }
        for (; j < row.Length; j++) if (row[j] > 0) idx[n++] = j;
        return n;
    }
}
