using System.Numerics.Tensors;
using SaeGuard.Common;
using SaeGuard.Sae;

namespace SaeGuard.Gguf;

public sealed record SteerRequest
{
    public string Prompt { get; init; } = "";
    public int Feature { get; init; }
    /// <summary>Multiple of the layer's typical residual norm added along the feature's decoder direction.</summary>
    public double Strength { get; init; }
    /// <summary>Block whose output is steered; default: the SAE's metadata layer.</summary>
    public int? Layer { get; init; }
    public int MaxNewTokens { get; init; } = 32;
    /// <summary>0 = greedy.</summary>
    public double Temperature { get; init; }
    public int Seed { get; init; }
    /// <summary>Residual norm to scale by; default: the SAE's training norm, else measured on the prompt.</summary>
    public double? Norm { get; init; }
    /// <summary>Chat template the prompt is wrapped in as a user turn: null/"none", "auto" or a llama.cpp name (see <see cref="GgufOptions.Template"/>).</summary>
    public string? Template { get; init; }
    /// <summary>true = <see cref="Template"/> "auto".</summary>
    public bool ChatTemplate
    {
        get => Template is not (null or "none");
        init => Template = value ? "auto" : null;
    }
}

public sealed record Continuation(int[] Tokens, string Text, bool Stopped);

public sealed record SteerResult(
    string Prompt, int Layer, string Hook, int Feature, double Strength, double ResidualNorm, string NormSource,
    double VectorNorm, int PromptTokens, Continuation Baseline, Continuation Steered);

/// <summary>
/// Feature steering on a GGUF model: generates from a prompt twice, without and with
/// strength × norm × W_dec[f]/‖W_dec[f]‖ added to the residual stream after the SAE's layer
/// (llama.cpp control vector, applied to the prompt and every generated token).
/// </summary>
public sealed class GgufSteerer : IDisposable
{
    readonly GgufModel _model;
    readonly GgufOptions _options;

    public GgufModel Model => _model;

    public GgufSteerer(string modelPath, GgufOptions? options = null)
    {
        _options = options ?? new GgufOptions();
        _model = GgufModel.Load(modelPath);
    }

    /// <summary>strength × norm × the unit decoder row of <paramref name="feature"/>.</summary>
    public static float[] SteeringVector(SaeModel sae, int feature, double strength, double norm)
    {
        if (feature < 0 || feature >= sae.DSae) throw new UserError($"--feature {feature} is out of range: the SAE has {sae.DSae} features (0..{sae.DSae - 1}).");
        var row = sae.WDec.AsSpan(feature * sae.DIn, sae.DIn);
        double len = TensorPrimitives.Norm(row);
        if (!(len > 0)) throw new UserError($"Feature {feature} has an all-zero decoder row; it has no direction to steer along.");
        var v = new float[sae.DIn];
        TensorPrimitives.Multiply(row, (float)(strength * norm / len), v);
        return v;
    }

