using System.Security.Cryptography;
using SaeGuard.Common;
using SaeGuard.Models;

namespace SaeGuard.Probes;

/// <summary>A span-guard verdict: calibrated score, label, the span that decided, and its SAE explanation.</summary>
public sealed record SpanGuardResult
{
    public string Text { get; init; } = "";
    /// <summary>Calibrated probability of "harmful" (Platt scaling of the logit).</summary>
    public double Score { get; init; }
    public double Logit { get; init; }
    public string Label { get; init; } = "";
    public double Threshold { get; init; }
    /// <summary>Model tokens of the whole text (special tokens included) and the model windows it was read in.</summary>
    public int Tokens { get; init; }
    public int Windows { get; init; }
    /// <summary>The span that scored highest, as text.</summary>
    public string Span { get; init; } = "";
    public SpanExplanation Explanation { get; init; } = null!;
}

/// <summary>
/// Scores texts with a span-guard folder (<see cref="SpanGuardBundle"/>) on the built-in MiniLM: each
/// text is tokenised in full, cut into model windows (<see cref="TokenWindows"/>), run through the
/// model to the guard's layer, and scored by its best span (<see cref="SpanGuardModel"/>); the
/// deciding window is explained by SAE features. Thread-safe (read-only state; ONNX Runtime sessions
/// allow concurrent runs). <see cref="LoadDefault"/> opens the guard built into the package.
/// </summary>
public sealed class SpanGuard : IDisposable
{
    public SpanGuardModel Model { get; }
    public SpanGuardManifest Manifest { get; }
    public IActivationSource Source { get; }
    public string Directory { get; }
    readonly ITextTokenizer _tokenizer;

    SpanGuard(string dir, SpanGuardModel model, SpanGuardManifest manifest, IActivationSource source, ITextTokenizer tokenizer)
    {
        Directory = dir; Model = model; Manifest = manifest; Source = source; _tokenizer = tokenizer;
        model.Sae.Encode(new float[model.D], 1); // builds the encoder's cached transpose before concurrent use
    }

    public static SpanGuard Load(string dir)
    {
        var (model, manifest) = SpanGuardBundle.Read(dir);
        if (!manifest.Model.Equals("minilm", StringComparison.OrdinalIgnoreCase))
            throw new UserError($"'{dir}/{SpanGuardManifest.FileName}': model '{manifest.Model}' is not supported (span guards run on the built-in minilm).");
        var source = BuiltInModels.MiniLm(manifest.Layer, maxLength: manifest.MaxLength);
        if (source.Width != model.D) { source.Dispose(); throw new UserError($"'{dir}': the guard is {model.D} wide, layer {manifest.Layer} is {source.Width}."); }
        return new SpanGuard(dir, model, manifest, source, BuiltInModels.MiniLmTokenizer());
    }

    /// <summary>Resource names of the built-in guard's files, relative path → logical name.</summary>
    public static readonly IReadOnlyDictionary<string, string> DefaultResources = new Dictionary<string, string>
    {
        [SpanGuardManifest.FileName] = "SaeGuard.default_guard.span_guard.json",
        [SpanGuardManifest.WeightsFile] = "SaeGuard.default_guard.probes.safetensors",
        ["sae/cfg.json"] = "SaeGuard.default_guard.sae.cfg.json",
        ["sae/sae_weights.safetensors"] = "SaeGuard.default_guard.sae.sae_weights.safetensors",
    };

    /// <summary>
    /// The guard shipped inside the assembly. Its files are written once to
    /// <c>$SAEGUARD_CACHE</c> (else <c>$XDG_CACHE_HOME/saeguard</c>, else <c>~/.cache/saeguard</c>)
    /// under a folder named by their hash, then loaded from there with the ordinary folder reader.
    /// </summary>
    public static SpanGuard LoadDefault() => Load(MaterializeDefault());

