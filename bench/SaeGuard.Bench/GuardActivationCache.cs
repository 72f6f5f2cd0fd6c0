using System.Diagnostics;
using SaeGuard.Common;
using SaeGuard.Data.Guard;
using SaeGuard.Models;
using SaeGuard.Probes;

namespace SaeGuard.Bench;

/// <summary>One model window of a guard-set row: its pooled activations and where its token rows are.</summary>
sealed record GuardWindow(int Row, int Start, bool HasRequest, int Tokens, long TokenOffset);

/// <summary>
/// MiniLM activations of every window of every guard-set row at one layer, computed once and kept
/// under the output folder: per window the mean and max over its non-special tokens, and every
/// non-special token's activation row (f16) for SAE training and token-level pooling. The cache is
/// keyed by the guard set's content hash and the layer, so a changed set is extracted again.
/// </summary>
sealed class GuardActivationCache
{
    public required IReadOnlyList<GuardWindow> Windows { get; init; }
    public required float[] Mean { get; init; }
    public required float[] Max { get; init; }
    public required Half[] TokenRows { get; init; }
    public required int D { get; init; }
    public required int Layer { get; init; }

    public ReadOnlySpan<Half> Tokens(GuardWindow w) => TokenRows.AsSpan((int)(w.TokenOffset * D), w.Tokens * D);

    public static GuardActivationCache Load(IReadOnlyList<GuardRow> rows, int layer, string dir, int maxLength = 256, bool keepTokens = true)
    {
        var key = Hashing.Sha256(System.Text.Encoding.UTF8.GetBytes(string.Join("\u0001", rows.Select(r => r.Text)) + $"|{layer}|{maxLength}"))[..16];
        var path = Path.Combine(dir, $"acts_L{layer}{(keepTokens ? "" : "p")}_{key}.bin");
        if (File.Exists(path)) return Read(path);
        var cache = Extract(rows, layer, maxLength, keepTokens);
        Write(path, cache);
        return cache;
    }

    static GuardActivationCache Extract(IReadOnlyList<GuardRow> rows, int layer, int maxLength, bool keepTokens)
    {
        var tok = BuiltInModels.MiniLmTokenizer();
        using var source = BuiltInModels.MiniLm(layer, maxLength: maxLength);
        int d = source.Width;
        var items = new List<(int Row, TokenWindows.Window W, bool HasRequest)>();
        for (int r = 0; r < rows.Count; r++)
        {
            var row = rows[r];
            var full = tok.Encode(row.Text, 1 << 20);
            var (reqStart, reqLen) = GuardTrainingWindows.RequestSpan(tok, row);
            foreach (var w in TokenWindows.Split(full, maxLength))
            {
                int wl = w.Tokens.Length - 2;
                int overlap = Math.Max(0, Math.Min(w.Start + wl, reqStart + reqLen) - Math.Max(w.Start, reqStart));
                items.Add((r, w, overlap * 2 >= reqLen));
            }
        }
        var order = Enumerable.Range(0, items.Count).OrderBy(i => items[i].W.Tokens.Length).ToArray();
        var mean = new float[items.Count * d];
        var max = new float[items.Count * d];
        var tokenRows = new Half[items.Count][];
        long totalTokens = items.Sum(i => (long)i.W.Tokens.Length);
        var sw = Stopwatch.StartNew();
        using (var bar = new ProgressBar($"extract L{layer}", totalTokens, "tokens"))
        {
            const int batchTokens = 4096;
            for (int b = 0; b < order.Length;)
            {
                int e = b, tokens = 0;
                while (e < order.Length && (e == b || tokens + items[order[e]].W.Tokens.Length <= batchTokens)) tokens += items[order[e++]].W.Tokens.Length;
                var batch = order[b..e];
                var acts = source.Run(batch.Select(i => items[i].W.Tokens).ToList());
                for (int j = 0; j < batch.Length; j++) Pool(items[batch[j]].W.Tokens, acts[j], d, mean.AsSpan(batch[j] * d, d), max.AsSpan(batch[j] * d, d), keepTokens, out tokenRows[batch[j]]);
                bar.Advance(tokens, tokens);
                b = e;
            }
        }
        Console.Error.WriteLine($"extract L{layer}: {items.Count} windows, {totalTokens:N0} tokens in {sw.Elapsed.TotalSeconds:F0} s ({totalTokens / sw.Elapsed.TotalSeconds:N0} tokens/s)");
        var windows = new List<GuardWindow>(items.Count);
        long offset = 0;
        for (int i = 0; i < items.Count; i++)
        {
            int n = tokenRows[i].Length / d;
            windows.Add(new GuardWindow(items[i].Row, items[i].W.Start, items[i].HasRequest, n, offset));
            offset += n;
        }
        var flat = new Half[offset * d];
        for (int i = 0; i < items.Count; i++) tokenRows[i].CopyTo(flat, windows[i].TokenOffset * d);
        return new GuardActivationCache { Windows = windows, Mean = mean, Max = max, TokenRows = flat, D = d, Layer = layer };
    }

