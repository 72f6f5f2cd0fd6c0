using System.Collections.Concurrent;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using SaeGuard.Common;

namespace SaeGuard.Activations;

/// <summary>What a NaN or ±Inf in activations does: stop with its shard, row and column, or drop the row.</summary>
public enum NonFiniteMode { Error, Skip }

/// <summary>
/// The non-finite check every read of activation rows goes through (extract, train, analyze,
/// probe). The mode and the count of dropped rows belong to the running command (an async
/// flow), set once by <see cref="Use"/>.
/// </summary>
public static class NonFiniteRows
{
    sealed class Scope
    {
        public NonFiniteMode Mode;
        public readonly ConcurrentDictionary<string, long> SkippedByShard = new(StringComparer.Ordinal);
    }

    static readonly AsyncLocal<Scope?> Current = new();

    /// <summary>Sets the mode for the rest of this command ("error" or "skip").</summary>
    public static void Use(string? mode)
    {
        var m = (mode ?? "error").Trim().ToLowerInvariant() switch
        {
            "error" => NonFiniteMode.Error,
            "skip" => NonFiniteMode.Skip,
            _ => throw new UserError($"--nonfinite must be error or skip, got '{mode}'."),
        };
        Current.Value = new Scope { Mode = m };
    }

    public static NonFiniteMode Mode => Current.Value?.Mode ?? NonFiniteMode.Error;

    /// <summary>Rows dropped so far in this command (each shard counted once, however often it is read).</summary>
    public static long Skipped => Current.Value?.SkippedByShard.Values.Sum() ?? 0;

    /// <summary>One line for stderr when rows were dropped, else null.</summary>
    public static string? Summary(string command)
    {
        var s = Current.Value;
        if (s == null || s.SkippedByShard.IsEmpty) return null;
        var per = string.Join(", ", s.SkippedByShard.GroupBy(kv => kv.Key[..kv.Key.LastIndexOf('#')], StringComparer.Ordinal)
            .OrderBy(g => g.Key, StringComparer.Ordinal).Select(g => $"{Path.GetFileName(g.Key)}: {g.Sum(kv => kv.Value):N0}"));
        return $"{command}: --nonfinite skip dropped {Skipped:N0} rows holding NaN/Inf ({per}).";
    }

    /// <summary>
    /// Checks a block read from <paramref name="shard"/>: throws naming shard, row and column
    /// (mode error), or returns the block without its non-finite rows (mode skip).
    /// </summary>
    /// <param name="b">The block as read.</param>
    /// <param name="shard">The shard file it came from (for the message).</param>
    /// <param name="shardRow0">Row of the shard where the block starts (for the message).</param>
    public static RowBlock Apply(RowBlock b, string shard, long shardRow0 = 0)
    {
        var bad = Scan(b.Data.AsSpan(0, b.Rows * b.D), b.Rows, b.D, shard, b.RowIds.Length > 0 ? b.RowIds[0] : 0, shardRow0);
        return bad == null ? b : Drop(b, bad);
    }

    /// <summary>Adds the non-finite rows of one shard's part of a pooled buffer (at row offset <paramref name="at"/>) to <paramref name="bad"/>.</summary>
    public static List<int>? Collect(List<int>? bad, ReadOnlySpan<float> data, int rows, int d, string shard, long firstRowId, int at)
    {
        var found = Scan(data, rows, d, shard, firstRowId);
        if (found == null) return bad;
        bad ??= new List<int>();
        foreach (var r in found) bad.Add(at + r);
        return bad;
    }

    /// <summary>Checks one row about to be written (extract): true when it must be dropped (mode skip).</summary>
    public static bool RowIsBad(ReadOnlySpan<float> row, string where, long rowId) =>
        Scan(row, 1, row.Length, where, rowId) != null;

    /// <summary>The block without the listed rows (null or empty: the block itself).</summary>
    public static RowBlock Drop(RowBlock b, List<int>? bad)
    {
        if (bad == null || bad.Count == 0) return b;
        var keep = new bool[b.Rows];
        Array.Fill(keep, true);
        foreach (var r in bad) keep[r] = false;
        int n = b.Rows - bad.Count, j = 0;
        var data = new float[(long)n * b.D];
        var rowIds = new long[n]; var docs = new int[n]; var pos = new int[n]; var tok = new int[n]; var special = new bool[n]; var template = new bool[n];
        for (int i = 0; i < b.Rows; i++)
        {
            if (!keep[i]) continue;
            Array.Copy(b.Data, (long)i * b.D, data, (long)j * b.D, b.D);
            rowIds[j] = b.RowIds[i]; docs[j] = b.DocIds[i]; pos[j] = b.Positions[i]; tok[j] = b.TokenIds[i]; special[j] = b.IsSpecial[i]; template[j] = b.IsTemplate[i];
            j++;
        }
        return new RowBlock { Data = data, Rows = n, D = b.D, RowIds = rowIds, DocIds = docs, Positions = pos, TokenIds = tok, IsSpecial = special, IsTemplate = template };
    }

    /// <summary>
    /// Local indices of the rows holding a NaN/Inf, or null when there are none. Mode error throws
    /// at the first one; mode skip records the count for <paramref name="shard"/>.
    /// </summary>
    public static List<int>? Scan(ReadOnlySpan<float> data, int rows, int d, string shard, long firstRowId, long shardRow0 = 0)
    {
        int first = FirstNonFinite(data);
        if (first < 0) return null;
        if (Mode == NonFiniteMode.Error)
        {
            int row = first / d, col = first % d;
            throw new UserError($"'{shard}': row {shardRow0 + row} (dump row {firstRowId + row}), column {col} is {data[first]}; " +
                                $"activations must be finite. Pass --nonfinite skip to drop such rows ({CountRows(data, rows, d):N0} in this shard).");
        }
        var bad = new List<int>();
        for (int r = first / d; r < rows; r++)
            if (FirstNonFinite(data.Slice(r * d, d)) >= 0) bad.Add(r);
        Current.Value?.SkippedByShard.AddOrUpdate($"{shard}#{firstRowId}", bad.Count, (_, _) => bad.Count);
        return bad;
    }

    static int CountRows(ReadOnlySpan<float> data, int rows, int d)
    {
        int n = 0;
        for (int r = 0; r < rows; r++) if (FirstNonFinite(data.Slice(r * d, d)) >= 0) n++;
        return n;
    }

    /// <summary>Index of the first NaN/±Inf (exponent bits all set), or -1.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    static int FirstNonFinite(ReadOnlySpan<float> data)
    {
        var bits = MemoryMarshal.Cast<float, int>(data);
        const int Exp = 0x7F800000;
        int i = 0;
        if (Vector.IsHardwareAccelerated && bits.Length >= Vector<int>.Count)
        {
            var mask = new Vector<int>(Exp);
            for (; i <= bits.Length - Vector<int>.Count; i += Vector<int>.Count)
                if (Vector.EqualsAny(new Vector<int>(bits.Slice(i, Vector<int>.Count)) & mask, mask)) break;
        }
        for (; i < bits.Length; i++) if ((bits[i] & Exp) == Exp) return i;
        return -1;
    }
}
