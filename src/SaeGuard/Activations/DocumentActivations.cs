using SaeGuard.Data;
using SaeGuard.Models;

namespace SaeGuard.Activations;

/// <summary>One document's rows as the model produced them (row-major [Count, d]).</summary>
public sealed record DocRows(int DocId, long FirstRow, float[] Acts, int[] TokenIds, bool[] Special, int Count);

/// <summary>
/// Runs documents through an activation source the way <see cref="Extractor"/> does (same
/// truncation and token cap, length-sorted batches inside a window) and yields their rows in
/// corpus order, without writing anything: the producer behind training straight from the model.
/// Documents that <c>keepDoc</c> rejects are tokenized (to count their rows) but not run.
/// </summary>
public static class DocumentActivations
{
    /// <param name="source">The model that produces each document's rows.</param>
    /// <param name="docs">The documents, in corpus order.</param>
    /// <param name="firstDocId">Doc id (corpus index) of the first document given.</param>
    /// <param name="firstRow">Row number of its first token in the whole corpus.</param>
    /// <param name="maxTokens">Stop after this many rows counted from the corpus start (0 = no cap).</param>
    /// <param name="sortWindow">Documents batched together by length within this many (order of the output is kept).</param>
    /// <param name="batching">Batch sizes and threads of the forward; extract's defaults when null.</param>
    /// <param name="keepDoc">Which doc ids to run (null = all); the others only advance the row count.</param>
    public static IEnumerable<DocRows> Stream(IActivationSource source, IEnumerable<DocRecord> docs, int firstDocId = 0, long firstRow = 0,
        long maxTokens = 0, int sortWindow = 64, ExtractOptions? batching = null, Func<int, bool>? keepDoc = null)
    {
        batching ??= new ExtractOptions();
        int d = source.Width, id = firstDocId;
        long row = firstRow;
        foreach (var (window, toks) in Extractor.Windows(source, docs, batching with { SortWindow = sortWindow }))
        {
            var acts = new float[window.Length][];
            var kept = Enumerable.Range(0, window.Length).Where(i => keepDoc == null || keepDoc(id + i)).ToList();
            foreach (var batch in Extractor.MakeBatches(kept.Select(i => toks[i]).ToList(), batching))
            {
                var outs = source.Run(batch.Select(i => toks[kept[i]]).ToList());
                for (int j = 0; j < batch.Count; j++) acts[kept[batch[j]]] = outs[j];
            }
            for (int i = 0; i < window.Length; i++)
            {
                int n = toks[i].Length;
                if (maxTokens > 0 && row + n >= maxTokens) n = (int)(maxTokens - row);
                if (n <= 0) yield break;
                if (acts[i] != null) yield return new DocRows(id, row, acts[i], toks[i].Ids, toks[i].IsSpecial, n);
                id++;
                row += n;
                acts[i] = null!;
                if (maxTokens > 0 && row >= maxTokens) yield break;
            }
        }
    }
}
