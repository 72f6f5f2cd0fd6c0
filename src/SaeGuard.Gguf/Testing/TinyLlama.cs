namespace SaeGuard.Gguf.Testing;

/// <summary>
/// Shape, family and seed of a random model written by <see cref="TinyLlama"/> (every family of
/// <see cref="TinyFamily"/>; the name is the llama original's). <see cref="TinyFamilies.Spec"/> has one per family.
/// </summary>
public sealed record TinyLlamaSpec
{
    public TinyFamily Family { get; init; } = TinyFamily.Llama;
    public int NEmbd { get; init; } = 64;
    public int NLayer { get; init; } = 4;
    public int NHead { get; init; } = 4;
    public int NHeadKv { get; init; } = 2;
    public int NFf { get; init; } = 128;
    /// <summary>Head size when it is not n_embd / n_head (Gemma 2's attention.key_length).</summary>
    public int? KeyLength { get; init; }
    public int ContextLength { get; init; } = 512;
    public float RopeBase { get; init; } = 10000f;
    public float RmsEps { get; init; } = 1e-5f;
    /// <summary>Llama 3.1's per-frequency rope divisors (tensor rope_freqs.weight).</summary>
    public bool RopeFreqs { get; init; }
    /// <summary>Q, K and V biases (Qwen2).</summary>
    public bool QkvBias { get; init; }
    /// <summary>No output.weight: the head reuses token_embd (Gemma, small Qwen2).</summary>
    public bool TiedOutput { get; init; }
    /// <summary>attention.sliding_window in the metadata (0 = none). llama.cpp applies it on Gemma 2's even blocks only.</summary>
    public int SlidingWindow { get; init; }
    /// <summary>Gemma 2 soft-capping of attention scores and of the logits (cap · tanh(x / cap)).</summary>
    public float AttnSoftcap { get; init; }
    public float FinalSoftcap { get; init; }
    /// <summary>Vocabulary padded to this size with filler pieces (0 = the ~500 pieces the tests need).</summary>
    public int VocabSize { get; init; }
    public string Bos { get; init; } = "<s>";
    public string Eos { get; init; } = "</s>";
    /// <summary>Control tokens after BOS/EOS (ids 3, 4, …): the chat template's markers.</summary>
    public IReadOnlyList<string> Controls { get; init; } = SpmVocab.ChatMlControls;
    public bool AddBos { get; init; } = true;
    public int Seed { get; init; } = 1;
    /// <summary>Store the matrices as F16 (norm weights stay F32).</summary>
    public bool F16 { get; init; }
    public string Name { get; init; } = "tiny-random-llama";
    public string? ChatTemplate { get; init; } = ChatMl;

    public const string ChatMl =
        "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}" +
        "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

    public int HeadDim => KeyLength ?? NEmbd / NHead;
    public string Architecture => TinyFamilies.Architecture(Family);
}

/// <summary>One block's weights, row-major [out, in] as ggml multiplies them (y = W x); family extras are null when absent.</summary>
public sealed record LlamaLayerWeights(
    float[] AttnNorm, float[] Wq, float[] Wk, float[] Wv, float[] Wo,
    float[] FfnNorm, float[] Gate, float[] Up, float[] Down)
{
    public float[]? Bq { get; init; }
    public float[]? Bk { get; init; }
    public float[]? Bv { get; init; }
    /// <summary>Gemma 2's norms of the attention output and of the FFN output (stored as llama.cpp multiplies them: HF weight + 1).</summary>
    public float[]? PostAttnNorm { get; init; }
    public float[]? PostFfnNorm { get; init; }
}

/// <summary>A random model's weights (already rounded to F16 where stored as F16) and vocabulary. Output is TokEmbd when tied.</summary>
public sealed record LlamaWeights(TinyLlamaSpec Spec, SpmVocab Vocab, float[] TokEmbd, LlamaLayerWeights[] Layers, float[] OutputNorm, float[] Output)
{
    /// <summary>Llama 3.1 rope frequency divisors [head_dim / 2], or null.</summary>
    public float[]? RopeFreqs { get; init; }
}