    static void Pool(TokenizedText t, float[] acts, int d, Span<float> mean, Span<float> max, bool keep_, out Half[] rows)
    {
        var keep = Enumerable.Range(0, t.Length).Where(i => !t.IsSpecial[i]).ToArray();
        rows = new Half[keep_ ? keep.Length * d : 0];
        var sum = new double[d];
        max.Fill(float.NegativeInfinity);
        for (int k = 0; k < keep.Length; k++)
        {
            var a = acts.AsSpan(keep[k] * d, d);
            for (int j = 0; j < d; j++)
            {
                sum[j] += a[j];
                if (a[j] > max[j]) max[j] = a[j];
                if (keep_) rows[k * d + j] = (Half)a[j];
            }
        }
        for (int j = 0; j < d; j++) mean[j] = keep.Length == 0 ? 0 : (float)(sum[j] / keep.Length);
        if (keep.Length == 0) max.Clear();
    }

    static void Write(string path, GuardActivationCache c)
    {
        AtomicFile.Write(path, s =>
        {
            using var w = new BinaryWriter(s, System.Text.Encoding.UTF8, leaveOpen: true);
            w.Write(c.D); w.Write(c.Layer); w.Write(c.Windows.Count); w.Write((long)c.TokenRows.Length);
            foreach (var x in c.Windows) { w.Write(x.Row); w.Write(x.Start); w.Write(x.HasRequest); w.Write(x.Tokens); w.Write(x.TokenOffset); }
            foreach (var v in c.Mean) w.Write(v);
            foreach (var v in c.Max) w.Write(v);
            w.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(c.TokenRows.AsSpan()));
        });
    }

    static GuardActivationCache Read(string path)
    {
        using var s = File.OpenRead(path);
        using var r = new BinaryReader(s);
        int d = r.ReadInt32(), layer = r.ReadInt32(), n = r.ReadInt32();
        long nt = r.ReadInt64();
        var windows = new List<GuardWindow>(n);
        for (int i = 0; i < n; i++) windows.Add(new GuardWindow(r.ReadInt32(), r.ReadInt32(), r.ReadBoolean(), r.ReadInt32(), r.ReadInt64()));
        var mean = new float[n * d];
        var max = new float[n * d];
        for (int i = 0; i < mean.Length; i++) mean[i] = r.ReadSingle();
        for (int i = 0; i < max.Length; i++) max[i] = r.ReadSingle();
        var tokens = new Half[nt];
        s.ReadExactly(System.Runtime.InteropServices.MemoryMarshal.AsBytes(tokens.AsSpan()));
        return new GuardActivationCache { Windows = windows, Mean = mean, Max = max, TokenRows = tokens, D = d, Layer = layer };
    }
}
