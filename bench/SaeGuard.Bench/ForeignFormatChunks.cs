using SaeGuard.IO;
using SaeGuard.IO.Torch;

namespace SaeGuard.Bench;

/// <summary>
/// The analyze benchmark's matrix as one foreign chunk in each other format the seed's users hold:
/// torch .pt (torch.save layout), .npz stored (np.savez) and deflated (np.savez_compressed), and
/// safetensors; and the matrix itself when numpy is not there to make it.
/// </summary>
static class ForeignFormatChunks
{
    /// <summary>A C-order f32 .npy of ≈58% positive values in [0, 10) (seed 0), like the peer's generator.</summary>
    public static void MakeNpy(string path, int rows, int width)
    {
        var rng = new Random(0);
        var x = GC.AllocateUninitializedArray<float>(rows * width);
        for (int i = 0; i < x.Length; i++) x[i] = rng.NextDouble() < 0.58 ? (float)(rng.NextDouble() * 10) : 0f;
        NpyWriter.Write(path, x, rows, width);
    }

    /// <summary>Folders (label, dir) with the .npy's matrix as X_chunk0.{pt,npz,safetensors}; made once and kept.</summary>
    public static List<(string Label, string Dir)> Make(string npy, string work, int rows, int width)
    {
        var list = new List<(string, string)>
        {
            ("foreign .pt chunk", Path.Combine(work, $"pt_{rows}x{width}")),
            ("foreign .npz chunk (stored)", Path.Combine(work, $"npz_{rows}x{width}")),
            ("foreign .npz chunk (deflated)", Path.Combine(work, $"npzd_{rows}x{width}")),
            ("foreign safetensors chunk", Path.Combine(work, $"st_{rows}x{width}")),
        };
        if (list.All(l => Directory.Exists(l.Item2))) return list;
        Console.WriteLine("writing the matrix as .pt, .npz (stored, deflated) and safetensors chunks…");
        var a = NpyReader.Read(npy);
        var shape = a.Shape;
        void Chunk(string dir, string ext, Action<string> write)
        {
            if (Directory.Exists(dir)) return;
            var tmp = dir + ".tmp";
            Directory.CreateDirectory(tmp);
            write(Path.Combine(tmp, "X_chunk0" + ext));
            Directory.Move(tmp, dir);
        }
        Chunk(list[0].Item2, ".pt", p => TorchWriter.Save(p, new TorchTensorData("", DType.F32, shape, a.Data)));
        Chunk(list[1].Item2, ".npz", p => new NpzWriter().Add("feats", a).Save(p));
        Chunk(list[2].Item2, ".npz", p => new NpzWriter().Add("feats", a).Save(p, compress: true));
        Chunk(list[3].Item2, ".safetensors", p => new SafeTensorsWriter().Add("feats", DType.F32, shape, a.Data).Save(p));
        return list;
    }
}