    public static string MaterializeDefault()
    {
        var asm = typeof(SpanGuard).Assembly;
        var blobs = DefaultResources.ToDictionary(kv => kv.Key, kv =>
        {
            using var s = asm.GetManifestResourceStream(kv.Value)
                ?? throw new InvalidOperationException($"Embedded resource '{kv.Value}' is missing from the SaeGuard assembly.");
            var ms = new MemoryStream();
            s.CopyTo(ms);
            return ms.ToArray();
        });
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var (name, bytes) in blobs.OrderBy(kv => kv.Key, StringComparer.Ordinal)) { sha.AppendData(System.Text.Encoding.UTF8.GetBytes(name)); sha.AppendData(bytes); }
        var dir = Path.Combine(CacheRoot(), "default-guard-" + Convert.ToHexStringLower(sha.GetHashAndReset())[..12]);
        if (File.Exists(Path.Combine(dir, SpanGuardManifest.FileName))) return dir;
        using var outDir = new AtomicDirectory(dir);
        foreach (var (name, bytes) in blobs)
        {
            var path = outDir.File(name);
            System.IO.Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllBytes(path, bytes);
        }
        outDir.Commit();
        return dir;
    }

    static string CacheRoot()
    {
        var env = Environment.GetEnvironmentVariable("SAEGUARD_CACHE");
        if (!string.IsNullOrEmpty(env)) return env;
        var xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
        if (!string.IsNullOrEmpty(xdg)) return Path.Combine(xdg, "saeguard");
        return Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "saeguard");
    }

    public double Threshold => Manifest.Threshold;

    public SpanGuardResult Score(string text, int topFeatures = 5) => Score(new[] { text }, topFeatures)[0];

    public IReadOnlyList<SpanGuardResult> Score(IReadOnlyList<string> texts, int topFeatures = 5)
    {
        var results = new SpanGuardResult[texts.Count];
        for (int i = 0; i < texts.Count; i++) results[i] = ScoreOne(texts[i], topFeatures);
        return results;
    }

    SpanGuardResult ScoreOne(string text, int top)
    {
        var full = _tokenizer.Encode(text, 1 << 20);
        var windows = TokenWindows.Split(full, Source.MaxLength);
        var acts = Source.Run(windows.Select(w => w.Tokens).ToList());
        int d = Model.D;
        (SpanDecision Decision, float[] Acts, int N, string[] Tokens, int[] Ids)? best = null;
        for (int w = 0; w < windows.Count; w++)
        {
            var (x, n, toks, ids) = NonSpecial(windows[w].Tokens, acts[w], d);
            var dec = Model.Decide(x, n, ids);
            if (best == null || dec.Logit > best.Value.Decision.Logit) best = (dec, x, n, toks, ids);
        }
        var b = best!.Value;
        var expl = Model.Explain(b.Acts, b.N, b.Decision, b.Tokens, top, b.Ids);
        double score = Calibrated(b.Decision.Logit);
        return new SpanGuardResult
        {
            Text = text, Logit = b.Decision.Logit, Score = score, Threshold = Threshold,
            Label = b.Decision.Logit >= Manifest.ThresholdLogit ? Data.Labels.Harmful : Data.Labels.Benign,
            Tokens = full.Length, Windows = windows.Count,
            Span = TokenJoin.Join(b.Tokens.Skip(b.Decision.SpanStart).Take(b.Decision.SpanLength)).Trim(),
            Explanation = expl,
        };
    }

    public const string ProbeName = "span-guard";

    /// <summary>The verdict in the shared result shape: features that pushed the score up in TopFeatures, the others in NegativeFeatures.</summary>
    public static GuardResult ToGuardResult(SpanGuardResult r)
    {
        static FeatureContribution C(SpanFeatureContribution f) => new(f.Id, f.Contribution, (float)f.Activation, f.Label, f.Token);
        return new GuardResult
        {
            Text = r.Text, Score = r.Score, Label = r.Label, Threshold = r.Threshold, Probe = ProbeName,
            TopFeatures = r.Explanation.Positive.Select(C).ToList(), NegativeFeatures = r.Explanation.Negative.Select(C).ToList(),
            Offset = r.Explanation.Offset, Residual = r.Explanation.Residual, Span = r.Span, TokenCount = r.Tokens, TokensTruncated = false,
        };
    }

    public double Calibrated(double logit) => LogisticRegression.Sigmoid(Manifest.PlattA * logit + Manifest.PlattB);

    (float[] X, int N, string[] Tokens, int[] Ids) NonSpecial(TokenizedText t, float[] acts, int d)
    {
        var keep = Enumerable.Range(0, t.Length).Where(i => !t.IsSpecial[i]).ToArray();
        var x = new float[keep.Length * d];
        // Rounded to f16, as the training activations were stored.
        for (int k = 0; k < keep.Length; k++)
            for (int j = 0; j < d; j++) x[k * d + j] = (float)(Half)acts[keep[k] * d + j];
        return (x, keep.Length, keep.Select(i => Source.TokenText(t.Ids[i])).ToArray(), keep.Select(i => t.Ids[i]).ToArray());
    }

    /// <summary>The activation of SAE feature <paramref name="featureId"/> on every token of the text's first window (special tokens included).</summary>
    public IReadOnlyList<(string Token, double Activation, bool IsSpecial)> FeatureOnTokens(string text, int featureId)
    {
        if (featureId < 0 || featureId >= Model.Sae.DSae)
            throw new ArgumentOutOfRangeException(nameof(featureId), $"feature {featureId} is outside [0, {Model.Sae.DSae}).");
        var t = Source.Tokenize(text);
        var acts = Source.Run(new[] { t })[0];
        var z = Model.Sae.Encode(acts, t.Length);
        int m = Model.Sae.DSae;
        return Enumerable.Range(0, t.Length).Select(i => (Source.TokenText(t.Ids[i]), (double)z[i * m + featureId], t.IsSpecial[i])).ToList();
    }

    public void Dispose() => Source.Dispose();
}