    public SteerResult Run(SaeModel sae, SteerRequest req)
    {
        int layer = req.Layer ?? sae.Config.Metadata.Layer;
        if (sae.DIn != _model.NEmbd)
            throw new UserError($"The SAE reads vectors of {sae.DIn} values but '{_model.Path}' has n_embd {_model.NEmbd}: it was not trained on this model.");
        if (layer < 1 || layer >= _model.NLayer)
            throw new UserError($"Layer {layer} cannot be steered: llama.cpp adds control vectors after blocks 1..{_model.NLayer - 1} of this model.");
        if (req.MaxNewTokens < 0) throw new UserError($"--max-new-tokens must be ≥ 0, got {req.MaxNewTokens}.");
        if (!(req.Temperature >= 0)) throw new UserError($"--temperature must be ≥ 0, got {req.Temperature}.");
        _ = SteeringVector(sae, req.Feature, 1, 1); // validates the feature before any work
        var chat = GgufChatTemplate.Resolve(_model, req.Template);
        var prompt = chat != null
            ? chat.Tokenize(_model, chat.Render(new[] { new ChatMessage("user", req.Prompt) }))
            : _model.Tokenize(req.Prompt, _model.AddBos, parseSpecial: false);
        if (prompt.Length == 0) throw new UserError("The prompt is empty.");
        int ctxSize = prompt.Length + req.MaxNewTokens + 1;
        if (_model.ContextLength > 0 && ctxSize > _model.ContextLength)
            throw new UserError($"Prompt ({prompt.Length} tokens) + --max-new-tokens {req.MaxNewTokens} exceed the model's context of {_model.ContextLength}.");
        using var ctx = new GgufContext(_model, _options with { MaxSequences = 1, EarlyExit = false }, ctxSize, new[] { layer });

        ctx.Capture.Reset();
        var baseline = Generate(ctx, prompt, req, captureNorm: true);
        var (norm, source) = ResolveNorm(req, sae, ctx.Capture.Buffers[0], prompt);
        var vector = SteeringVector(sae, req.Feature, req.Strength, norm);
        ctx.SetSteering(vector, layer);
        Continuation steered;
        try { steered = Generate(ctx, prompt, req, captureNorm: false); }
        finally { ctx.SetSteering(null, layer); }
        return new SteerResult(req.Prompt, layer, LayerCapture.HookName(layer), req.Feature, req.Strength, norm, source,
            TensorPrimitives.Norm(vector), prompt.Length, baseline, steered);
    }

    (double Norm, string Source) ResolveNorm(SteerRequest req, SaeModel sae, RowBuffer promptRows, int[] prompt)
    {
        if (req.Norm is { } n)
        {
            if (!(n > 0)) throw new UserError($"--norm must be positive, got {n}.");
            return (n, "given");
        }
        if (sae.Config.Metadata.TrainActivationNorm is > 0 and var t) return (t, "sae training activations");
        var rows = promptRows.CopyRows(0, prompt.Length);
        int d = _model.NEmbd;
        var text = Enumerable.Range(0, prompt.Length).Where(i => !_model.IsSpecial(prompt[i])).ToList();
        if (text.Count == 0) text = Enumerable.Range(0, prompt.Length).ToList();
        double mean = text.Average(i => (double)TensorPrimitives.Norm(rows.AsSpan(i * d, d)));
        return (mean, "measured on the prompt");
    }

    Continuation Generate(GgufContext ctx, int[] prompt, SteerRequest req, bool captureNorm)
    {
        ctx.Clear();
        var rng = new Random(req.Seed);
        var logits = ctx.DecodeNext(prompt, 0, capture: captureNorm);
        var output = new List<int>();
        bool stopped = false;
        while (output.Count < req.MaxNewTokens)
        {
            int next = Pick(logits, req.Temperature, rng);
            if (_model.IsEndOfGeneration(next)) { stopped = true; break; }
            output.Add(next);
            if (output.Count == req.MaxNewTokens) break;
            logits = ctx.DecodeNext(new[] { next }, prompt.Length + output.Count - 1);
        }
        return new Continuation(output.ToArray(), _model.Detokenize(output), stopped);
    }

    /// <summary>Greedy (lowest id on ties) at temperature 0, else a draw from softmax(logits / T).</summary>
    public static int Pick(ReadOnlySpan<float> logits, double temperature, Random rng)
    {
        if (temperature <= 0) return TensorPrimitives.IndexOfMax(logits);
        float max = TensorPrimitives.Max(logits);
        var p = new double[logits.Length];
        double sum = 0;
        for (int i = 0; i < p.Length; i++) sum += p[i] = Math.Exp((logits[i] - max) / temperature);
        double u = rng.NextDouble() * sum;
        for (int i = 0; i < p.Length; i++)
            if ((u -= p[i]) <= 0) return i;
        return p.Length - 1;
    }

    public void Dispose() => _model.Dispose();
}
