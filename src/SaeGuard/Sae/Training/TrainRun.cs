using System.Diagnostics;
using System.Numerics.Tensors;
using System.Text.Json;
using SaeGuard.Common;
using SaeGuard.Sae.Architectures;
using SaeGuard.Sae.Backend;
using SaeGuard.Sae.Device;
using SaeGuard.Sae.Training.Architectures;

namespace SaeGuard.Sae.Training;

/// <summary>One training run: set-up or resume, the step loop, logging, checkpoints, the final SAE.</summary>
sealed class TrainRun : IDisposable
{
    public const string MetricsFile = "metrics.jsonl";
    public const string CheckpointsDir = "checkpoints";

    readonly TrainData _data;
    readonly SaeTrainOptions _o;
    readonly string? _out;
    readonly SaeMetadata _meta;
    readonly ISaeBackend _backend;
    readonly int _d, _m, _batch;
    readonly RowSplit _split;
    readonly long _totalSteps, _deadAfter;
    readonly TrainingSae _arch;
    readonly ITrainingBackend _train;
    readonly LrSchedule _sched;
    readonly Batcher _batcher;
    readonly FiringTracker _tracker;
    readonly List<TrainMetrics> _history = new();
    readonly Dictionary<string, double> _phases = new();
    SaeParams _p;
    AdamOptimizer _adam;
    double _scale = 1, _meanNorm;
    long _step, _tokens;
    StreamWriter? _metrics;

    /// <summary>When set, training batches come from here instead of this run's own batcher (family training shares one read).</summary>
    public Action<float[], int, float>? BatchFeed { get; init; }

    public TrainRun(TrainData data, SaeTrainOptions o, string? outDir, SaeMetadata meta)
    {
        SaeTrainer.Validate(o, data.D);
        _data = data; _o = o; _out = outDir; _meta = meta;
        _d = data.D; _m = o.LatentsFor(_d);
        _split = RowSplit.Create(data, o);
        data.UseSplit(_split);
        if (_split.TrainRows == 0)
            throw new UserError($"No rows to train on: {data.Rows} rows, {_split.HeldOutRows} held out" + (o.IncludeSpecialTokens ? "." : ", the rest special tokens (--include-special to use them)."));
        _batch = (int)Math.Min(o.BatchSize, _split.TrainRows);
        long tokens = o.Tokens > 0 ? o.Tokens : _split.TrainRows;
        _totalSteps = Math.Max(1, (tokens + _batch / 2) / _batch);
        _deadAfter = o.DeadAfterTokens > 0 ? o.DeadAfterTokens : Math.Max(_batch, Math.Min(10_000_000, _totalSteps * _batch / 4));
        _backend = SaeBackends.CreateCpu(o.Threads);
        _arch = TrainingSae.Create(o, _d, _m);
        _train = TrainingBackends.Create(o, _arch, _backend, _d, _m, _batch);
        _sched = new LrSchedule(o, _totalSteps, _m);
        _batcher = new Batcher(data, _split, o.Seed, o.Threads);
        _tracker = new FiringTracker(_m, _deadAfter);
        _p = new SaeParams(_d, _m, _arch.HasTheta);
        _adam = new AdamOptimizer(_d, _m, _arch.HasTheta, o.Beta1, o.Beta2);
    }

    string? CheckpointRoot => _out == null ? null : Path.Combine(_out, CheckpointsDir);

