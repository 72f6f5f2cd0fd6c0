using System.Buffers.Binary;
using System.Diagnostics;
using SaeGuard.Common;

namespace SaeGuard.IO.Fuzzing;

/// <summary>
/// One parser under fuzzing: seed files (real fixtures) and a parse that reads everything and
/// returns a digest of what it read (names, shapes, values), so a mutant's result can be compared
/// with the original's.
/// </summary>
public sealed record FuzzTarget(string Name, string Extension, IReadOnlyList<byte[]> Seeds, Func<string, string> Parse)
{
    /// <summary>Mutates only part of each seed (e.g. the pickle inside a .pt); default: the whole file.</summary>
    public Func<byte[], Func<byte[], byte[]>, byte[]>? MutateInside { get; init; }
}

/// <summary>Outcome counts and the worst case of one target's run.</summary>
public sealed record FuzzReport(string Target, int Cases, int Refused, int ParsedEqual, int ParsedDifferent,
    double MaxCaseSeconds, long MaxCaseAllocatedBytes, double TotalSeconds, IReadOnlyList<string> Failures)
{
    public bool Ok => Failures.Count == 0;
    public override string ToString() =>
        $"{Target}: {Cases:N0} cases, {Refused:N0} refused, {ParsedEqual:N0} parsed equal, {ParsedDifferent:N0} parsed different; " +
        $"worst case {MaxCaseSeconds * 1000:F1} ms, {MaxCaseAllocatedBytes / 1048576.0:F1} MiB allocated; {TotalSeconds:F1} s; {Failures.Count} failures";
}

/// <summary>
/// Seeded mutation fuzzing that can fail: each case must finish within a time limit, allocate
/// less than a memory limit, and either parse or be refused with <see cref="InvalidDataException"/>
/// / <see cref="UserError"/> (anything else is a failure, reported with the input in base64).
/// Mutations: bit flips, boundary bytes, truncation, length-field inflation, nesting (repeated
/// openers), duplicated runs (duplicate keys, shared subtrees) and deleted runs.
/// </summary>
public static class ParserFuzzer
{
    static readonly byte[] Interesting = { 0x00, 0xff, 0x7f, 0x80, 0x01, 0xfe, (byte)'(', (byte)'.', (byte)'}', (byte)'"', (byte)'9', (byte)'-', (byte)'[', (byte)',' };
    static readonly byte[] Openers = { (byte)'(', (byte)'[', (byte)'{', (byte)'}', (byte)']', 0x85, 0x86, (byte)'2', (byte)'"' };

    public static byte[] Mutate(byte[] src, Random rng)
    {
        var b = new List<byte>(src);
        int edits = 1 + rng.Next(4);
        for (int e = 0; e < edits && b.Count > 0; e++)
        {
            int at = rng.Next(b.Count);
            switch (rng.Next(9))
            {
                case 0: b[at] ^= (byte)(1 << rng.Next(8)); break;
                case 1: b[at] = Interesting[rng.Next(Interesting.Length)]; break;
                case 2: b.RemoveRange(at, Math.Min(b.Count - at, 1 + rng.Next(16))); break;
                case 3: b.RemoveRange(at, b.Count - at); break; // truncation
                case 4: // length-field inflation: a plausible little-endian size made huge or off by a little
                    {
                        int w = rng.Next(2) == 0 ? 4 : 8;
                        if (at + w > b.Count) break;
                        var span = new byte[w];
                        b.CopyTo(at, span, 0, w);
                        ulong v = w == 4 ? BinaryPrimitives.ReadUInt32LittleEndian(span) : BinaryPrimitives.ReadUInt64LittleEndian(span);
                        v = rng.Next(3) switch { 0 => v * (ulong)(2 + rng.Next(1000)), 1 => v + (ulong)rng.Next(1, 64), _ => w == 4 ? uint.MaxValue - (ulong)rng.Next(8) : long.MaxValue - (ulong)rng.Next(8) };
                        if (w == 4) BinaryPrimitives.WriteUInt32LittleEndian(span, (uint)v); else BinaryPrimitives.WriteUInt64LittleEndian(span, v);
                        for (int i = 0; i < w; i++) b[at + i] = span[i];
                        break;
                    }
                case 5: // nesting: a run of openers
                    {
                        byte o = Openers[rng.Next(Openers.Length)];
                        b.InsertRange(at, Enumerable.Repeat(o, 1 + rng.Next(rng.Next(2) == 0 ? 64 : 4096)));
                        break;
                    }
                case 6: // a duplicated run right after itself (duplicate keys / records)
                    {
                        int len = Math.Min(b.Count - at, 1 + rng.Next(64));
                        b.InsertRange(at + len, b.GetRange(at, len));
                        break;
                    }
                case 7: // shared subtrees: one run copied many times
                    {
                        int len = Math.Min(b.Count - at, 1 + rng.Next(8));
                        var run = b.GetRange(at, len);
                        int times = 2 + rng.Next(200);
                        for (int t = 0; t < times; t++) b.InsertRange(at, run);
                        break;
                    }
                default: b.InsertRange(at, b.Skip(rng.Next(b.Count)).Take(1 + rng.Next(16)).ToList()); break;
            }
        }
        return b.ToArray();
    }

