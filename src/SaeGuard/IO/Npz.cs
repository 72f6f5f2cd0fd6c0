using System.IO.Compression;

namespace SaeGuard.IO;

/// <summary>
/// Reads numpy .npz archives (np.savez stored, np.savez_compressed deflated). Entry sizes are
/// checked against <see cref="ReadLimits"/> before unpacking, so a zip bomb is refused unread,
/// and each array is parsed from the inflating stream straight into its one buffer.
/// </summary>
public sealed class NpzReader : IDisposable
{
    readonly SafeZip _zip;
    readonly Dictionary<string, ZipArchiveEntry> _entries = new();
    public string Path { get; }
    /// <summary>Array names, without the ".npy" suffix, in archive order.</summary>
    public IReadOnlyList<string> Keys { get; }

    NpzReader(string path, SafeZip zip)
    {
        Path = path; _zip = zip;
        var keys = new List<string>();
        foreach (var e in zip.Entries)
        {
            if (e.FullName.EndsWith('/')) continue;
            var key = e.FullName.EndsWith(".npy", StringComparison.Ordinal) ? e.FullName[..^4] : e.FullName;
            if (_entries.TryAdd(key, e)) keys.Add(key);
            else throw new InvalidDataException($"'{path}' holds the array '{key}' twice.");
        }
        Keys = keys;
    }

    public static NpzReader Open(string path, ReadLimits? limits = null)
    {
        var zip = SafeZip.Open(path, limits);
        try { return new NpzReader(path, zip); }
        catch { zip.Dispose(); throw; }
    }

    /// <summary>All arrays of the archive by name.</summary>
    public static Dictionary<string, NpyArray> ReadAll(string path, ReadLimits? limits = null)
    {
        using var r = Open(path, limits);
        return r.Keys.ToDictionary(k => k, r.Read);
    }

    public bool Contains(string key) => _entries.ContainsKey(key);

    public NpyArray Read(string key)
    {
        if (!_entries.TryGetValue(key, out var e))
            throw new InvalidDataException($"'{Path}' has no array '{key}' (it has: {string.Join(", ", Keys)}).");
        return _zip.ReadStreamed(e, (s, length) => NpyReader.Read(s, $"'{Path}' array '{key}'", length));
    }

    /// <summary>An array's header only (a compressed member inflates just its first bytes).</summary>
    public NpyHeader Header(string key)
    {
        using var s = OpenArray(key, out var h);
        return h;
    }

    /// <summary>
    /// An array as a stream positioned at its first data byte, with its header: the data can be
    /// read block by block (inflating as it goes) instead of whole. Dispose the stream when done.
    /// </summary>
    public Stream OpenArray(string key, out NpyHeader header)
    {
        if (!_entries.TryGetValue(key, out var e))
            throw new InvalidDataException($"'{Path}' has no array '{key}' (it has: {string.Join(", ", Keys)}).");
        var s = _zip.OpenChecked(e);
        try
        {
            var where = $"'{Path}' array '{key}'";
            try { header = NpyReader.ReadHeader(s, where, e.Length); }
            catch (EndOfStreamException) { throw new InvalidDataException($"{where}: the member ends inside its .npy header."); }
            return s;
        }
        catch { s.Dispose(); throw; }
    }

    public void Dispose() => _zip.Dispose();
}

/// <summary>Collects named arrays and writes an .npz archive atomically (what np.load reads).</summary>
public sealed class NpzWriter
{
    readonly List<(string Name, ITensorData Array)> _arrays = new();

    public NpzWriter Add(string name, ITensorData array)
    {
        if (string.IsNullOrEmpty(name) || name.Contains('/')) throw new ArgumentException($"bad array name '{name}'.");
        if (_arrays.Any(a => a.Name == name)) throw new ArgumentException($"array '{name}' added twice.");
        _arrays.Add((name, array));
        return this;
    }

    // Without a shape, the array is 1-D.
    public NpzWriter Add(string name, float[] data, params long[] shape) => Add(name, DenseTensor.FromFloat32(data, OrFlat(shape, data.Length)));
    public NpzWriter Add(string name, double[] data, params long[] shape) => Add(name, DenseTensor.FromFloat64(data, OrFlat(shape, data.Length)));
    public NpzWriter Add(string name, long[] data, params long[] shape) => Add(name, DenseTensor.FromInt64(data, OrFlat(shape, data.Length)));
    public NpzWriter Add(string name, int[] data, params long[] shape) => Add(name, DenseTensor.FromInt32(data, OrFlat(shape, data.Length)));
    public NpzWriter Add(string name, bool[] data, params long[] shape) => Add(name, DenseTensor.FromBool(data, OrFlat(shape, data.Length)));

    static long[] OrFlat(long[] shape, int length) => shape.Length == 0 ? new long[] { length } : shape;

    /// <param name="path">The .npz file (written atomically).</param>
    /// <param name="compress">Deflate the entries (np.savez_compressed); otherwise stored (np.savez).</param>
    public void Save(string path, bool compress = false) => Common.AtomicFile.Write(path, s => WriteTo(s, compress));

    public void WriteTo(Stream s, bool compress = false)
    {
        using var zip = new ZipArchive(s, ZipArchiveMode.Create, leaveOpen: true);
        foreach (var (name, array) in _arrays)
        {
            var e = zip.CreateEntry(name + ".npy", compress ? CompressionLevel.Optimal : CompressionLevel.NoCompression);
            using var es = e.Open();
            NpyWriter.WriteTo(es, array);
        }
    }
}
