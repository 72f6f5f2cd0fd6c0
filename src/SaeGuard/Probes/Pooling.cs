using SaeGuard.Common;

namespace SaeGuard.Probes;

/// <summary>How a prompt's token vectors become one vector (over its non-special tokens).</summary>
public enum Pooling { Mean, Max, Last }

public static class PoolingNames
{
    public static Pooling Parse(string s) => s.Trim().ToLowerInvariant() switch
    {
        "mean" => Pooling.Mean,
        "max" => Pooling.Max,
        "last" => Pooling.Last,
        _ => throw new UserError($"Unknown pooling '{s}': expected mean, max or last."),
    };

    public static string Name(this Pooling p) => p.ToString().ToLowerInvariant();
}

/// <summary>
/// Pools token rows into one row per prompt. Rows of a prompt must arrive in position order
/// (for <see cref="Pooling.Last"/>). Mean pooling sums in float64.
/// </summary>
public sealed class PoolingMatrix
{
    readonly Pooling _pooling;
    readonly int _width;
    readonly double[]? _sum;
    readonly float[] _out;
    readonly int[] _count;
    /// <summary>Rows are never negative (SAE codes): zeros can be skipped.</summary>
    readonly bool _nonNegative;

    public PoolingMatrix(int prompts, int width, Pooling pooling, bool nonNegative)
    {
        _pooling = pooling; _width = width; _nonNegative = nonNegative;
        _count = new int[prompts];
        _out = new float[(long)prompts * width];
        if (pooling == Pooling.Mean) _sum = new double[(long)prompts * width];
        else if (pooling == Pooling.Max && !nonNegative) Array.Fill(_out, float.NegativeInfinity);
    }

    public int Width => _width;

    public void Add(int prompt, ReadOnlySpan<float> row)
    {
        _count[prompt]++;
        long o = (long)prompt * _width;
        switch (_pooling)
        {
            case Pooling.Mean:
                var s = _sum!.AsSpan((int)o, _width);
                if (_nonNegative) { for (int j = 0; j < row.Length; j++) if (row[j] != 0) s[j] += row[j]; }
                else for (int j = 0; j < row.Length; j++) s[j] += row[j];
                break;
            case Pooling.Max:
                var m = _out.AsSpan((int)o, _width);
                for (int j = 0; j < row.Length; j++) if (row[j] > m[j]) m[j] = row[j];
                break;
            case Pooling.Last:
                row.CopyTo(_out.AsSpan((int)o, _width));
                break;
        }
    }

    /// <summary>The pooled rows [prompts, width]; a prompt without rows pools to zeros.</summary>
    public float[] Finish()
    {
        int prompts = _count.Length;
        for (int p = 0; p < prompts; p++)
        {
            var o = _out.AsSpan(p * _width, _width);
            if (_count[p] == 0) { o.Clear(); continue; }
            if (_pooling == Pooling.Mean)
            {
                var s = _sum!.AsSpan(p * _width, _width);
                for (int j = 0; j < _width; j++) o[j] = (float)(s[j] / _count[p]);
            }
        }
        return _out;
    }
}
