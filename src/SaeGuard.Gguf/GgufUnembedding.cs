using System.Runtime.InteropServices;
using SaeGuard.Common;
using SaeGuard.Features;

namespace SaeGuard.Gguf;

/// <summary>
/// Reads a GGUF model's output matrix (output.weight, or token_embd.weight when the head is tied)
/// and its vocabulary (tokenizer.ggml.tokens) for the feature dashboard's logit lens. Straight from
/// the file, no native code: F32, F16 and BF16 tensors only; a quantised head is refused by name.
/// </summary>
public static class GgufUnembedding
{
    public static Unembedding Read(string path)
    {
        var f = GgufFile.Read(path);
        var t = f.Tensors.FirstOrDefault(x => x.Name == "output.weight") ?? f.Tensors.FirstOrDefault(x => x.Name == "token_embd.weight")
            ?? throw new UserError($"'{path}' has neither output.weight nor token_embd.weight: no unembedding for the logit lens.");
        if (t.Shape.Length != 2) throw new UserError($"'{path}': {t.Name} is [{string.Join(",", t.Shape)}], expected [d_model, vocab].");
        int d = checked((int)t.Shape[0]), vocab = checked((int)t.Shape[1]);
        int es = t.Type switch { GgmlTypes.F32 => 4, GgmlTypes.F16 or 30 => 2, _ => 0 };
        if (es == 0)
            throw new UserError($"'{path}': {t.Name} is {GgmlTypes.Name(t.Type)}; the logit lens reads f32, f16 or bf16 output matrices (use an unquantised or q8-free export of the model).");
        var raw = new byte[(long)d * vocab * es];
        using (var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read))
        {
            fs.Seek(f.DataOffset + t.Offset, SeekOrigin.Begin);
            fs.ReadExactly(raw);
        }
        var w = new float[(long)d * vocab];
        if (t.Type == GgmlTypes.F32) Buffer.BlockCopy(raw, 0, w, 0, raw.Length);
        else if (t.Type == GgmlTypes.F16) { var h = MemoryMarshal.Cast<byte, Half>(raw); for (int i = 0; i < w.Length; i++) w[i] = (float)h[i]; }
        else { var b = MemoryMarshal.Cast<byte, ushort>(raw); for (int i = 0; i < w.Length; i++) w[i] = BitConverter.Int32BitsToSingle(b[i] << 16); }
        var tokens = f.Metadata.TryGetValue("tokenizer.ggml.tokens", out var v) && v is GgufArray { Values: { } vals }
            ? vals.Select(o => o as string ?? "").ToArray() : Array.Empty<string>();
        return new Unembedding(w, vocab, d, tokens, Path.GetFullPath(path));
    }
}
