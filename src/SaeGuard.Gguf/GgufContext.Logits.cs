namespace SaeGuard.Gguf;

internal sealed unsafe partial class GgufContext
{
    /// <summary>
    /// Runs the sequences from an empty cache with logits for every token (context made with
    /// <see cref="GgufOptions.AllLogits"/>); the capture callback (and its splice hook) sees the
    /// hooked rows in batch order. Returns per sequence its logits [tokens, n_vocab].
    /// </summary>
    public float[][] DecodeWithAllLogits(IReadOnlyList<int[]> seqs)
    {
        if (seqs.Count > MaxSequences) throw new ArgumentException($"{seqs.Count} sequences > {MaxSequences}");
        int total = seqs.Sum(s => s.Length), vocab = _model.VocabSize;
        if (total > ContextSize) throw new ArgumentException($"{total} tokens > context {ContextSize}");
        var result = seqs.Select(s => new float[s.Length * vocab]).ToArray();
        var entries = new (int Token, int Pos, int Seq)[total];
        int k = 0;
        for (int s = 0; s < seqs.Count; s++)
            for (int i = 0; i < seqs[s].Length; i++) entries[k++] = (seqs[s][i], i, s);
        _capture.Reset();
        _capture.Enabled = true;
        _capture.StopAfterLast = false;
        try
        {
            _ctx.MemoryClear(true);
            for (int start = 0; start < total; start += BatchSize)
            {
                int end = Math.Min(total, start + BatchSize);
                _batch.Clear();
                for (int j = start; j < end; j++) _batch.Add(entries[j].Token, entries[j].Pos, (LLama.Native.LLamaSeqId)entries[j].Seq, true);
                Decode();
                for (int j = start; j < end; j++)
                    _ctx.GetLogitsIth(j - start).CopyTo(result[entries[j].Seq].AsSpan(entries[j].Pos * vocab, vocab));
            }
        }
        finally { _capture.Enabled = false; }
        return result;
    }
}
