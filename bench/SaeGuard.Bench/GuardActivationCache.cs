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
        var prefix = $"acts_L{layer}{(keepTokens ? "" : "p")}_";
        var path = Path.Combine(dir, prefix + key + ".bin");
        var rowKeys = rows.Select(r => Hashing.Sha256(System.Text.Encoding.UTF8.GetBytes(r.Text + $"|{maxLength}"))[..20]).ToArray();
        if (File.Exists(path))
        {
            if (!File.Exists(path + ".rows")) AtomicFile.WriteAllText(path + ".rows", string.Join("\n", rowKeys));
            return Read(path);
        }
        // Reuse the rows an earlier cache of this layer already holds (matched by text hash); extract only the new ones.
        GuardActivationCache? old = null;
        string[] oldKeys = [];
        var best = Directory.Exists(dir)
            ? Directory.GetFiles(dir, prefix + "*.bin").Where(f => File.Exists(f + ".rows"))
                .Select(f => (File: f, Keys: File.ReadAllText(f + ".rows").Split('\n')))
                .OrderByDescending(f => f.Keys.Intersect(rowKeys).Count()).FirstOrDefault()
            : default;
        if (best.File != null) { old = Read(best.File); oldKeys = best.Keys; }
        var oldIndex = new Dictionary<string, int>();
        for (int i = 0; i < oldKeys.Length; i++) oldIndex.TryAdd(oldKeys[i], i);
        var missing = Enumerable.Range(0, rows.Count).Where(r => !oldIndex.ContainsKey(rowKeys[r])).ToList();
        if (old != null) Console.Error.WriteLine($"activation cache: reusing {rows.Count - missing.Count} rows of {Path.GetFileName(best.File)}, extracting {missing.Count}");
        var fresh = missing.Count == 0 && old != null
            ? new GuardActivationCache { Windows = [], Mean = [], Max = [], TokenRows = [], D = old.D, Layer = layer }
            : Extract(missing.Select(r => rows[r]).ToList(), layer, maxLength, keepTokens);
        var cache = Merge(rows.Count, old, r => oldIndex.TryGetValue(rowKeys[r], out var o) ? o : -1, fresh, missing);
        Write(path, cache);
        AtomicFile.WriteAllText(path + ".rows", string.Join("\n", rowKeys));
        return cache;
    }

    /// <summary>Windows of every row in row order: from <paramref name="old"/> where <paramref name="oldRow"/> maps the row, else from <paramref name="fresh"/>.</summary>
    static GuardActivationCache Merge(int rowCount, GuardActivationCache? old, Func<int, int> oldRow, GuardActivationCache fresh, List<int> freshRows)
    {
        int d = fresh.D;
        var byOld = (old?.Windows ?? []).Select((w, i) => (w.Row, i)).ToLookup(p => p.Row, p => p.i);
        var freshOf = new Dictionary<int, int>();
        for (int i = 0; i < freshRows.Count; i++) freshOf[freshRows[i]] = i;
        var byFresh = fresh.Windows.Select((w, i) => (w.Row, i)).ToLookup(p => p.Row, p => p.i);
        var picks = new List<(GuardActivationCache Src, int Win, int Row)>();
        for (int r = 0; r < rowCount; r++)
        {
            int o = oldRow(r);
            if (o >= 0 && old != null) foreach (var w in byOld[o]) picks.Add((old, w, r));
            else foreach (var w in byFresh[freshOf[r]]) picks.Add((fresh, w, r));
        }
        var windows = new List<GuardWindow>(picks.Count);
        var mean = new float[picks.Count * d];
        var max = new float[picks.Count * d];
        long total = picks.Sum(p => (long)p.Src.Windows[p.Win].Tokens);
        var tokens = new Half[total * d];
        long offset = 0;
        for (int i = 0; i < picks.Count; i++)
        {
            var (src, wi, r) = picks[i];
            var w = src.Windows[wi];
            windows.Add(w with { Row = r, TokenOffset = offset });
            src.Mean.AsSpan(wi * d, d).CopyTo(mean.AsSpan(i * d, d));
            src.Max.AsSpan(wi * d, d).CopyTo(max.AsSpan(i * d, d));
            src.Tokens(w).CopyTo(tokens.AsSpan((int)(offset * d)));
            offset += w.Tokens;
        }
        return new GuardActivationCache { Windows = windows, Mean = mean, Max = max, TokenRows = tokens, D = d, Layer = fresh.Layer };
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
