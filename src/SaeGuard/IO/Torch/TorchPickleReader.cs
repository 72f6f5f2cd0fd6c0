using System.Text;
using SaeGuard.IO.Pickle;

namespace SaeGuard.IO.Torch;

/// <summary>
/// Reads PyTorch <c>torch.save</c> files (the zip format of PyTorch ≥ 1.6: <c>&lt;name&gt;/data.pkl</c>
/// plus one <c>&lt;name&gt;/data/&lt;key&gt;</c> entry per storage) without running any code: the
/// pickle is interpreted by <see cref="RestrictedUnpickler"/> with the allow-list of
/// <c>torch.load(weights_only=True)</c> (tensor rebuild, storage types, OrderedDict, plain
/// containers, numbers and strings). The result is a tree of plain values with
/// <see cref="TorchTensor"/> leaves: a state dict comes back as a <see cref="PyDict"/>.
/// </summary>
public static class TorchPickleReader
{
    public static object? Load(string path, ReadLimits? limits = null) => Load(path, limits, lazy: false);

    /// <summary>
    /// The tree with storages not read: shapes and dtypes are known at once, a storage's bytes are
    /// read on first use of <see cref="TorchStorage.Data"/> or streamed by <see cref="OpenStorage"/>.
    /// </summary>
    public static object? LoadLazy(string path, ReadLimits? limits = null) => Load(path, limits, lazy: true);

    /// <summary>
    /// A storage of <paramref name="path"/> as a stream of exactly its bytes (inflated if the entry
    /// is compressed), without reading it whole. Dispose it to close the archive.
    /// </summary>
    public static Stream OpenStorage(string path, TorchStorage storage, ReadLimits? limits = null)
    {
        var zip = SafeZip.Open(path, limits);
        try
        {
            var e = zip.Find(storage.Entry) ?? throw new InvalidDataException($"'{path}': storage entry '{storage.Entry}' is missing.");
            return new OwningStream(zip.OpenChecked(e), zip);
        }
        catch { zip.Dispose(); throw; }
    }

    static object? Load(string path, ReadLimits? limits, bool lazy)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"File not found: '{path}'.", path);
        CheckZipMagic(path);
        using var zip = SafeZip.Open(path, limits);
        var pkl = zip.Entries.Where(e => e.FullName.EndsWith("data.pkl", StringComparison.Ordinal)
                                         && e.FullName.Count(c => c == '/') <= 1).ToList();
        if (zip.Entries.Any(e => e.FullName.EndsWith("/constants.pkl", StringComparison.Ordinal)) || zip.Entries.Any(e => e.FullName.Contains("/code/")))
            throw new InvalidDataException($"'{path}' is a TorchScript archive (torch.jit.save); save the weights with torch.save(model.state_dict(), …) instead.");
        if (pkl.Count != 1)
            throw new InvalidDataException($"'{path}' is a zip but not a torch.save file: expected one '<name>/data.pkl', found {pkl.Count}.");
        string prefix = pkl[0].FullName[..^"data.pkl".Length];
        var byteorder = zip.Find(prefix + "byteorder");
        if (byteorder != null && byteorder.Length < 16 && Encoding.ASCII.GetString(zip.ReadAll(byteorder)).Trim() == "big")
            throw new InvalidDataException($"'{path}' was saved on a big-endian machine; only little-endian files are supported.");
        var allow = new TorchAllowList(zip, prefix, $"'{path}'", lazy ? path : null, limits);
        return RestrictedUnpickler.Load(zip.ReadAll(pkl[0]), $"'{path}'", allow);
    }

    static void CheckZipMagic(string path)
    {
        Span<byte> head = stackalloc byte[4];
        int n;
        using (var fs = File.OpenRead(path)) n = fs.ReadAtLeast(head, 4, throwOnEndOfStream: false);
        if (n >= 2 && head[0] == 0x80 && head[1] <= 5)
            throw new InvalidDataException($"'{path}' uses the legacy torch.save format (PyTorch < 1.6, or _use_new_zipfile_serialization=False), which is not supported; re-save it with a current PyTorch.");
        if (n < 4 || head[0] != (byte)'P' || head[1] != (byte)'K')
            throw new InvalidDataException($"'{path}' is not a PyTorch .pt file (not a zip archive).");
    }

    /// <summary>All tensors of a loaded tree by dotted path ("model_state_dict.encoder.weight", "layers.0").</summary>
    public static Dictionary<string, TorchTensor> FlattenTensors(object? root)
    {
        var result = new Dictionary<string, TorchTensor>();
        var stack = new Stack<(string Path, object? Node)>();
        stack.Push(("", root));
        while (stack.Count > 0)
        {
            var (p, n) = stack.Pop();
            string Join(object key) => p.Length == 0 ? Convert.ToString(key, System.Globalization.CultureInfo.InvariantCulture)! : p + "." + key;
            switch (n)
            {
                case TorchTensor t: result.TryAdd(p, t); break;
                case PyDict d: foreach (var (k, v) in d.Reverse()) stack.Push((Join(k), v)); break;
                case List<object?> l: for (int i = l.Count - 1; i >= 0; i--) stack.Push((Join(i), l[i])); break;
                case object?[] a: for (int i = a.Length - 1; i >= 0; i--) stack.Push((Join(i), a[i])); break;
            }
        }
        return result;
    }
}

