using SaeGuard.Activations;
using SaeGuard.Common;
using SaeGuard.Sae.Device;

namespace SaeGuard.Sae;

public sealed record EncodeOptions
{
    /// <summary>Store values as float16 (default) or float32.</summary>
    public bool F16 { get; init; } = true;
    /// <summary>Rows encoded per GEMM.</summary>
    public int BlockRows { get; init; } = 4096;
    /// <summary>Where the SAE came from (recorded in meta.json).</summary>
    public string? SaeDir { get; init; }
    /// <summary>
    /// Where the encoder GEMM and the activation run: cpu (default), cuda, ilgpu-cpu or auto, as
    /// <see cref="SaeDevice.Resolve"/> reads it; recorded as meta.json's <c>device</c>.
    /// </summary>
    public string Device { get; init; } = SaeDevice.CpuName;
    /// <summary>Bytes per output shard file: a shard is buffered whole before it is written, so this bounds encode's memory.</summary>
    public long MaxShardBytes { get; init; } = 64L << 20;
}

public sealed record EncodeSummary(long Tokens, int D, int DSae, string Layout, int K, double MeanL0, int MaxL0, double Seconds, string OutDir, string Device = SaeDevice.CpuName);

/// <summary>
/// Writes the SAE codes of every row of an activations dump as a codes dump (same layout as acts/,
/// kind "codes", rows aligned 1:1 with the activations, special tokens included and flagged).
/// TopK SAEs use the sparse top-k layout with k = the SAE's k. JumpReLU/ReLU SAEs have a variable
/// number of active latents: a first pass finds the largest per row, K; the sparse layout with that
/// K is used when it is smaller than dense f16/f32 rows, else dense. Within a row, sparse entries are
/// sorted by decreasing value; unused slots hold index −1 and value 0.
/// </summary>
public static class CodesEncoder
{
    public static EncodeSummary Encode(ActivationDump acts, SaeModel sae, string outDir, EncodeOptions? options = null)
    {
        options ??= new EncodeOptions();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        if (acts.D != sae.DIn)
            throw new UserError($"The activations in '{acts.Dir}' are {acts.D} wide but the SAE expects d_in = {sae.DIn}; use the SAE trained on this model and layer.");
        if (acts.Meta.Kind == "codes") throw new UserError($"'{acts.Dir}' is already a codes dump; encode the activations dump it came from.");
        int m = sae.DSae, bytesPerValue = options.F16 ? 2 : 4;
        var device = SaeDevice.Resolve(options.Device);
        using var onDevice = device.IsIlgpu ? new DeviceSaeEncoder(sae, device, options.BlockRows) : null;
        Action<ReadOnlySpan<float>, int, float[]> encode = onDevice != null ? (x, n, z) => onDevice.Encode(x, n, z) : (x, n, z) => sae.Encode(x, n, z);
        int k;
        if (sae.Arch.FixedKPerToken) k = sae.Config.K;
        else
        {
            int max = 0;
            using var bar1 = new ProgressBar("encode (sizing)", acts.NTokens, "tok");
            foreach (var (_, _, codes, rows) in EncodedBlocks(acts, sae, options.BlockRows, encode))
            {
                for (int t = 0; t < rows; t++)
                {
                    int c = 0;
                    foreach (var v in codes.AsSpan(t * m, m)) if (v > 0) c++;
                    max = Math.Max(max, c);
                }
                bar1.Advance(rows);
            }
            k = Math.Max(1, max);
            if ((long)k * (4 + bytesPerValue) >= (long)m * bytesPerValue) k = 0;
        }
        var template = acts.Meta with
        {
            Kind = "codes",
            Extra = new Dictionary<string, string>
            {
                ["source_acts"] = Path.GetFullPath(acts.Dir),
                ["sae"] = options.SaeDir != null ? Path.GetFullPath(options.SaeDir) : "",
                ["architecture"] = sae.Config.Architecture,
                ["d_in"] = sae.DIn.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["device"] = device.Name,
            },
        };
        using var writer = new DumpWriter(outDir, template, m, options.F16, k, options.MaxShardBytes);
        writer.CopyDocsFrom(acts.Dir);
        long tokens = 0, active = 0;
        int maxL0 = 0;
        var idx = new int[Math.Max(1, k) * options.BlockRows];
        var val = new float[Math.Max(1, k) * options.BlockRows];
        using (var bar = new ProgressBar("encode", acts.NTokens, "tok"))
        {
            foreach (var (block, r0, codes, rows) in EncodedBlocks(acts, sae, options.BlockRows, encode))
            {
                for (int t = 0; t < rows; t++)
                {
                    int c = 0;
                    foreach (var v in codes.AsSpan(t * m, m)) if (v > 0) c++;
                    active += c; maxL0 = Math.Max(maxL0, c);
                    if (k > 0) FillTopK(codes.AsSpan(t * m, m), k, idx.AsSpan(t * k, k), val.AsSpan(t * k, k));
                }
                // one call per run of rows from the same document
                for (int s = 0; s < rows;)
                {
                    int e = s + 1;
                    while (e < rows && block.DocIds[r0 + e] == block.DocIds[r0 + s]) e++;
                    var tok = block.TokenIds.AsSpan(r0 + s, e - s); var sp = block.IsSpecial.AsSpan(r0 + s, e - s);
                    int doc = block.DocIds[r0 + s], pos = block.Positions[r0 + s];
                    var tpl = block.IsTemplate.AsSpan(r0 + s, e - s);
                    if (k > 0) writer.AddSparseRows(doc, idx.AsSpan(s * k, (e - s) * k), val.AsSpan(s * k, (e - s) * k), tok, sp, pos, tpl);
                    else writer.AddRows(doc, codes.AsSpan(s * m, (e - s) * m), tok, sp, pos, tpl);
                    s = e;
                }
                tokens += rows;
                bar.Advance(rows);
            }
        }
        var meta = writer.Complete();
        return new EncodeSummary(tokens, sae.DIn, m, meta.Layout, k, tokens > 0 ? (double)active / tokens : 0, maxL0, clock.Elapsed.TotalSeconds, outDir, device.Name);
    }

