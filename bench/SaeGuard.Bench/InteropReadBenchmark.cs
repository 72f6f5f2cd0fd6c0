using System.Diagnostics;
using SaeGuard.IO;
using SaeGuard.IO.Torch;

namespace SaeGuard.Bench;

/// <summary>
/// Read throughput of a [rows, 1024] float32 matrix (page cache warm) as .npy, safetensors
/// (read calls and memory-mapped) and torch .pt, next to numpy's np.load and
/// torch.load(weights_only=True) on the same files when Debian's python3-numpy/torch exist.
/// Args: [rows=65536].
/// </summary>
public sealed class InteropReadBenchmark : IBenchmark
{
    public string Name => "interop-read";
    public string Description => "npy / safetensors / .pt read throughput vs numpy and torch.load";

    public void Run(string[] args)
    {
        int rows = args.Length > 0 ? int.Parse(args[0]) : 65536, cols = 1024;
        var dir = Path.Combine(Path.GetTempPath(), "saeguard-bench-interop");
        Directory.CreateDirectory(dir);
        var data = new float[(long)rows * cols];
        var rng = new Random(0);
        for (long i = 0; i < data.Length; i++) data[i] = (float)rng.NextDouble();
        string npy = Path.Combine(dir, "x.npy"), st = Path.Combine(dir, "x.safetensors"), pt = Path.Combine(dir, "x.pt");
        NpyWriter.Write(npy, data, rows, cols);
        new SafeTensorsWriter().AddF32("x", data, rows, cols).Save(st);
        double mb = data.Length * 4.0 / (1 << 20);
        Console.WriteLine($"matrix [{rows}, {cols}] float32 = {mb:F0} MiB");
        bool havePt = RunPython($"import numpy as np, torch; torch.save(torch.from_numpy(np.load('{npy}')), '{pt}')", out _);
        Time("saeguard npy", mb, () => NpyReader.Read(npy).ToFloat32());
        Time("saeguard npy ReadFloat32", mb, () => NpyReader.ReadFloat32(npy).Data);
        Time("saeguard safetensors", mb, () => { using var r = new SafeTensorsReader(st); return r.ReadFloats("x"); });
        Time("saeguard safetensors mmap", mb, () => { using var r = SafeTensorsReader.OpenMapped(st); return r.ReadFloats("x"); });
        if (havePt) Time("saeguard torch .pt", mb, () => ((TorchTensor)TorchPickleReader.Load(pt)!).ToFloat32());
        Peer("numpy np.load", mb, $"np.load('{npy}')");
        if (havePt) Peer("torch.load weights_only", mb, $"torch.load('{pt}', weights_only=True).float()");
        Directory.Delete(dir, true);
    }

    static void Time(string what, double mb, Func<float[]> read)
    {
        read();
        var best = double.MaxValue;
        for (int i = 0; i < 5; i++)
        {
            var sw = Stopwatch.StartNew();
            var v = read();
            best = Math.Min(best, sw.Elapsed.TotalSeconds);
            GC.KeepAlive(v);
        }
        Console.WriteLine($"{what,-28} {best * 1000,8:F1} ms  {mb / best,8:F0} MiB/s (best of 5)");
    }

    static void Peer(string what, double mb, string expr)
    {
        var script = "import numpy as np, time\ntry:\n import torch\nexcept ImportError:\n pass\n" +
                     $"best = 1e9\nfor _ in range(6):\n t = time.perf_counter(); a = {expr}; best = min(best, time.perf_counter() - t)\nprint(best)";
        if (RunPython(script, out var output) && double.TryParse(output.Trim(), System.Globalization.CultureInfo.InvariantCulture, out var s))
            Console.WriteLine($"peer {what,-23} {s * 1000,8:F1} ms  {mb / s,8:F0} MiB/s (best of 6)");
        else Console.WriteLine($"peer {what}: not run (needs /usr/bin/python3 with numpy/torch)");
    }

    static bool RunPython(string script, out string stdout)
    {
        stdout = "";
        if (!File.Exists("/usr/bin/python3")) return false;
        var psi = new ProcessStartInfo("/usr/bin/python3") { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
        using var p = Process.Start(psi)!;
        p.StandardInput.Write(script);
        p.StandardInput.Close();
        stdout = p.StandardOutput.ReadToEnd();
        p.StandardError.ReadToEnd();
        p.WaitForExit();
        return p.ExitCode == 0;
    }
}
