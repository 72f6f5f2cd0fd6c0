using System.Runtime.InteropServices;
using SaeGuard.Common;
using SaeGuard.IO;

namespace SaeGuard.Probes;

/// <summary>The three fitted probes' weights in probe_weights.safetensors ({kind}_mean, _scale, _w, _b).</summary>
public static class ProbeWeights
{
    public static void Write(string path, IReadOnlyDictionary<string, LinearProbe> probes)
    {
        var w = new SafeTensorsWriter();
        foreach (var (kind, p) in probes.OrderBy(k => k.Key))
        {
            w.AddF32($"{kind}_mean", p.Standardizer.Mean, p.Width);
            w.AddF32($"{kind}_scale", p.Standardizer.Scale, p.Width);
            w.Add($"{kind}_w", DType.F64, new long[] { p.Width }, MemoryMarshal.AsBytes(p.W.AsSpan()).ToArray());
            w.Add($"{kind}_b", DType.F64, new long[] { 1 }, BitConverter.GetBytes(p.B));
        }
        using var fs = File.Create(path);
        w.WriteTo(fs);
    }

    public static LinearProbe Read(string path, string kind, int width, double? c)
    {
        try
        {
            using var r = new SafeTensorsReader(path);
            float[] F32(string name)
            {
                var t = r.Tensors.TryGetValue(name, out var ti) ? ti : throw new UserError($"'{path}' has no tensor '{name}'.");
                if (t.Elements != width) throw new UserError($"'{path}': tensor '{name}' has {t.Elements} values, expected {width}.");
                return r.ReadFloats(name);
            }
            double[] F64(string name, int n)
            {
                var t = r.Tensors.TryGetValue(name, out var ti) ? ti : throw new UserError($"'{path}' has no tensor '{name}'.");
                if (t.DType != DType.F64 || t.Elements != n) throw new UserError($"'{path}': tensor '{name}' should be F64 [{n}].");
                return MemoryMarshal.Cast<byte, double>(r.ReadBytes(name)).ToArray();
            }
            var std = new Standardizer(F32($"{kind}_mean"), F32($"{kind}_scale"));
            return new LinearProbe(std, F64($"{kind}_w", width), F64($"{kind}_b", 1)[0], c ?? 1.0);
        }
        catch (InvalidDataException e) { throw new UserError($"'{path}' is damaged: {e.Message}"); }
    }
}
