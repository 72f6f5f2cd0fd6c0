using SaeGuard.Activations;
using SaeGuard.Data;
using SaeGuard.Models;
using SaeGuard.Sae;
using SaeGuard.Sae.Training;
using SaeGuard.Tests.Infrastructure;

namespace SaeGuard.Tests.Probes;

/// <summary>Stand-in SAEs for probe tests (the trained SAE comes from another module).</summary>
static class TestSaes
{
    /// <summary>
    /// A TopK SAE whose decoder rows are unit vectors toward randomly drawn (centred) token
    /// activations of the dump, encoder = decoder transpose, b_dec = mean activation: each latent
    /// fires on tokens that resemble one exemplar token.
    /// </summary>
    public static SaeModel Exemplar(ActivationDump dump, int dSae, int k, int seed)
    {
        int d = dump.D;
        var rows = new List<float[]>();
        var mean = new double[d];
        long n = 0;
        foreach (var block in dump.ReadBlocks())
        {
            var b = block.WithoutSpecial();
            for (int r = 0; r < b.Rows; r++)
            {
                var row = b.Row(r).ToArray();
                for (int j = 0; j < d; j++) mean[j] += row[j];
                rows.Add(row);
                n++;
            }
        }
        var bDec = mean.Select(v => (float)(v / n)).ToArray();
        var rng = new Random(seed);
        var pick = Enumerable.Range(0, rows.Count).ToArray();
        rng.Shuffle(pick);
        var wDec = new float[dSae * d];
        for (int j = 0; j < dSae; j++)
        {
            var x = rows[pick[j % pick.Length]];
            double norm = 0;
            for (int i = 0; i < d; i++) norm += (x[i] - bDec[i]) * (x[i] - bDec[i]);
            norm = Math.Sqrt(norm) + 1e-6;
            for (int i = 0; i < d; i++) wDec[j * d + i] = (float)((x[i] - bDec[i]) / norm);
        }
        return FromDecoder(wDec, bDec, d, dSae, k, dump.Meta);
    }

    /// <summary>A TopK SAE with W_enc = W_decᵀ, b_enc = 0.</summary>
    public static SaeModel FromDecoder(float[] wDec, float[] bDec, int d, int dSae, int k, DumpMeta? meta = null)
    {
        var wEnc = new float[d * dSae];
        for (int j = 0; j < dSae; j++)
            for (int i = 0; i < d; i++) wEnc[i * dSae + j] = wDec[j * d + i];
        var cfg = new SaeConfig
        {
            DIn = d, DSae = dSae, Architecture = "topk", K = k,
            Metadata = new SaeMetadata { ModelName = meta?.Model ?? "", HookName = "resid_post", Layer = meta?.Layer ?? 0 },
        };
        return new SaeModel(cfg, wEnc, new float[dSae], wDec, bDec);
    }
}

/// <summary>
/// Real prompts extracted once per test class with MiniLM layer 4: AdvBench + MaliciousInstruct +
/// GPTFuzz (harmful) vs Alpaca + self-instruct (benign) in one dump, the in-the-wild jailbreak
/// prompts in another (out-of-distribution check), an exemplar SAE of the training dump, and one
/// <c>probe</c> run on them with the jailbreaks as a held-out set.
/// </summary>
public sealed class RealProbeData : IDisposable
{
    public TempDir Dir { get; } = new();
    public string TrainActs => Dir["acts"];
    public string JailbreakActs => Dir["jailbreak_acts"];
    public string Sae => Dir["sae"];
    public double ExtractSeconds { get; }
    public double SaeSeconds { get; }
    public SaeTrainResult? TrainReport { get; }

    public RealProbeData()
    {
        var sw = System.Diagnostics.Stopwatch.StartNew();
        static IEnumerable<DocRecord> Read(string label, params string[] parts) =>
            CorpusReader.Read(TestPaths.SharedData(parts), new CorpusReadOptions { FixedLabel = label });
        var train = Read("harmful", "advbench", "harmful_behaviors.csv")
            .Concat(Read("harmful", "malicious_instruct", "MaliciousInstruct.txt"))
            .Concat(Read("harmful", "gptfuzz", "question_list.csv"))
            .Concat(Read("benign", "refusal_direction_alpaca", "harmless_train.json").Take(600))
            .Concat(Read("benign", "self_instruct", "user_oriented_instructions.jsonl"))
            .Concat(Read("benign", "self_instruct", "seed_tasks.jsonl"))
            .ToList();
        // The first 100 in-the-wild jailbreak prompts (long role-play templates) keep the test short;
        // the benchmark notes in docs/BENCHMARKS.md score all 300.
        var jailbreaks = CorpusReader.Read(TestPaths.SharedData("jailbreak_llms", "jailbreak_prompts_2023_12_25.first300.csv"),
            new CorpusReadOptions { TextColumn = "prompt", FixedLabel = "harmful", FixedCategory = SaeGuard.Data.Formats.HarmCategories.JailbreakRoleplay }).Take(100).ToList();
        using (var source = BuiltInModels.MiniLm(4))
        {
            Extractor.Run(source, train, TrainActs);
            Extractor.Run(source, jailbreaks, JailbreakActs);
        }
        ExtractSeconds = sw.Elapsed.TotalSeconds;
        // A TopK SAE trained here the way a user would (`saeguard train`), not a stand-in.
        TrainReport = SaeTrainer.Run(ActivationDump.Open(TrainActs),
            new SaeTrainOptions { Arch = "topk", Expansion = 8, K = 32, Tokens = 400_000, BatchSize = 2048, Seed = 1 }, Sae);
        SaeSeconds = sw.Elapsed.TotalSeconds - ExtractSeconds;
        sw.Restart();
        (ProbeExitCode, _, ProbeStderr) = CliHarness.Run("probe", "--acts", TrainActs, "--sae", Sae, "--out", Probe, "--test", JailbreakActs);
        ProbeSeconds = sw.Elapsed.TotalSeconds;
    }

    public string Probe => Dir["probe"];
    public int ProbeExitCode { get; }
    public string ProbeStderr { get; } = "";
    public double ProbeSeconds { get; }

    public void Dispose() => Dir.Dispose();
}