/// <summary>The weights_only allow-list, and the storages of one archive.</summary>
sealed class TorchAllowList : IPickleAllowList
{
    static readonly Dictionary<string, DType> StorageTypes = new()
    {
        ["FloatStorage"] = DType.F32, ["HalfStorage"] = DType.F16, ["BFloat16Storage"] = DType.BF16,
        ["DoubleStorage"] = DType.F64, ["LongStorage"] = DType.I64, ["IntStorage"] = DType.I32,
        ["ShortStorage"] = DType.I16, ["CharStorage"] = DType.I8, ["ByteStorage"] = DType.U8, ["BoolStorage"] = DType.Bool,
    };

    sealed record StorageType(DType DType);

    readonly SafeZip _zip;
    readonly string _prefix, _where;
    readonly string? _lazyPath;
    readonly ReadLimits? _limits;
    readonly Dictionary<string, TorchStorage> _storages = new();

    /// <param name="zip">The opened torch.save archive.</param>
    /// <param name="prefix">The archive's top folder (e.g. "archive/").</param>
    /// <param name="where">The file, for messages.</param>
    /// <param name="lazyPath">When set, storages are not read now but reopened from this file on use.</param>
    /// <param name="limits">Read limits for the storages (defaults when null).</param>
    public TorchAllowList(SafeZip zip, string prefix, string where, string? lazyPath = null, ReadLimits? limits = null)
    {
        _zip = zip; _prefix = prefix; _where = where; _lazyPath = lazyPath; _limits = limits;
    }

    public bool Allows(PyGlobal g) => (g.Module, g.Name) switch
    {
        ("torch._utils", "_rebuild_tensor_v2" or "_rebuild_parameter") => true,
        ("torch", var n) when StorageTypes.ContainsKey(n) => true,
        ("torch", "Size") => true,
        ("collections", "OrderedDict") => true,
        ("_codecs", "encode") => true,
        ("builtins" or "__builtin__", "set" or "frozenset") => true,
        _ => false,
    };

