using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using SaeGuard.Common;

namespace SaeGuard.Models;

/// <summary>
/// The extra inputs of an exported decoder LLM, fed for a fresh forward pass: <c>position_ids</c> as
/// Hugging Face computes them from the attention mask (cumulative count − 1, pads set to 1, so left or
/// right padding gives every real token its true position), an empty cache for every
/// <c>past_key_values.*</c> / <c>past.*</c> input ([batch, kv_heads, 0, head_dim], the fixed dims read
/// from the graph), and <c>use_cache_branch</c> = false for merged exports.
/// </summary>
public sealed class DecoderInputs
{
    static readonly string[] Known = { "input_ids", "attention_mask", "token_type_ids" };

    readonly bool _positions;
    readonly List<(string Name, int[] Dims, TensorElementType Type)> _past = new();
    readonly string? _cacheBranch;

    DecoderInputs(bool positions, string? cacheBranch) { _positions = positions; _cacheBranch = cacheBranch; }

    public bool IsEmpty => !_positions && _past.Count == 0 && _cacheBranch == null;

    public static DecoderInputs Plan(IReadOnlyDictionary<string, NodeMetadata> inputs, string modelName)
    {
        var plan = new DecoderInputs(inputs.ContainsKey("position_ids"), inputs.ContainsKey("use_cache_branch") ? "use_cache_branch" : null);
        foreach (var (name, meta) in inputs)
        {
            if (Known.Contains(name) || name is "position_ids" or "use_cache_branch") continue;
            if (!name.StartsWith("past", StringComparison.Ordinal))
                throw new UserError($"Model '{modelName}' has an input '{name}' SaeGuard does not know how to feed (it feeds input_ids, attention_mask, token_type_ids, position_ids, past_key_values.* and use_cache_branch).");
            var dims = meta.Dimensions;
            if (dims.Length != 4 || dims[1] <= 0 || dims[3] <= 0)
                throw new UserError($"Model '{modelName}': cache input '{name}' has shape [{string.Join(", ", meta.SymbolicDimensions.Zip(dims, (s, d) => d > 0 ? d.ToString() : s))}]; expected [batch, kv_heads, past_length, head_dim] with fixed kv_heads and head_dim.");
            if (meta.ElementDataType is not (TensorElementType.Float or TensorElementType.Float16))
                throw new UserError($"Model '{modelName}': cache input '{name}' is {meta.ElementDataType}; float32 and float16 caches are supported.");
            plan._past.Add((name, dims, meta.ElementDataType));
        }
        return plan;
    }

    /// <summary>HF position ids for a [b, t] mask: cumsum(mask) − 1, and 1 where masked.</summary>
    public static long[] PositionIds(long[] mask, int b, int t)
    {
        var pos = new long[b * t];
        for (int i = 0; i < b; i++)
        {
            long c = 0;
            for (int j = 0; j < t; j++)
            {
                c += mask[i * t + j];
                pos[i * t + j] = mask[i * t + j] == 0 ? 1 : c - 1;
            }
        }
        return pos;
    }

    public void Add(List<string> names, List<OrtValue> values, long[] mask, int b, int t, bool int32)
    {
        if (_positions)
        {
            var pos = PositionIds(mask, b, t);
            names.Add("position_ids");
            values.Add(int32 ? OrtValue.CreateTensorValueFromMemory(Array.ConvertAll(pos, v => (int)v), new long[] { b, t })
                             : OrtValue.CreateTensorValueFromMemory(pos, new long[] { b, t }));
        }
        foreach (var (name, dims, type) in _past)
        {
            var shape = new long[] { b, dims[1], 0, dims[3] };
            names.Add(name);
            values.Add(type == TensorElementType.Float16
                ? OrtValue.CreateTensorValueFromMemory(Array.Empty<Float16>(), shape)
                : OrtValue.CreateTensorValueFromMemory(Array.Empty<float>(), shape));
        }
        if (_cacheBranch != null)
        {
            names.Add(_cacheBranch);
            values.Add(OrtValue.CreateTensorValueFromMemory(new[] { false }, new long[] { 1 }));
        }
    }
}
