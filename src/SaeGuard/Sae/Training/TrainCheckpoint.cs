using System.Text.Json;
using SaeGuard.Common;
using SaeGuard.IO;
using SaeGuard.Sae.Architectures;

namespace SaeGuard.Sae.Training;

/// <summary>
/// Everything needed to continue a run exactly: weights, Adam moments and step, the firing tracker,
/// architecture state, the normalisation scale, the data position (epoch, offset in that epoch's
/// shuffled stream — the shuffle is a function of seed and epoch, so this is the RNG state too) and
/// the options. One folder per checkpoint (checkpoints/step_NNNNNNNN/: state.json +
/// state.safetensors), written to a temporary folder and renamed into place.
/// </summary>
public sealed record TrainCheckpoint
{
    public int FormatVersion { get; init; } = 1;
    public long Step { get; init; }
    public long TotalSteps { get; init; }
    public long TokensSeen { get; init; }
    public int Epoch { get; init; }
    public long EpochOffset { get; init; }
    public double Scale { get; init; }
    public double MeanNorm { get; init; }
    public int D { get; init; }
    public int M { get; init; }
    public string DataIdentity { get; init; } = "";
    public SaeTrainOptions Options { get; init; } = new();
    public Dictionary<string, double> ArchState { get; init; } = new();
    /// <summary>sha256 of state.safetensors, so a damaged checkpoint is recognised (and skipped on resume).</summary>
    public string TensorsSha256 { get; init; } = "";

    const string StateJson = "state.json", StateTensors = "state.safetensors";

    public static string DirName(long step) => $"step_{step:D8}";

    public void Save(string root, SaeParams p, AdamOptimizer adam, FiringTracker tracker, int keep)
    {
        Directory.CreateDirectory(root);
        using (var dir = new AtomicDirectory(Path.Combine(root, DirName(Step))))
        {
            var w = new SafeTensorsWriter();
            foreach (var (name, t) in p.Tensors()) w.AddF32(name, t, t.Length);
            foreach (var (name, t) in adam.M1.Tensors()) w.AddF32("adam_m." + name, t, t.Length);
            foreach (var (name, t) in adam.M2.Tensors()) w.AddF32("adam_v." + name, t, t.Length);
            w.AddI32("tokens_since_fired", tracker.TokensSince, tracker.M);
            using (var fs = File.Create(dir.File(StateTensors))) w.WriteTo(fs);
            File.WriteAllText(dir.File(StateJson), JsonSerializer.Serialize(this with { TensorsSha256 = Hashing.Sha256File(dir.File(StateTensors)) }, JsonDefaults.Pretty));
            dir.Commit();
        }
        var old = List(root).SkipLast(Math.Max(1, keep));
        foreach (var o in old) { try { Directory.Delete(o, true); } catch (IOException) { } }
    }

    /// <summary>Complete checkpoint folders under root, oldest first.</summary>
    public static List<string> List(string root) =>
        Directory.Exists(root)
            ? Directory.GetDirectories(root, "step_*").Where(d => File.Exists(Path.Combine(d, StateJson)) && File.Exists(Path.Combine(d, StateTensors))).Order(StringComparer.Ordinal).ToList()
            : new List<string>();

    /// <summary>
    /// The newest checkpoint that loads: a damaged one (unreadable, truncated, checksum mismatch)
    /// is reported through <paramref name="say"/> and the previous kept one is used instead.
    /// </summary>
    public static (string Dir, TrainCheckpoint Checkpoint, SaeParams Params, AdamOptimizer Adam, int[] TokensSince) LoadNewestIntact(
        IReadOnlyList<string> dirs, Action<string> say)
    {
        var damaged = new List<string>();
        for (int i = dirs.Count - 1; i >= 0; i--)
        {
            try
            {
                var ck = Load(dirs[i], out var p, out var adam, out var since);
                if (damaged.Count > 0)
                    say($"train: resuming from the previous checkpoint '{Path.GetFileName(dirs[i])}' (step {ck.Step}) instead of the damaged {string.Join(", ", damaged.Select(d => $"'{Path.GetFileName(d)}'"))}.");
                return (dirs[i], ck, p, adam, since);
            }
            catch (UserError e)
            {
                say($"train: {e.Message}");
                damaged.Add(dirs[i]);
            }
            catch (Exception e) when (e is IOException or InvalidDataException or JsonException)
            {
                say($"train: checkpoint '{dirs[i]}' is damaged: {e.Message}");
                damaged.Add(dirs[i]);
            }
        }
        throw new UserError($"Nothing to resume: every checkpoint is damaged ({string.Join(", ", damaged.Select(Path.GetFileName))}). Run without --resume to start afresh.");
    }

    public static TrainCheckpoint Load(string dir, out SaeParams p, out AdamOptimizer adam, out int[] tokensSince)
    {
        var jsonPath = Path.Combine(dir, StateJson);
        TrainCheckpoint ck;
        try { ck = JsonSerializer.Deserialize<TrainCheckpoint>(File.ReadAllText(jsonPath), JsonDefaults.Pretty) ?? throw new UserError($"'{jsonPath}' is empty."); }
        catch (JsonException e) { throw new UserError($"Checkpoint '{jsonPath}' is not readable: {e.Message}"); }
        bool theta = SaeArchitectures.Get(ck.Options.Arch).TrainsTheta;
        p = new SaeParams(ck.D, ck.M, theta);
        adam = new AdamOptimizer(ck.D, ck.M, theta, ck.Options.Beta1, ck.Options.Beta2) { Step = (int)ck.Step };
        var tPath = Path.Combine(dir, StateTensors);
        if (ck.TensorsSha256.Length > 0 && Hashing.Sha256File(tPath) != ck.TensorsSha256)
            throw new UserError($"Checkpoint '{tPath}' is damaged: its sha256 differs from the one in state.json.");
        try
        {
            using var r = new SafeTensorsReader(tPath);
            void Read(string name, float[] dst)
            {
                var v = r.ReadFloats(name);
                if (v.Length != dst.Length) throw new UserError($"Checkpoint '{tPath}': tensor '{name}' has {v.Length} values, expected {dst.Length}.");
                Array.Copy(v, dst, v.Length);
            }
            foreach (var (name, t) in p.Tensors()) Read(name, t);
            foreach (var (name, t) in adam.M1.Tensors()) Read("adam_m." + name, t);
            foreach (var (name, t) in adam.M2.Tensors()) Read("adam_v." + name, t);
            tokensSince = r.ReadInts("tokens_since_fired");
        }
        catch (InvalidDataException e) { throw new UserError($"Checkpoint '{tPath}' is damaged: {e.Message}"); }
        catch (KeyNotFoundException e) { throw new UserError($"Checkpoint '{tPath}' is incomplete: {e.Message}"); }
        return ck;
    }
}