    public SaeTrainResult Execute(bool resume, CancellationToken cancel)
    {
        var clock = Stopwatch.StartNew();
        if (_out != null) OutputPolicy.CreateInPlace(_out);
        if (resume) Resume(); else Initialize();
        OpenMetrics(resume);
        long startStep = _step;
        double gemm0 = _train.Timings.GetValueOrDefault("gemm");
        _train.Push(_p, _adam, _tracker);
        var group = new StepStats(_d);
        long groupSteps = 0;
        var groupClock = Stopwatch.StartNew();
        _train.ResetGroup();
        long logEvery = _o.LogEvery > 0 ? _o.LogEvery : Math.Max(1, _totalSteps / 50);
        long ckEvery = _o.CheckpointEvery > 0 ? Math.Max(1, _o.CheckpointEvery / _batch) : 0;
        bool completed = true;
        double lr = 0;
        using (var bar = new ProgressBar("train", (_totalSteps - _step) * _batch, "tok"))
        {
            while (_step < _totalSteps)
            {
                bool cancelled = cancel.IsCancellationRequested;
                if (!cancelled)
                {
                    long t0 = Stopwatch.GetTimestamp();
                    if (BatchFeed != null) BatchFeed(_train.Batch, _batch, (float)_scale); else _batcher.Fill(_train.Batch, _batch, (float)_scale);
                    _phases["data"] = _phases.GetValueOrDefault("data") + Stopwatch.GetElapsedTime(t0).TotalSeconds;
                    lr = _sched.Lr(_step);
                    double coef = _o.SparsityCoefficient * _sched.SparsityFactor(_step);
                    var stats = _train.Step(_batch, (float)lr, coef);
                    if (!double.IsFinite(stats.Loss))
                        throw new UserError($"Training diverged at step {_step} (loss {stats.Loss}); lower --lr or check the activations.");
                    _step++; _tokens += _batch;
                    group.Add(stats); groupSteps++;
                    var last = _history.Count > 0 ? _history[^1] : null;
                    bar.Advance(_batch, _batch, last == null ? "" : $"| EV {last.ExplainedVariance:F3} L0 {last.L0:F1} dead {100 * last.DeadFraction:F1}%");
                }
                bool end = _step == _totalSteps;
                bool ckDue = ckEvery > 0 && _step % ckEvery == 0 && !end;
                bool stop = cancelled || (_o.StopAfterTokens > 0 && _tokens >= _o.StopAfterTokens && !end);
                if (groupSteps > 0 && (groupSteps >= logEvery || end || ckDue || stop))
                {
                    _train.PullTracker();
                    Emit(group, groupSteps, lr, groupClock.Elapsed.TotalSeconds);
                    group.Clear(); groupSteps = 0; groupClock.Restart(); _train.ResetGroup();
                }
                if ((ckDue || stop) && CheckpointRoot != null) { _train.PullState(); SaveCheckpoint(); }
                if (stop) { completed = false; break; }
            }
        }
        _train.PullState();
        var config = new SaeConfig
        {
            Metadata = _meta with { TrainActivationNorm = _meanNorm, TrainingTokens = _tokens },
            Training = TrainingInfo(),
        };
        var model = SaeTrainer.Fold(_p, _arch, _scale, config);
        TrainMetrics final;
        if (!completed) final = _history.Count > 0 ? _history[^1] : new TrainMetrics();
        else final = FinalMetrics(model, clock.Elapsed.TotalSeconds);
        var warnings = completed ? Warnings(final) : new List<string>();
        if (completed && _out != null) WriteSae(model);
        return new SaeTrainResult
        {
            Model = model, Final = final, History = _history.ToList(), Warnings = warnings, Completed = completed,
            Steps = _step, TokensSeen = _tokens, Seconds = clock.Elapsed.TotalSeconds, Scale = _scale,
            GemmSeconds = _train.Timings.GetValueOrDefault("gemm") - gemm0, Backend = _train.Device == SaeDevice.CpuName ? _backend.Name : _train.Device,
            Device = _train.Device,
            PhaseSeconds = _train.Timings.Concat(_phases).ToDictionary(kv => kv.Key, kv => kv.Value),
        };
    }

    void Initialize()
    {
        var rng = new Random(_o.Seed);
        for (int i = 0; i < _p.WDec.Length; i++)
        {
            double u1 = 1.0 - rng.NextDouble(), u2 = rng.NextDouble();
            _p.WDec[i] = (float)(Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2));
        }
        _backend.NormalizeRows(_p.WDec, _m, _d);
        Array.Copy(_p.WDec, _p.WEncT, _p.WDec.Length);
        _arch.Initialize(_p);

        // scale so that mean ‖x‖² = d_in, from the first batches; b_dec = geometric median of the first batch
        var est = new Batcher(_data, _split, _o.Seed);
        long batches = Math.Max(1, Math.Min(_o.ScaleEstimateBatches, _split.TrainRows / _batch));
        var buf = new float[_batch * _d];
        float[]? first = null;
        double sumSq = 0, sumNorm = 0;
        for (long b = 0; b < batches; b++)
        {
            est.Fill(buf, _batch);
            for (int t = 0; t < _batch; t++)
            {
                double sq = Simd.Dot(buf.AsSpan(t * _d, _d), buf.AsSpan(t * _d, _d));
                sumSq += sq; sumNorm += Math.Sqrt(sq);
            }
            first ??= (float[])buf.Clone();
        }
        long n = batches * _batch;
        if (!(sumSq > 0)) throw new UserError("The training activations are all zero; nothing to learn.");
        _meanNorm = sumNorm / n;
        _scale = _o.NormalizeActivations ? Math.Sqrt(_d / (sumSq / n)) : 1.0;
        int sample = Math.Min(_batch, 4096);
        var scaled = first!.AsSpan(0, sample * _d).ToArray();
        TensorPrimitives.Multiply(scaled, (float)_scale, scaled);
        GeometricMedian.Compute(scaled, sample, _d).CopyTo(_p.BDec, 0);