    /// <summary>Runs <paramref name="cases"/> mutants of the target's seeds through its parser in <paramref name="workDir"/>.</summary>
    public static FuzzReport Run(FuzzTarget t, int cases, int seed, string workDir, TimeSpan perCase, long maxBytes, int maxFailures = 5)
    {
        Directory.CreateDirectory(workDir);
        var path = Path.Combine(workDir, "fuzz-" + t.Name + t.Extension);
        var originals = new List<string?>();
        var failures = new List<string>();
        foreach (var s in t.Seeds)
        {
            File.WriteAllBytes(path, s);
            var (o, digest, error, _, _) = Once(t, path, perCase);
            if (o is Outcome.Crashed or Outcome.Hang)
                failures.Add($"{t.Name} seed {originals.Count}: {error ?? "hang"}; input (base64): {Convert.ToBase64String(s.Length <= 4096 ? s : s[..4096])}");
            originals.Add(digest);
        }
        var rng = new Random(seed);
        int refused = 0, equal = 0, different = 0;
        double maxSec = 0;
        long maxAlloc = 0;
        var total = Stopwatch.StartNew();
        for (int i = 0; i < cases && failures.Count < maxFailures; i++)
        {
            int which = i % t.Seeds.Count;
            var input = t.MutateInside is { } inside ? inside(t.Seeds[which], x => Mutate(x, rng)) : Mutate(t.Seeds[which], rng);
            File.WriteAllBytes(path, input);
            var (outcome, digest, error, seconds, allocated) = Once(t, path, perCase);
            double firstSeconds = seconds;
            // A slow case is timed again: a parser that loops is slow every time, a pause of a
            // loaded machine (GC, JIT, another process) is not.
            if (outcome is Outcome.Parsed or Outcome.Refused && seconds > perCase.TotalSeconds)
                seconds = Math.Min(seconds, Once(t, path, perCase).Seconds);
            maxSec = Math.Max(maxSec, seconds);
            maxAlloc = Math.Max(maxAlloc, allocated);
            string Case() => $"{t.Name} case {i} (seed {seed})";
            string Input() => input.Length <= 4096 ? $"input (base64): {Convert.ToBase64String(input)}" : $"input: {input.Length:N0} bytes";
            switch (outcome)
            {
                case Outcome.Refused: refused++; break;
                case Outcome.Parsed when digest == originals[which]: equal++; break;
                case Outcome.Parsed: different++; break;
                case Outcome.Hang: failures.Add($"{Case()}: no answer after {perCase.TotalSeconds * 10:F0} s (hang); {Input()}"); return Report();
                default: failures.Add($"{Case()}: {error}; {Input()}"); break;
            }
            if (outcome is Outcome.Parsed or Outcome.Refused && seconds > perCase.TotalSeconds)
                failures.Add($"{Case()}: took {firstSeconds:F2} s, then {seconds:F2} s timed again, over the {perCase.TotalSeconds:F1} s limit; {Input()}");
            if (allocated > maxBytes)
                failures.Add($"{Case()}: allocated {allocated / 1048576.0:F0} MiB, over the {maxBytes / 1048576.0:F0} MiB limit; {Input()}");
        }
        return Report();

        FuzzReport Report() => new(t.Name, refused + equal + different + failures.Count, refused, equal, different, maxSec, maxAlloc, total.Elapsed.TotalSeconds, failures);
    }

    enum Outcome { Parsed, Refused, Crashed, Hang }

    /// <summary>One parse on a worker thread, so that a hang is reported instead of hanging the run.</summary>
    static (Outcome Outcome, string? Digest, string? Error, double Seconds, long Allocated) Once(FuzzTarget t, string path, TimeSpan perCase)
    {
        Outcome outcome = Outcome.Hang;
        string? digest = null, error = null;
        double seconds = 0;
        long allocated = 0;
        var worker = new Thread(() =>
        {
            long a0 = GC.GetAllocatedBytesForCurrentThread();
            var sw = Stopwatch.StartNew();
            try { digest = t.Parse(path); outcome = Outcome.Parsed; }
            catch (Exception e) when (e is InvalidDataException or UserError) { outcome = Outcome.Refused; }
            catch (Exception e) { outcome = Outcome.Crashed; error = $"{e.GetType().Name}: {e.Message}"; }
            seconds = sw.Elapsed.TotalSeconds;
            allocated = GC.GetAllocatedBytesForCurrentThread() - a0;
        }, 16 << 20) { IsBackground = true };
        worker.Start();
        if (!worker.Join(perCase * 10)) return (Outcome.Hang, null, null, perCase.TotalSeconds * 10, 0);
        return (outcome, digest, error, seconds, allocated);
    }

    /// <summary>A digest of tensors by name: dtype, shape and a hash of the bytes.</summary>
    public static string Digest(IEnumerable<(string Name, ITensorData T)> tensors) =>
        string.Join(";", tensors.Select(x => $"{x.Name}:{x.T.DType}[{string.Join(",", x.T.Shape)}]={Hashing.Sha256(x.T.ToContiguousBytes())}"));
}