    public object? Call(PyGlobal g, object?[] a)
    {
        switch (g.Module, g.Name)
        {
            case ("torch._utils", "_rebuild_tensor_v2"):
                {
                    if (a.Length < 4 || a[0] is not TorchStorage st)
                        throw new InvalidDataException($"{_where}: _rebuild_tensor_v2 needs (storage, offset, size, stride, …).");
                    bool grad = a.Length > 4 && a[4] is true;
                    return new TorchTensor(st, Int(a[1], "storage offset"), Ints(a[2], "size"), Ints(a[3], "stride"), grad, _where);
                }
            case ("torch._utils", "_rebuild_parameter"):
                return a.Length >= 1 && a[0] is TorchTensor t ? t : throw new InvalidDataException($"{_where}: _rebuild_parameter without a tensor.");
            case ("torch", "Size"):
                return a.Length == 1 && a[0] is object?[] dims ? dims : Array.Empty<object?>();
            case ("collections", "OrderedDict"):
                {
                    var d = new PyDict();
                    if (a.Length == 1 && a[0] is List<object?> pairs)
                        foreach (var p in pairs)
                            if (p is object?[] { Length: 2 } kv && kv[0] != null)
                                d[kv[0]!] = RestrictedUnpickler.KeyProblem(kv[0]) is { } why ? throw new InvalidDataException($"{_where}: OrderedDict item: {why}.") : kv[1];
                            else throw new InvalidDataException($"{_where}: OrderedDict items are not key/value pairs.");
                    else if (a.Length != 0) throw new InvalidDataException($"{_where}: unexpected OrderedDict arguments.");
                    return d;
                }
            case ("_codecs", "encode"):
                if (a.Length == 2 && a[0] is string s && a[1] is "latin1" or "latin-1") return Encoding.Latin1.GetBytes(s);
                throw new InvalidDataException($"{_where}: _codecs.encode is only allowed for latin1 byte strings.");
            case ("builtins" or "__builtin__", _):
                return a.Length == 1 && a[0] is List<object?> items ? items.ToList() : new List<object?>();
            case ("torch", var n) when StorageTypes.TryGetValue(n, out var dt):
                throw new InvalidDataException($"{_where}: storage type torch.{n} called directly; storages must come from persistent ids.");
        }
        throw new InvalidDataException($"{_where}: {g} cannot be called.");
    }

    /// <summary>A storage global used as a value (inside a persistent id) stands for its dtype.</summary>
    public object? PersistentLoad(object? pid)
    {
        if (pid is not object?[] { Length: 5 } t || t[0] is not "storage")
            throw new InvalidDataException($"{_where}: unsupported persistent id (expected ('storage', type, key, location, numel)).");
        if (t[1] is not PyGlobal { Module: "torch" } g || !StorageTypes.TryGetValue(g.Name, out var dtype))
            throw new InvalidDataException($"{_where}: persistent id names an unsupported storage type.");
        if (t[2] is not string key) throw new InvalidDataException($"{_where}: storage key is not a string.");
        long numel = Int(t[4], "storage size");
        if (_storages.TryGetValue(key, out var cached))
        {
            if (cached.DType != dtype) throw new InvalidDataException($"{_where}: storage '{key}' is used with two dtypes.");
            return cached;
        }
        var entry = _zip.Find(_prefix + "data/" + key)
            ?? throw new InvalidDataException($"{_where}: storage '{key}' is missing (no entry '{_prefix}data/{key}').");
        long expect;
        try { expect = checked(numel * DTypes.Size(dtype)); }
        catch (OverflowException) { throw new InvalidDataException($"{_where}: storage '{key}' size overflows."); }
        if (entry.Length != expect)
            throw new InvalidDataException($"{_where}: storage '{key}' should hold {numel:N0} {dtype} elements ({expect:N0} bytes) but its entry has {entry.Length:N0} bytes.");
        _zip.CheckDeclared(entry);
        var st = _lazyPath is { } file
            ? new TorchStorage { Key = key, DType = dtype, Elements = numel, Entry = entry.FullName, Loader = () => ReadEntry(file, entry.FullName, _limits) }
            : new TorchStorage { Key = key, DType = dtype, Elements = numel, Entry = entry.FullName, Data = _zip.ReadAll(entry) };
        _storages[key] = st;
        return st;
    }

    static byte[] ReadEntry(string file, string entry, ReadLimits? limits)
    {
        using var zip = SafeZip.Open(file, limits);
        return zip.ReadAll(zip.Find(entry) ?? throw new InvalidDataException($"'{file}': storage entry '{entry}' is missing."));
    }

    long Int(object? o, string what) => o is long v && v >= 0 ? v : throw new InvalidDataException($"{_where}: tensor {what} is not a non-negative integer.");

    long[] Ints(object? o, string what) =>
        o is object?[] t ? t.Select(x => Int(x, what)).ToArray() : throw new InvalidDataException($"{_where}: tensor {what} is not a tuple of integers.");
}