        if (_out != null)
        {
            var root = CheckpointRoot!;
            if (Directory.Exists(root)) Directory.Delete(root, true);
            foreach (var f in new[] { SaeLensFormat.CfgFile, SaeLensFormat.WeightsFile })
                if (File.Exists(Path.Combine(_out, f))) File.Delete(Path.Combine(_out, f));
        }
    }

    void Resume()
    {
        var root = CheckpointRoot ?? throw new UserError("Resuming needs the output folder that holds the checkpoints.");
        var list = TrainCheckpoint.List(root);
        if (list.Count == 0) throw new UserError($"Nothing to resume: no checkpoint in '{root}'. Run without --resume to start afresh.");
        var (ckDir, ck, p, adam, since) = TrainCheckpoint.LoadNewestIntact(list, m => Console.Error.WriteLine(m));
        if (ck.D != _d || ck.M != _m)
            throw new UserError($"Checkpoint '{ckDir}' is for an SAE of {ck.D}→{ck.M}, this run is {_d}→{_m}.");
        if (ck.DataIdentity != _data.Identity)
            throw new UserError($"Checkpoint '{ckDir}' was made on other activations ({ck.DataIdentity}); resume with the same --acts.");
        var diffs = OptionDifferences(Canonical(ck.Options, _d), Canonical(_o, _d));
        if (diffs.Count > 0)
            throw new UserError($"Checkpoint '{ckDir}' was trained with different options: {string.Join("; ", diffs)}. Resume with the same options.");
        if (since.Length != _m) throw new UserError($"Checkpoint '{ckDir}': tokens_since_fired has {since.Length} entries, expected {_m}.");
        _p = p; _adam = adam;
        _tracker.Load(since);
        _arch.LoadState(ck.ArchState);
        _scale = ck.Scale; _meanNorm = ck.MeanNorm;
        _step = ck.Step; _tokens = ck.TokensSeen;
        _batcher.Seek(ck.Epoch, ck.EpochOffset);
    }

    void SaveCheckpoint()
    {
        new TrainCheckpoint
        {
            Step = _step, TotalSteps = _totalSteps, TokensSeen = _tokens, Epoch = _batcher.Epoch, EpochOffset = _batcher.Offset,
            Scale = _scale, MeanNorm = _meanNorm, D = _d, M = _m, DataIdentity = _data.Identity, Options = _o,
            ArchState = _arch.SaveState(),
        }.Save(CheckpointRoot!, _p, _adam, _tracker, _o.KeepCheckpoints);
    }

    /// <summary>The options that define a run's trajectory, with defaults resolved.</summary>
    static SaeTrainOptions Canonical(SaeTrainOptions o, int d) => o with
    {
        StopAfterTokens = 0, CheckpointEvery = 0, KeepCheckpoints = 0, Threads = 0, LogEvery = 0, Device = "",
        Latents = o.LatentsFor(d), Expansion = 0, Lr = o.LrFor(o.LatentsFor(d)), L1 = o.SparsityCoefficient,
    };

    static List<string> OptionDifferences(SaeTrainOptions a, SaeTrainOptions b)
    {
        var diffs = new List<string>();
        foreach (var prop in typeof(SaeTrainOptions).GetProperties())
        {
            if (!prop.CanWrite) continue;
            var va = prop.GetValue(a); var vb = prop.GetValue(b);
            if (!Equals(va, vb)) diffs.Add($"{prop.Name} was {va}, now {vb}");
        }
        return diffs;
    }

    void OpenMetrics(bool resume)
    {
        if (_out == null) return;
        var path = Path.Combine(_out, MetricsFile);
        if (resume && File.Exists(path))
        {
            var kept = new List<string>();
            foreach (var line in File.ReadLines(path))
            {
                if (string.IsNullOrWhiteSpace(line)) continue;
                try
                {
                    var m = JsonSerializer.Deserialize<TrainMetrics>(line, JsonDefaults.Line);
                    if (m != null && m.Split == "train" && m.TokensSeen <= _tokens) { kept.Add(line); _history.Add(m); }
                }
                catch (JsonException) { }
            }
            AtomicFile.WriteAllText(path, kept.Count > 0 ? string.Join("\n", kept) + "\n" : "");
        }
        _metrics = new StreamWriter(new FileStream(path, resume ? FileMode.Append : FileMode.Create, FileAccess.Write, FileShare.Read), new System.Text.UTF8Encoding(false));
    }

    void Emit(StepStats group, long steps, double lr, double seconds)
    {
        var m = TrainMetrics.FromStats(group, _d, 1 / (_scale * _scale)) with
        {
            Split = "train", Step = _step, TokensSeen = _tokens, DeadFraction = (double)_tracker.NDead / _m,
            AuxLoss = group.AuxLoss / steps, SparsityLoss = group.SparsityLoss / steps, Loss = group.Loss / steps,
            Lr = lr, TokensPerS = group.Tokens / Math.Max(1e-9, seconds), Device = _train.Device,
        };
        m = m.WithFrequencies(_tracker.GroupFires, group.Tokens);
        _history.Add(m);
        WriteMetric(m);
    }

    void WriteMetric(TrainMetrics m)
    {
        if (_metrics == null) return;
        _metrics.WriteLine(JsonSerializer.Serialize(m, JsonDefaults.Line));
        _metrics.Flush();
    }

    TrainMetrics FinalMetrics(SaeModel model, double seconds)
    {
        double tps = _history.Count > 0 ? _history.Average(h => h.TokensPerS) : _tokens / Math.Max(1e-9, seconds);
        TrainMetrics m;
        if (_split.HeldOutRows > 0)
        {
            var (eval, fires) = SaeEvaluator.Evaluate(model, _data.InOrder(),
                (b, i) => _split.Usable(b.IsSpecial[i]) && _split.IsHeldOut(b.RowIds[i], b.DocIds[i]), _data);
            m = eval with { Split = "heldout", HeldoutNeverFiredFraction = (double)fires.Count(f => f == 0) / _m };
            // SAELens's sparsity.safetensors from the held-out pass's firing counts (docs/FEATURES.md)
            if (_out != null && eval.MeasuredTokens > 0)
                SparsityFile.Write(Path.Combine(_out, SparsityFile.FileName), fires.Select(f => (double)f / eval.MeasuredTokens).ToList(), eval.MeasuredTokens);
        }
        else m = (_history.Count > 0 ? _history[^1] : new TrainMetrics()) with { Split = "train" };
        m = m with
        {
            Step = _step, TokensSeen = _tokens, DeadFraction = (double)_tracker.NDead / _m, DeadWindowTokens = _deadAfter, Device = _train.Device,
            Lr = 0, TokensPerS = tps,
            AuxLoss = _history.Count > 0 ? _history[^1].AuxLoss : 0, SparsityLoss = _history.Count > 0 ? _history[^1].SparsityLoss : 0,
            Loss = _history.Count > 0 ? _history[^1].Loss : 0,
        };
        _history.Add(m);
        WriteMetric(m);
        return m;
    }

    List<string> Warnings(TrainMetrics f)
    {
        var w = new List<string>();
        string hint = "run `saeguard analyze --dump ACTS --sae SAE --out REPORT` to diagnose it";
        if (f.L0 > _d / 4.0)
            w.Add($"the SAE is dense: final L0 = {f.L0:F1} active latents per token, more than d_in/4 = {_d / 4.0:F0}" +
                  SaeArchitectures.Get(_o.Arch).DenseHint(_o) + $"; {hint}.");
        int over50Limit = Math.Max(1, (int)Math.Ceiling(0.001 * _m));
        if (f.FeaturesOver50Pct >= over50Limit)
            w.Add($"{f.FeaturesOver50Pct} latent(s) fire on more than 50% of tokens (always-on features act as a bias, not as features); {hint}.");
        if (f.DeadFraction > 0.5)
            w.Add($"{100 * f.DeadFraction:F0}% of latents are dead (no firing in the last {_deadAfter:N0} tokens); train longer or use --arch topk with AuxK.");
        return w;
    }

    Dictionary<string, string> TrainingInfo()
    {
        var ci = System.Globalization.CultureInfo.InvariantCulture;
        var t = new Dictionary<string, string>
        {
            ["trained_as"] = _arch.Name, ["latents"] = _m.ToString(ci), ["batch_size"] = _batch.ToString(ci),
            ["lr"] = _sched.BaseLr.ToString("R", ci), ["seed"] = _o.Seed.ToString(ci), ["tokens"] = _tokens.ToString(ci),
            ["steps"] = _step.ToString(ci), ["activation_scale"] = _scale.ToString("R", ci), ["dead_after_tokens"] = _deadAfter.ToString(ci),
            ["special_tokens_included"] = _o.IncludeSpecialTokens ? "true" : "false", ["device"] = _train.Device,
        };
        _arch.AddTrainingInfo(t);
        return t;
    }

    void WriteSae(SaeModel model)
    {
        var tmp = Path.Combine(_out!, $".sae-tmp-{Guid.NewGuid():N}");
        Directory.CreateDirectory(tmp);
        try
        {
            SaeLensFormat.WriteInto(model, tmp);
            File.Move(Path.Combine(tmp, SaeLensFormat.WeightsFile), Path.Combine(_out!, SaeLensFormat.WeightsFile), true);
            File.Move(Path.Combine(tmp, SaeLensFormat.CfgFile), Path.Combine(_out!, SaeLensFormat.CfgFile), true);
        }
        finally { Directory.Delete(tmp, true); }
    }

    public void Dispose()
    {
        _metrics?.Dispose();
        _train.Dispose();
        _backend.Dispose();
    }
}
