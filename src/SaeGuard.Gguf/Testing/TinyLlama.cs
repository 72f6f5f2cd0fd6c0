namespace SaeGuard.Gguf.Testing;

/// <summary>Shape and seed of a random llama-architecture model written by <see cref="TinyLlama"/>.</summary>
public sealed record TinyLlamaSpec
{
    public int NEmbd { get; init; } = 64;
    public int NLayer { get; init; } = 4;
    public int NHead { get; init; } = 4;
    public int NHeadKv { get; init; } = 2;
    public int NFf { get; init; } = 128;
    public int ContextLength { get; init; } = 512;
    public float RopeBase { get; init; } = 10000f;
    public float RmsEps { get; init; } = 1e-5f;
    public int Seed { get; init; } = 1;
    /// <summary>Store the matrices as F16 (norm weights stay F32).</summary>
    public bool F16 { get; init; }
    public string Name { get; init; } = "tiny-random-llama";
    public string? ChatTemplate { get; init; } = ChatMl;

    public const string ChatMl =
        "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}" +
        "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

    public int HeadDim => NEmbd / NHead;
}

/// <summary>One block's weights, row-major [out, in] as ggml multiplies them (y = W x).</summary>
public sealed record LlamaLayerWeights(
    float[] AttnNorm, float[] Wq, float[] Wk, float[] Wv, float[] Wo,
    float[] FfnNorm, float[] Gate, float[] Up, float[] Down);

/// <summary>A random llama model's weights (already rounded to F16 where stored as F16) and vocabulary.</summary>
public sealed record LlamaWeights(TinyLlamaSpec Spec, SpmVocab Vocab, float[] TokEmbd, LlamaLayerWeights[] Layers, float[] OutputNorm, float[] Output);

/// <summary>Makes and writes tiny random llama-architecture GGUF models with a valid SPM tokenizer (tests, benchmarks).</summary>
public static class TinyLlama
{
    public static LlamaWeights Create(TinyLlamaSpec spec)
    {
        if (spec.NEmbd % spec.NHead != 0 || spec.NHead % spec.NHeadKv != 0 || spec.HeadDim % 2 != 0)
            throw new ArgumentException("n_embd must split into an even head size and n_head must be a multiple of n_head_kv");
        var rng = new Random(spec.Seed);
        var vocab = new SpmVocab();
        int d = spec.NEmbd, hd = spec.HeadDim, nq = spec.NHead * hd, nkv = spec.NHeadKv * hd, ff = spec.NFf, v = vocab.Count;
        float[] Mat(int rows, int cols, double std) => Round(Normal(rng, rows * cols, std), spec.F16);
        float[] Norm(int n) => Normal(rng, n, 0.1).Select(x => 1f + x).ToArray();
        var tok = Mat(v, d, 1.0);
        var layers = new LlamaLayerWeights[spec.NLayer];
        for (int l = 0; l < spec.NLayer; l++)
        {
            double s = 1 / Math.Sqrt(d);
            layers[l] = new LlamaLayerWeights(
                Norm(d), Mat(nq, d, s), Mat(nkv, d, s), Mat(nkv, d, s), Mat(d, nq, 1 / Math.Sqrt(nq)),
                Norm(d), Mat(ff, d, s), Mat(ff, d, s), Mat(d, ff, 1 / Math.Sqrt(ff)));
        }
        var outNorm = Norm(d);
        var output = Mat(v, d, 3 / Math.Sqrt(d));
        return new LlamaWeights(spec, vocab, tok, layers, outNorm, output);
    }

    public static LlamaWeights Write(string path, TinyLlamaSpec? spec = null)
    {
        var w = Create(spec ?? new TinyLlamaSpec());
        Write(path, w);
        return w;
    }

    public static void Write(string path, LlamaWeights w)
    {
        var s = w.Spec;
        var g = new GgufWriter()
            .Add("general.architecture", "llama")
            .Add("general.name", s.Name)
            .Add("general.alignment", 32u)
            .Add("llama.context_length", (uint)s.ContextLength)
            .Add("llama.embedding_length", (uint)s.NEmbd)
            .Add("llama.block_count", (uint)s.NLayer)
            .Add("llama.feed_forward_length", (uint)s.NFf)
            .Add("llama.attention.head_count", (uint)s.NHead)
            .Add("llama.attention.head_count_kv", (uint)s.NHeadKv)
            .Add("llama.rope.dimension_count", (uint)s.HeadDim)
            .Add("llama.rope.freq_base", s.RopeBase)
            .Add("llama.attention.layer_norm_rms_epsilon", s.RmsEps)
            .Add("llama.vocab_size", (uint)w.Vocab.Count)
            .Add("tokenizer.ggml.model", "llama")
            .Add("tokenizer.ggml.tokens", w.Vocab.Tokens.ToArray())
            .Add("tokenizer.ggml.scores", w.Vocab.Scores.ToArray())
            .Add("tokenizer.ggml.token_type", w.Vocab.Types.ToArray())
            .Add("tokenizer.ggml.bos_token_id", (uint)w.Vocab.Bos)
            .Add("tokenizer.ggml.eos_token_id", (uint)w.Vocab.Eos)
            .Add("tokenizer.ggml.unknown_token_id", (uint)w.Vocab.Unk)
            .Add("tokenizer.ggml.add_bos_token", true)
            .Add("tokenizer.ggml.add_eos_token", false);
        if (s.ChatTemplate != null) g.Add("tokenizer.chat_template", s.ChatTemplate);
        int d = s.NEmbd, hd = s.HeadDim, nq = s.NHead * hd, nkv = s.NHeadKv * hd, v = w.Vocab.Count;
        g.AddTensor("token_embd.weight", w.TokEmbd, v, d, s.F16);
        for (int l = 0; l < s.NLayer; l++)
        {
            var L = w.Layers[l];
            g.AddTensor($"blk.{l}.attn_norm.weight", L.AttnNorm, 1, d)
             .AddTensor($"blk.{l}.attn_q.weight", L.Wq, nq, d, s.F16)
             .AddTensor($"blk.{l}.attn_k.weight", L.Wk, nkv, d, s.F16)
             .AddTensor($"blk.{l}.attn_v.weight", L.Wv, nkv, d, s.F16)
             .AddTensor($"blk.{l}.attn_output.weight", L.Wo, d, nq, s.F16)
             .AddTensor($"blk.{l}.ffn_norm.weight", L.FfnNorm, 1, d)
             .AddTensor($"blk.{l}.ffn_gate.weight", L.Gate, s.NFf, d, s.F16)
             .AddTensor($"blk.{l}.ffn_up.weight", L.Up, s.NFf, d, s.F16)
             .AddTensor($"blk.{l}.ffn_down.weight", L.Down, d, s.NFf, s.F16);
        }
        g.AddTensor("output_norm.weight", w.OutputNorm, 1, d)
         .AddTensor("output.weight", w.Output, v, d, s.F16);
        g.Save(path);
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