/// <summary>Makes and writes tiny random GGUF models of every <see cref="TinyFamily"/> with a valid SPM tokenizer (tests, benchmarks).</summary>
public static class TinyLlama
{
    public static LlamaWeights Create(TinyLlamaSpec spec)
    {
        if (spec.HeadDim % 2 != 0 || spec.NHead % spec.NHeadKv != 0 || (spec.KeyLength == null && spec.NEmbd % spec.NHead != 0))
            throw new ArgumentException("the head size must be even and n_head a multiple of n_head_kv");
        if (spec.Family == TinyFamily.Phi3 && spec.NHead * spec.HeadDim != spec.NEmbd)
            throw new ArgumentException("phi3 needs n_head × head size = n_embd");
        var rng = new Random(spec.Seed);
        var vocab = new SpmVocab(null, spec.Bos, spec.Eos, spec.Controls, spec.VocabSize);
        int d = spec.NEmbd, hd = spec.HeadDim, nq = spec.NHead * hd, nkv = spec.NHeadKv * hd, ff = spec.NFf, v = vocab.Count;
        float[] Mat(int rows, int cols, double std) => Round(Normal(rng, rows * cols, std), spec.F16);
        float[] Norm(int n) => Normal(rng, n, 0.1).Select(x => 1f + x).ToArray();
        float[] Bias(int n) => Normal(rng, n, 0.5);
        bool gemma = spec.Family == TinyFamily.Gemma2;
        // Gemma multiplies the embeddings by √d: smaller ones keep the residual stream near unit scale.
        var tok = Mat(v, d, gemma ? 1 / Math.Sqrt(d) : 1.0);
        var layers = new LlamaLayerWeights[spec.NLayer];
        for (int l = 0; l < spec.NLayer; l++)
        {
            double s = 1 / Math.Sqrt(d);
            var layer = new LlamaLayerWeights(
                Norm(d), Mat(nq, d, s), Mat(nkv, d, s), Mat(nkv, d, s), Mat(d, nq, 1 / Math.Sqrt(nq)),
                Norm(d), Mat(ff, d, s), Mat(ff, d, s), Mat(d, ff, 1 / Math.Sqrt(ff)));
            if (spec.QkvBias) layer = layer with { Bq = Bias(nq), Bk = Bias(nkv), Bv = Bias(nkv) };
            // A small post-FFN norm: llama.cpp's GELU rounds through f16, and where the float GELU lands on an f16
            // rounding boundary the reference may round the other way; a small FFN branch keeps that below 1e-4.
            if (gemma) layer = layer with { PostAttnNorm = Norm(d), PostFfnNorm = Norm(d).Select(x => 0.2f * x).ToArray() };
            layers[l] = layer;
        }
        var outNorm = Norm(d);
        var output = spec.TiedOutput ? tok : Mat(v, d, 3 / Math.Sqrt(d));
        float[]? ropeFreqs = spec.RopeFreqs ? Enumerable.Range(0, hd / 2).Select(_ => (float)(1 + 7 * rng.NextDouble())).ToArray() : null;
        return new LlamaWeights(spec, vocab, tok, layers, outNorm, output) { RopeFreqs = ropeFreqs };
    }

    public static LlamaWeights Write(string path, TinyLlamaSpec? spec = null)
    {
        var w = Create(spec ?? new TinyLlamaSpec());
        Write(path, w);
        return w;
    }

    /// <summary>Writes the model with the metadata keys and tensor names llama.cpp's converter writes for its family.</summary>
    public static void Write(string path, LlamaWeights w) => Writer(w).Save(path);

