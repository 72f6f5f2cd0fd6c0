using System.Diagnostics;
using SaeGuard.IO;
using SaeGuard.IO.Torch;
using SaeGuard.Tests.Infrastructure;
using static SaeGuard.Tests.Interop.InteropFixtures;

namespace SaeGuard.Tests.Interop;

/// <summary>
/// Seeded mutation fuzzing of every parser: thousands of corrupted copies of real fixtures
/// (bit flips, byte overwrites with boundary values, truncation, duplicated and deleted runs).
/// Each must either parse or fail with InvalidDataException — no other exception, no hang,
/// no huge allocation. Deterministic: same seed, same inputs.
/// </summary>
public class FuzzTests
{
    const int Cases = 2000;

    static readonly byte[] Interesting = { 0x00, 0xff, 0x7f, 0x80, 0x01, 0xfe, (byte)'(', (byte)'.', (byte)'}', (byte)'"', (byte)'9', (byte)'-' };

    static byte[] Mutate(byte[] src, Random rng)
    {
        var b = new List<byte>(src);
        int edits = 1 + rng.Next(4);
        for (int e = 0; e < edits && b.Count > 0; e++)
        {
            int at = rng.Next(b.Count);
            switch (rng.Next(6))
            {
                case 0: b[at] ^= (byte)(1 << rng.Next(8)); break;
                case 1: b[at] = Interesting[rng.Next(Interesting.Length)]; break;
                case 2: b.RemoveRange(at, Math.Min(b.Count - at, 1 + rng.Next(16))); break;
                case 3: b.InsertRange(at, b.Skip(rng.Next(b.Count)).Take(1 + rng.Next(16)).ToList()); break;
                case 4: b.RemoveRange(at, b.Count - at); break;
                default: for (int i = 0; i < 4 && at + i < b.Count; i++) b[at + i] = 0xff; break;
            }
        }
        return b.ToArray();
    }

    static void Fuzz(string[] seeds, int seed, string ext, Action<string> parse)
    {
        var rng = new Random(seed);
        var inputs = seeds.Select(System.IO.File.ReadAllBytes).ToArray();
        using var tmp = new TempDir();
        var path = tmp["fuzz" + ext];
        var sw = Stopwatch.StartNew();
        int parsed = 0, refused = 0;
        for (int i = 0; i < Cases; i++)
        {
            var input = Mutate(inputs[i % inputs.Length], rng);
            System.IO.File.WriteAllBytes(path, input);
            try { parse(path); parsed++; }
            catch (InvalidDataException) { refused++; }
            catch (Exception e)
            {
                Assert.Fail($"case {i} (seed {seed}): {e.GetType().Name}: {e.Message}\ninput (base64): {Convert.ToBase64String(input)}");
            }
        }
        Assert.Equal(Cases, parsed + refused);
        Assert.True(refused > Cases / 10, $"only {refused} of {Cases} mutants were refused: the mutator is not reaching the checks");
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(60), $"fuzzing took {sw.Elapsed}");
    }

    static void ReadEverything(ITensorData t) => t.ToContiguousBytes();

    [Fact]
    public void Npy() => Fuzz(
        new[] { "f4", "i8_fortran_3d", "b1", "f4_v3", "f2" }.Select(n => File("numpy", n + ".npy")).ToArray(), 11, ".npy",
        p => ReadEverything(NpyReader.Read(p)));

    [Fact]
    public void Npz() => Fuzz(new[] { File("numpy", "stored.npz"), File("numpy", "deflated.npz") }, 12, ".npz", p =>
    {
        using var r = NpzReader.Open(p, new ReadLimits { MaxEntryBytes = 1 << 20 });
        foreach (var k in r.Keys) ReadEverything(r.Read(k));
    });

    [Fact]
    public void SafeTensors() => Fuzz(new[] { File("safetensors", "all_dtypes.safetensors"), File("sae", "saelens_topk", "sae_weights.safetensors") }, 13, ".safetensors", p =>
    {
        using var r = new SafeTensorsReader(p);
        foreach (var k in r.Tensors.Keys) ReadEverything(r.ReadTensor(k));
    });

    [Fact]
    public void TorchPt() => Fuzz(
        new[] { "dict_f16_meta", "state_dict", "view_offset", "dtypes" }.Select(n => File("torch", n + ".pt")).ToArray(), 14, ".pt", p =>
        {
            foreach (var t in TorchPickleReader.FlattenTensors(TorchPickleReader.Load(p, new ReadLimits { MaxEntryBytes = 1 << 20 })).Values)
                ReadEverything(t);
        });

    /// <summary>Mutates only the pickle inside a valid zip, so the unpickler itself is fuzzed.</summary>
    [Fact]
    public void TorchPickleStream()
    {
        var rng = new Random(15);
        var sources = new[] { "dict_f16_meta", "state_dict", "view_offset", "dtypes" }
            .Select(n => (Name: n, Bytes: System.IO.File.ReadAllBytes(File("torch", n + ".pt")))).ToArray();
        using var tmp = new TempDir();
        int refused = 0;
        for (int i = 0; i < Cases; i++)
        {
            var (name, bytes) = sources[i % sources.Length];
            var path = tmp[$"p{i % 4}.pt"];
            byte[]? mutated = null;
            TorchZip.Rewrite(bytes, path, (entry, data) => entry.EndsWith("data.pkl") ? mutated = Mutate(data, rng) : data);
            try
            {
                foreach (var t in TorchPickleReader.FlattenTensors(TorchPickleReader.Load(path)).Values) ReadEverything(t);
            }
            catch (InvalidDataException) { refused++; }
            catch (Exception e)
            {
                Assert.Fail($"case {i} ({name}): {e.GetType().Name}: {e.Message}\npickle (base64): {Convert.ToBase64String(mutated!)}");
            }
        }
        Assert.True(refused > Cases / 10);
    }
}
