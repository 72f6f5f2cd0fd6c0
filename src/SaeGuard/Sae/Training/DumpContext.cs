using SaeGuard.Activations;
using SaeGuard.IO;

namespace SaeGuard.Sae.Training;

/// <summary>What an activation dump says about how its contexts began (SAELens <c>prepend_bos</c>).</summary>
static class DumpContext
{
    /// <summary>
    /// True when the dump's first document starts with a special token (BOS / [CLS]), false when it
    /// starts with an ordinary one, null when the dump cannot tell (no position / is_special
    /// columns). With special tokens left out of the dump, a first row past position 0 means
    /// position 0 was special. Reads only the index columns of the first shard.
    /// </summary>
    public static bool? PrependsBos(ActivationDump dump)
    {
        if (dump.Meta.Shards.Count == 0) return null;
        try
        {
            using var r = new SafeTensorsReader(dump.ShardPath(0));
            if (!r.Tensors.ContainsKey("position") || !r.Tensors.ContainsKey("doc_id")) return null;
            var pos = r.ReadInts("position");
            var doc = r.ReadInts("doc_id");
            var special = r.Tensors.ContainsKey("is_special") ? r.ReadInts("is_special") : null;
            if (pos.Length == 0) return null;
            int first = doc[0], minPos = int.MaxValue, at = -1;
            for (int i = 0; i < pos.Length && doc[i] == first; i++)
                if (pos[i] < minPos) { minPos = pos[i]; at = i; }
            if (minPos == 0) return special == null ? null : special[at] != 0;
            return dump.Meta.SpecialTokensIncluded ? null : true;
        }
        catch (Exception e) when (e is IOException or InvalidDataException or Common.UserError) { return null; }
    }
}
