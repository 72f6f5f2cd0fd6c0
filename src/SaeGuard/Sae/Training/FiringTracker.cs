using SaeGuard.Sae.Backend;

namespace SaeGuard.Sae.Training;

/// <summary>
/// Tokens since each latent last fired (dead after <see cref="DeadAfter"/> tokens), the list of dead
/// latents for AuxK, and firing counts over the current logging group.
/// </summary>
public sealed class FiringTracker
{
    public long DeadAfter { get; }
    public int M { get; }
    /// <summary>Tokens since the latent last fired (saturates at int.MaxValue).</summary>
    public int[] TokensSince { get; }
    /// <summary>Firings per latent since <see cref="ResetGroup"/>.</summary>
    public long[] GroupFires { get; }
    public int[] Dead { get; }
    public int NDead { get; private set; }
    readonly bool[] _fired;

    public FiringTracker(int m, long deadAfter)
    {
        M = m; DeadAfter = Math.Max(1, deadAfter);
        TokensSince = new int[m]; GroupFires = new long[m]; Dead = new int[m]; _fired = new bool[m];
    }

    /// <summary>Counts this batch's firings (entries with a positive value) and refreshes the dead list.</summary>
    public void Update(SparseRows codes, int rows)
    {
        Array.Clear(_fired);
        int n = codes.Nnz;
        var idx = codes.Idx; var val = codes.Val;
        for (int p = 0; p < n; p++)
            if (val[p] > 0) { _fired[idx[p]] = true; GroupFires[idx[p]]++; }
        int nd = 0;
        for (int j = 0; j < M; j++)
        {
            TokensSince[j] = _fired[j] ? 0 : (int)Math.Min(int.MaxValue, (long)TokensSince[j] + rows);
            if (TokensSince[j] >= DeadAfter) Dead[nd++] = j;
        }
        NDead = nd;
    }

    /// <summary>Marks the given latents dead (tests).</summary>
    public void ForceDead(IEnumerable<int> latents)
    {
        int nd = 0;
        foreach (var j in latents.Distinct().Order()) { TokensSince[j] = (int)Math.Min(int.MaxValue, DeadAfter); Dead[nd++] = j; }
        NDead = nd;
    }

    public void ResetGroup() => Array.Clear(GroupFires);

    public void Load(int[] tokensSince)
    {
        Array.Copy(tokensSince, TokensSince, M);
        int nd = 0;
        for (int j = 0; j < M; j++) if (TokensSince[j] >= DeadAfter) Dead[nd++] = j;
        NDead = nd;
    }
}
