using System.Numerics.Tensors;
using SaeGuard.Activations;
using SaeGuard.Common;

namespace SaeGuard.Sae.Training;

/// <summary>
/// Trains a family of SAEs (e.g. TopK at k = 16, 32, 64, 128, or ReLU/JumpReLU at several
/// sparsity coefficients) in one pass over the data: one batcher reads and cuts every training
/// batch once, and each member (its own <see cref="TrainRun"/> on its own thread) copies it, scaled
/// by its own normalisation. Members run in lock step (at most one batch apart), so a member gets
/// exactly the batches, and therefore the weights, it gets when trained alone with the same seed.
/// Only the scale estimate (the first few batches) is read by every member. Family runs do not
/// checkpoint or resume.
/// </summary>
public static class SaeFamilyTrainer
{
    /// <summary>Options that decide which rows make up each batch: they must agree across the family.</summary>
    static object BatchKey(SaeTrainOptions o) => (o.BatchSize, o.Seed, o.Tokens, o.IncludeSpecialTokens, o.HeldOutFraction, o.MaxHeldOutRows);

    public static IReadOnlyList<SaeTrainResult> Run(ActivationDump acts, IReadOnlyList<SaeTrainOptions> members, IReadOnlyList<string?> outDirs, CancellationToken cancel = default)
    {
        if (acts.Meta.Kind == "codes")
            throw new UserError($"'{acts.Dir}' is a codes dump (SAE outputs); train on the activations dump written by `extract`.");
        return Run(() => new DumpTrainData(acts), members, outDirs, SaeTrainer.MetadataOf(acts), cancel);
    }

    /// <summary>
    /// Trains the members (one output folder or null each) on views made by <paramref name="data"/>:
    /// one view per member and one for the shared batcher (views keep their own read buffers).
    /// </summary>
    /// <param name="data">Makes a view of the training rows.</param>
    /// <param name="members">Options per member; they differ only in k / the sparsity coefficient / architecture.</param>
    /// <param name="outDirs">SAELens output folder per member, or null to keep it in memory.</param>
    /// <param name="metadata">cfg.json metadata of every member.</param>
    /// <param name="cancel">Stops every member (the family then throws a UserError).</param>
    public static IReadOnlyList<SaeTrainResult> Run(Func<TrainData> data, IReadOnlyList<SaeTrainOptions> members, IReadOnlyList<string?> outDirs,
        SaeMetadata metadata, CancellationToken cancel = default)
    {
        if (members.Count == 0) throw new UserError("A family needs at least one member.");
        if (outDirs.Count != members.Count) throw new ArgumentException("one output folder (or null) per member");
        if (members.Any(m => !Equals(BatchKey(m), BatchKey(members[0]))))
            throw new UserError("The members of a family must share batch size, seed, tokens and the special-token/held-out settings (they read the same batches).");
        var opts = members.Select(m => m with { CheckpointEvery = 0, StopAfterTokens = 0 }).ToList();
        var shared = data();
        var feed = new SharedBatches(shared, opts[0], members.Count);
        var runs = new List<TrainRun>();
        try
        {
            for (int i = 0; i < opts.Count; i++)
            {
                int member = i;
                runs.Add(new TrainRun(data(), opts[i], outDirs[i], metadata) { BatchFeed = (dest, rows, scale) => feed.Fill(member, dest, rows, scale) });
            }
            var results = new SaeTrainResult[runs.Count];
            var errors = new Exception?[runs.Count];
            var threads = runs.Select((run, i) => new Thread(() =>
            {
                try
                {
                    results[i] = run.Execute(false, cancel);
                    if (!results[i].Completed) feed.Abort(); // interrupted: the others must not wait for its batches
                }
                catch (Exception e) { errors[i] = e; feed.Abort(); }
            }) { IsBackground = true, Name = $"sae-family-{i}" }).ToList();
            foreach (var t in threads) t.Start();
            foreach (var t in threads) t.Join();
            var first = errors.FirstOrDefault(e => e != null && e is not OperationCanceledException);
            if (first != null) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(first).Throw();
            if (errors.Any(e => e != null) || results.Any(r => !r.Completed))
                throw new UserError("Family training was interrupted; family runs keep no checkpoint: run the command again.");
            return results;
        }
        finally { foreach (var r in runs) r.Dispose(); }
    }

    /// <summary>
    /// Two batch slots shared by the members: batch s is cut (unscaled) into slot s mod 2 by the
    /// first member that needs it, once every member has copied batch s − 2 out of that slot.
    /// </summary>
    sealed class SharedBatches
    {
        readonly Batcher _batcher;
        readonly int _members, _rows;
        readonly float[][] _slots;
        readonly long[] _slotStep = { -1, -1 };
        readonly int[] _taken = new int[2];
        readonly long[] _next;
        readonly object _gate = new();
        long _produced;
        bool _aborted;

        public SharedBatches(TrainData data, SaeTrainOptions o, int members)
        {
            var split = RowSplit.Create(data, o);
            _rows = (int)Math.Min(o.BatchSize, Math.Max(1, split.TrainRows));
            _batcher = new Batcher(data, split, o.Seed, o.Threads);
            _members = members;
            _slots = new[] { new float[_rows * data.D], new float[_rows * data.D] };
            _next = new long[members];
        }

        public void Abort()
        {
            lock (_gate) { _aborted = true; Monitor.PulseAll(_gate); }
        }

        public void Fill(int member, float[] dest, int rows, float scale)
        {
            if (rows != _rows) throw new InvalidOperationException($"member asks for {rows} rows, the family's batch is {_rows}");
            long step = _next[member]++;
            int slot = (int)(step & 1);
            lock (_gate)
            {
                while (_slotStep[slot] != step)
                {
                    if (_aborted) throw new OperationCanceledException("another member of the family failed");
                    bool free = _slotStep[slot] == -1 || (_slotStep[slot] == step - 2 && _taken[slot] == _members);
                    if (_produced == step && free)
                    {
                        _batcher.Fill(_slots[slot], _rows, 1f);
                        _slotStep[slot] = step; _taken[slot] = 0; _produced++;
                        Monitor.PulseAll(_gate);
                    }
                    else Monitor.Wait(_gate);
                }
            }
            TensorPrimitives.Multiply(_slots[slot], scale, dest.AsSpan(0, _slots[slot].Length));
            lock (_gate) { _taken[slot]++; Monitor.PulseAll(_gate); }
        }
    }
}