    /// <summary>
    /// The k largest positive codes of a row, by decreasing value, equal values by increasing index
    /// (so the row is the same whichever device encoded it); empty slots: index −1, value 0.
    /// </summary>
    static void FillTopK(ReadOnlySpan<float> row, int k, Span<int> idx, Span<float> val)
    {
        int n = TopK.SelectTopKPositive(row, k, idx, val);
        var order = new (float Value, int Index)[n];
        for (int e = 0; e < n; e++) order[e] = (val[e], idx[e]);
        Array.Sort(order, (a, b) => a.Value != b.Value ? b.Value.CompareTo(a.Value) : a.Index.CompareTo(b.Index));
        for (int e = 0; e < n; e++) (val[e], idx[e]) = order[e];
        idx[n..].Fill(-1);
        val[n..].Clear();
    }

    /// <summary>Codes of consecutive slices (block, first row, codes, rows) of the dump, read through reused buffers.</summary>
    static IEnumerable<(RowBlock Block, int Row0, float[] Codes, int Rows)> EncodedBlocks(ActivationDump acts, SaeModel sae, int blockRows,
        Action<ReadOnlySpan<float>, int, float[]> encode)
    {
        var codes = new float[(long)blockRows * sae.DSae];
        int d = acts.D;
        foreach (var block in new Training.DumpTrainData(acts).InOrder())
            for (int r0 = 0; r0 < block.Rows; r0 += blockRows)
            {
                int n = Math.Min(blockRows, block.Rows - r0);
                var x = block.Data.AsSpan(r0 * d, n * d);
                if (!Training.TrainData.AllFinite(x))
                    for (int t = 0; t < n; t++)
                        if (!Training.TrainData.AllFinite(x.Slice(t * d, d)))
                            throw new UserError($"'{acts.Dir}', dump row {block.RowIds[r0 + t]} holds NaN or Inf; cannot encode it.");
                encode(x, n, codes);
                yield return (block, r0, codes, n);
            }
    }
}