    /// <summary>The GGUF of <paramref name="w"/>, before saving (tests drop tensors or change keys on it).</summary>
    public static GgufWriter Writer(LlamaWeights w, Func<string, bool>? keepTensor = null)
    {
        var s = w.Spec;
        string a = s.Architecture;
        var g = new GgufWriter()
            .Add("general.architecture", a)
            .Add("general.name", s.Name)
            .Add("general.alignment", 32u)
            .Add($"{a}.context_length", (uint)s.ContextLength)
            .Add($"{a}.embedding_length", (uint)s.NEmbd)
            .Add($"{a}.block_count", (uint)s.NLayer)
            .Add($"{a}.feed_forward_length", (uint)s.NFf)
            .Add($"{a}.attention.head_count", (uint)s.NHead)
            .Add($"{a}.attention.head_count_kv", (uint)s.NHeadKv)
            .Add($"{a}.rope.dimension_count", (uint)s.HeadDim)
            .Add($"{a}.rope.freq_base", s.RopeBase)
            .Add($"{a}.attention.layer_norm_rms_epsilon", s.RmsEps)
            .Add($"{a}.vocab_size", (uint)w.Vocab.Count);
        if (s.KeyLength is int kl) g.Add($"{a}.attention.key_length", (uint)kl).Add($"{a}.attention.value_length", (uint)kl);
        if (s.SlidingWindow > 0) g.Add($"{a}.attention.sliding_window", (uint)s.SlidingWindow);
        if (s.AttnSoftcap > 0) g.Add($"{a}.attn_logit_softcapping", s.AttnSoftcap);
        if (s.FinalSoftcap > 0) g.Add($"{a}.final_logit_softcapping", s.FinalSoftcap);
        g.Add("tokenizer.ggml.model", "llama")
         .Add("tokenizer.ggml.tokens", w.Vocab.Tokens.ToArray())
         .Add("tokenizer.ggml.scores", w.Vocab.Scores.ToArray())
         .Add("tokenizer.ggml.token_type", w.Vocab.Types.ToArray())
         .Add("tokenizer.ggml.bos_token_id", (uint)w.Vocab.Bos)
         .Add("tokenizer.ggml.eos_token_id", (uint)w.Vocab.Eos)
         .Add("tokenizer.ggml.unknown_token_id", (uint)w.Vocab.Unk)
         .Add("tokenizer.ggml.add_bos_token", s.AddBos)
         .Add("tokenizer.ggml.add_eos_token", false);
        if (s.Family == TinyFamily.Gemma2) g.Add("tokenizer.ggml.add_space_prefix", false);
        if (s.ChatTemplate != null) g.Add("tokenizer.chat_template", s.ChatTemplate);

        int d = s.NEmbd, hd = s.HeadDim, nq = s.NHead * hd, nkv = s.NHeadKv * hd, v = w.Vocab.Count;
        bool f16 = s.F16;
        void T(string name, float[] data, int rows, int cols, bool half = false)
        {
            if (keepTensor == null || keepTensor(name)) g.AddTensor(name, data, rows, cols, half);
        }
        T("token_embd.weight", w.TokEmbd, v, d, f16);
        if (w.RopeFreqs != null) T("rope_freqs.weight", w.RopeFreqs, 1, hd / 2);
        for (int l = 0; l < s.NLayer; l++)
        {
            var L = w.Layers[l];
            string p = $"blk.{l}.";
            T(p + "attn_norm.weight", L.AttnNorm, 1, d);
            if (s.Family == TinyFamily.Phi3)
                T(p + "attn_qkv.weight", L.Wq.Concat(L.Wk).Concat(L.Wv).ToArray(), nq + 2 * nkv, d, f16);
            else
            {
                T(p + "attn_q.weight", L.Wq, nq, d, f16);
                T(p + "attn_k.weight", L.Wk, nkv, d, f16);
                T(p + "attn_v.weight", L.Wv, nkv, d, f16);
            }
            if (L.Bq != null)
            {
                T(p + "attn_q.bias", L.Bq, 1, nq);
                T(p + "attn_k.bias", L.Bk!, 1, nkv);
                T(p + "attn_v.bias", L.Bv!, 1, nkv);
            }
            T(p + "attn_output.weight", L.Wo, d, nq, f16);
            if (L.PostAttnNorm != null) T(p + "post_attention_norm.weight", L.PostAttnNorm, 1, d);
            T(p + "ffn_norm.weight", L.FfnNorm, 1, d);
            if (s.Family == TinyFamily.Phi3)
                T(p + "ffn_up.weight", L.Gate.Concat(L.Up).ToArray(), 2 * s.NFf, d, f16); // gate rows first: silu(first half) × second half
            else
            {
                T(p + "ffn_gate.weight", L.Gate, s.NFf, d, f16);
                T(p + "ffn_up.weight", L.Up, s.NFf, d, f16);
            }
            T(p + "ffn_down.weight", L.Down, d, s.NFf, f16);
            if (L.PostFfnNorm != null) T(p + "post_ffw_norm.weight", L.PostFfnNorm, 1, d);
        }
        T("output_norm.weight", w.OutputNorm, 1, d);
        if (!s.TiedOutput) T("output.weight", w.Output, v, d, f16);
        return g;
    }

    static float[] Normal(Random rng, int n, double std)
    {
        var a = new float[n];
        for (int i = 0; i < n; i++)
        {
            double u1 = 1.0 - rng.NextDouble(), u2 = rng.NextDouble();
            a[i] = (float)(std * Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2));
        }
        return a;
    }

    static float[] Round(float[] a, bool f16)
    {
        if (f16) for (int i = 0; i < a.Length; i++) a[i] = (float)(Half)a[i];
        return a;
    }
}
