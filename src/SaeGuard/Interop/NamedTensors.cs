using SaeGuard.Common;
using SaeGuard.IO;
using SaeGuard.IO.Pickle;
using SaeGuard.IO.Torch;

namespace SaeGuard.Interop;

/// <summary>
/// The tensors of one weights file (.pt / .pth, .safetensors, .npz) by name, with the checks an
/// importer needs: presence, shape, and orientation of matrices.
/// </summary>
public sealed class NamedTensors
{
    public string Path { get; }
    public IReadOnlyDictionary<string, ITensorData> Tensors { get; }
    /// <summary>The unpickled tree of a .pt file (null for other formats), for metadata such as a config dict.</summary>
    public object? PickleRoot { get; }

    NamedTensors(string path, IReadOnlyDictionary<string, ITensorData> tensors, object? root)
    {
        Path = path; Tensors = tensors; PickleRoot = root;
    }

    public static NamedTensors Load(string path)
    {
        if (!File.Exists(path)) throw new UserError($"File not found: '{path}'.");
        try
        {
            var ext = System.IO.Path.GetExtension(path).ToLowerInvariant();
            switch (ext)
            {
                case ".safetensors":
                    {
                        using var r = new SafeTensorsReader(path);
                        return new NamedTensors(path, r.Tensors.Keys.ToDictionary(k => k, k => (ITensorData)r.ReadTensor(k)), null);
                    }
                case ".npz":
                    return new NamedTensors(path, NpzReader.ReadAll(path).ToDictionary(kv => kv.Key, kv => (ITensorData)kv.Value), null);
                case ".npy":
                    return new NamedTensors(path, new Dictionary<string, ITensorData> { [""] = NpyReader.Read(path) }, null);
                default:
                    {
                        var root = TorchPickleReader.Load(path);
                        var flat = TorchPickleReader.FlattenTensors(root).ToDictionary(kv => kv.Key, kv => (ITensorData)kv.Value);
                        return new NamedTensors(path, flat, root);
                    }
            }
        }
        catch (InvalidDataException e) { throw new UserError(e.Message, e); }
    }

    public bool Has(string name) => Tensors.ContainsKey(name);

    public ITensorData Get(string name) =>
        Tensors.TryGetValue(name, out var t) ? t
            : throw new UserError($"'{Path}' has no tensor '{name}' (it has: {string.Join(", ", Tensors.Keys.Take(40))}).");

    /// <summary>A 1-D tensor of <paramref name="length"/> values.</summary>
    public float[] Vector(string name, int length)
    {
        var t = Get(name);
        if (t.Elements() != length || t.Shape.Count(d => d != 1) > 1)
            throw new UserError($"'{Path}': tensor '{name}' is {t.ShapeText()}, expected [{length}].");
        return t.ToFloat32();
    }

    /// <summary>
    /// A 2-D tensor as row-major [rows, cols]; <paramref name="storedTransposed"/> means the file
    /// holds it as [cols, rows] (e.g. torch Linear weights, [out, in]).
    /// </summary>
    public float[] Matrix(string name, int rows, int cols, bool storedTransposed)
    {
        var t = Get(name);
        long[] want = storedTransposed ? new long[] { cols, rows } : new long[] { rows, cols };
        if (!t.Shape.SequenceEqual(want))
            throw new UserError($"'{Path}': tensor '{name}' is {t.ShapeText()}, expected [{want[0]},{want[1]}].");
        var v = t.ToFloat32();
        return storedTransposed ? Transpose(v, cols, rows) : v;
    }

    public static float[] Transpose(float[] v, int rows, int cols)
    {
        var r = new float[v.Length];
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < cols; j++) r[j * rows + i] = v[i * cols + j];
        return r;
    }

    /// <summary>A value from the pickled tree by dotted path of dict keys ("config.k"), or null.</summary>
    public object? PickleValue(string dotted)
    {
        object? node = PickleRoot;
        foreach (var part in dotted.Split('.'))
        {
            if (node is not PyDict d || !d.TryGetValue(part, out node)) return null;
        }
        return node;
    }
}
