using System.Buffers.Binary;
using System.Numerics;
using System.Text;

namespace SaeGuard.IO.Pickle;

/// <summary>A Python dict (or OrderedDict) from a pickle; keys are strings, longs, doubles, bools or tuples.</summary>
public sealed class PyDict : OrderedDictionary<object, object?>
{
    public PyDict() : base(PyKeyComparer.Instance) { }
    /// <summary>Attributes set on the dict object itself (an OrderedDict's <c>_metadata</c>), never interpreted.</summary>
    public object? State { get; set; }
}

/// <summary>
/// Key equality for dict keys, with tuples (object?[]) compared by value. Keys are checked by
/// the unpickler before they get here (primitives, or tuples of at most
/// <see cref="RestrictedUnpickler.MaxKeyNodes"/> items nested at most
/// <see cref="RestrictedUnpickler.MaxKeyDepth"/> deep), so hashing one costs a bounded amount.
/// Numbers are hashed through the process-seeded <see cref="HashCode"/> over all their bits, so
/// a file cannot choose keys that all land in one bucket.
/// </summary>
sealed class PyKeyComparer : IEqualityComparer<object>
{
    public static readonly PyKeyComparer Instance = new();

    public new bool Equals(object? a, object? b)
    {
        if (a is object?[] x && b is object?[] y)
        {
            if (x.Length != y.Length) return false;
            for (int i = 0; i < x.Length; i++)
                if (x[i] == null ? y[i] != null : y[i] == null || !Equals(x[i], y[i])) return false;
            return true;
        }
        return object.Equals(a, b);
    }

    public int GetHashCode(object o)
    {
        switch (o)
        {
            case object?[] t:
                {
                    var h = new HashCode();
                    h.Add(t.Length);
                    foreach (var v in t) h.Add(v == null ? 0 : GetHashCode(v));
                    return h.ToHashCode();
                }
            case long l: return MixedHash.Of(l);
            case double d: return MixedHash.Of(d == 0 ? 0L : double.IsNaN(d) ? long.MinValue : BitConverter.DoubleToInt64Bits(d));
            case BigInteger b: { var h = new HashCode(); h.AddBytes(b.ToByteArray()); return h.ToHashCode(); }
            default: return o.GetHashCode();
        }
    }
}

/// <summary>Seeded hashing of 64-bit keys (all bits, not folded), so colliding keys cannot be chosen in advance.</summary>
static class MixedHash
{
    public static int Of(long v) => HashCode.Combine((int)v, (int)(v >> 32));
}

/// <summary>Memo indices hashed with <see cref="MixedHash"/>.</summary>
sealed class MemoKeyComparer : IEqualityComparer<long>
{
    public static readonly MemoKeyComparer Instance = new();
    public bool Equals(long a, long b) => a == b;
    public int GetHashCode(long v) => MixedHash.Of(v);
}

/// <summary>A reference to a Python global (module.name) that the allow-list admitted.</summary>
public sealed record PyGlobal(string Module, string Name)
{
    public override string ToString() => $"{Module}.{Name}";
}

/// <summary>What a restricted unpickler may construct: a whitelist of globals and their meaning.</summary>
public interface IPickleAllowList
{
    /// <summary>True if <paramref name="g"/> may be referenced at all.</summary>
    bool Allows(PyGlobal g);
    /// <summary>Applies an allowed global to its arguments (REDUCE).</summary>
    object? Call(PyGlobal g, object?[] args);
    /// <summary>Resolves a persistent id (BINPERSID), e.g. a torch storage.</summary>
    object? PersistentLoad(object? pid);
}

/// <summary>
/// A pickle (protocols 0–5 binary opcodes) interpreter that builds plain data only: None, bool,
/// long / BigInteger, double, string, byte[], tuples (object?[]), lists (List&lt;object?&gt;),
/// dicts (<see cref="PyDict"/>), and what the allow-list builds from the globals it admits.
/// Any other global is refused by name before anything is built, the way
/// <c>torch.load(weights_only=True)</c> refuses it; object-creating opcodes (INST, OBJ, NEWOBJ,
/// extension codes) are refused outright. Nothing is ever executed. Work and memory are
/// bounded by the input length: every length field is checked against the bytes left, and the
/// budgets hold while the pickle runs, not after: containers nest at most <see cref="MaxDepth"/>
/// deep (tracked as they are built, without recursion), dict keys are primitives or small tuples
/// (bounded hashing), memo and dict hashing are seeded, and the final shape walk visits at most
/// a number of items proportional to the input length.
/// </summary>
public sealed class RestrictedUnpickler
{
    readonly byte[] _d;
    readonly string _where;
    readonly IPickleAllowList _allow;
    int _p;
    readonly List<object?> _stack = new();
    readonly Stack<int> _marks = new();
    readonly Dictionary<long, object?> _memo = new(MemoKeyComparer.Instance);
    /// <summary>Nesting depth of every container built so far (absent: 1), by reference.</summary>
    readonly Dictionary<object, int> _depth = new(ReferenceEqualityComparer.Instance);

    RestrictedUnpickler(byte[] data, string where, IPickleAllowList allow)
    {
        _d = data; _where = where; _allow = allow;
    }

    /// <summary>Unpickles <paramref name="data"/>; throws <see cref="InvalidDataException"/> on anything refused or malformed.</summary>
    public static object? Load(byte[] data, string where, IPickleAllowList allow)
    {
        var u = new RestrictedUnpickler(data, where, allow);
        try
        {
            var root = u.Run();
            CheckShape(root, where, MaxVisits(data.Length));
            return root;
        }
        catch (Exception e) when (e is ArgumentException or InvalidCastException or OverflowException or IndexOutOfRangeException or FormatException or DecoderFallbackException)
        {
            throw u.Bad($"malformed pickle ({e.Message})");
        }
    }

    public const int MaxDepth = 100;
    /// <summary>Largest tuple used as a dict key (items, counting nested ones), and its nesting.</summary>
    public const int MaxKeyNodes = 64, MaxKeyDepth = 4;

    /// <summary>The shape walk's budget: a tree without sharing visits about one item per input byte.</summary>
    static long MaxVisits(long inputBytes) => Math.Min(50_000_000, 1_000_000 + 4 * inputBytes);

    /// <summary>
    /// Refuses cyclic or very deep structures and ones whose tree walk explodes through shared
    /// references, so code that walks the result recursively cannot overflow or hang.
    /// </summary>
    static void CheckShape(object? root, string where, long maxVisits)
    {
        var stack = new Stack<(object? Node, int Depth)>();
        stack.Push((root, 0));
        long seen = 1;
        void Add(object? c, int depth)
        {
            if (++seen > maxVisits) throw new InvalidDataException($"{where}: walking the pickled structure visits more than {maxVisits:N0} items (limit for a {maxVisits / 4:N0}-byte budget; shared references?).");
            if (c is object?[] or List<object?> or PyDict) stack.Push((c, depth));
        }
        while (stack.Count > 0)
        {
            var (n, depth) = stack.Pop();
            if (depth > MaxDepth) throw new InvalidDataException($"{where}: the pickled structure nests deeper than {MaxDepth} levels (or refers to itself).");
            switch (n)
            {
                case object?[] t: foreach (var c in t) Add(c, depth + 1); break;
                case List<object?> l: foreach (var c in l) Add(c, depth + 1); break;
                case PyDict d:
                    foreach (var (k, v) in d) { Add(k, depth + 1); Add(v, depth + 1); }
                    Add(d.State, depth + 1);
                    break;
            }
        }
    }

    InvalidDataException Bad(string what) => new($"{_where}: {what} (at byte {_p}).");

    object? Run()
    {
        while (true)
        {
            if (_p >= _d.Length) throw Bad("pickle ends without STOP");
            byte op = _d[_p++];
            switch (op)
            {
                case 0x80: Take(1); break; // PROTO
                case 0x95: Take(8); break; // FRAME: framing only, data follows inline
                case (byte)'.': // STOP
                    if (_stack.Count != 1 || _marks.Count != 0) throw Bad("STOP with a malformed stack");
                    return _stack[0];
                case (byte)'(': _marks.Push(_stack.Count); break;
                case (byte)'0': Pop(); break;
                case (byte)'1': PopMark(); break;
                case (byte)'2': Push(Peek()); break;
                case (byte)'N': Push(null); break;
                case 0x88: Push(true); break;
                case 0x89: Push(false); break;
                case (byte)'J': Push((long)BinaryPrimitives.ReadInt32LittleEndian(Take(4))); break;
                case (byte)'K': Push((long)Take(1)[0]); break;
                case (byte)'M': Push((long)BinaryPrimitives.ReadUInt16LittleEndian(Take(2))); break;
                case 0x8a: Push(Long(Take(1)[0])); break;
                case 0x8b: Push(Long(Length(4))); break;
                case (byte)'G': Push(BinaryPrimitives.ReadDoubleBigEndian(Take(8))); break;
                case (byte)'X': Push(Utf8(Length(4))); break;
                case 0x8c: Push(Utf8(Take(1)[0])); break;
                case 0x8d: Push(Utf8(Length(8))); break;
                case (byte)'B': Push(Take(Length(4)).ToArray()); break;
                case (byte)'C': Push(Take(Take(1)[0]).ToArray()); break;
                case 0x8e: Push(Take(Length(8)).ToArray()); break;
                case 0x96: Push(Take(Length(8)).ToArray()); break; // BYTEARRAY8
                case (byte)'T': Push(Latin1(Length(4))); break; // BINSTRING (Python 2 str)
                case (byte)'U': Push(Latin1(Take(1)[0])); break; // SHORT_BINSTRING
                case (byte)']': Push(new List<object?>()); break;
                case (byte)'l': Push(Built(PopMark().ToList())); break;
                case (byte)'a': { var v = Pop(); var l = AsList(Peek(), "APPEND"); l.Add(v); Grew(l, v); break; }
                case (byte)'e': { var items = PopMark(); var l = AsList(Peek(), "APPENDS"); l.AddRange(items); foreach (var v in items) Grew(l, v); break; }
                case (byte)')': Push(Array.Empty<object?>()); break;
                case (byte)'t': Push(Built(PopMark())); break;
                case 0x85: Push(Built(new[] { Pop() })); break;
                case 0x86: { var b = Pop(); var a = Pop(); Push(Built(new[] { a, b })); break; }
                case 0x87: { var c = Pop(); var b = Pop(); var a = Pop(); Push(Built(new[] { a, b, c })); break; }
                case (byte)'}': Push(new PyDict()); break;
                case (byte)'d': { var items = PopMark(); var d = new PyDict(); SetItems(d, items); Push(d); break; }
                case (byte)'s': { var v = Pop(); var k = Pop(); SetItem(AsDict(Peek(), "SETITEM"), k, v); break; }
                case (byte)'u': { var items = PopMark(); SetItems(AsDict(Peek(), "SETITEMS"), items); break; }
                case 0x8f: Push(new List<object?>()); break; // EMPTY_SET, kept as a list
                case 0x90: { var items = PopMark(); var l = AsList(Peek(), "ADDITEMS"); l.AddRange(items); foreach (var v in items) Grew(l, v); break; }
                case 0x91: Push(Built(PopMark().ToList())); break; // FROZENSET
                case (byte)'p': { var line = Line(); _memo[long.TryParse(line, out var k) ? k : throw Bad("bad PUT index")] = Peek(); break; }
                case (byte)'q': _memo[Take(1)[0]] = Peek(); break;
                case (byte)'r': _memo[BinaryPrimitives.ReadUInt32LittleEndian(Take(4))] = Peek(); break;
                case 0x94: _memo[_memo.Count] = Peek(); break; // MEMOIZE
                case (byte)'g': Push(Memo(long.TryParse(Line(), out var gk) ? gk : throw Bad("bad GET index"))); break;
                case (byte)'h': Push(Memo(Take(1)[0])); break;
                case (byte)'j': Push(Memo(BinaryPrimitives.ReadUInt32LittleEndian(Take(4)))); break;
                case (byte)'c': Push(Global(Line(), Line())); break;
                case 0x93: { var name = Pop(); var module = Pop(); Push(Global(module as string ?? throw Bad("STACK_GLOBAL module is not a string"), name as string ?? throw Bad("STACK_GLOBAL name is not a string"))); break; }
                case (byte)'R': { var args = Pop(); var f = Pop(); Push(Reduce(f, args)); break; }
                case (byte)'b': { var state = Pop(); Build(Peek(), state); break; }
                case (byte)'Q': Push(_allow.PersistentLoad(Pop())); break;
                case (byte)'P': Push(_allow.PersistentLoad(Line())); break;
                case (byte)'i': throw Refused($"{Line()}.{Line()}", "INST");
                case (byte)'o': throw Bad("refused: OBJ builds an arbitrary object");
                case 0x81: case 0x92: throw Bad($"refused: NEWOBJ builds an instance of {Describe(_stack.Count >= 2 ? _stack[^2] : null)}");
                case 0x82: case 0x83: case 0x84: throw Bad("refused: pickle extension codes (copyreg registry)");
                case 0x97: case 0x98: throw Bad("refused: out-of-band buffers");
                case (byte)'I': Push(IntLine(Line())); break;
                case (byte)'L': Push(IntLine(Line().TrimEnd('L'))); break;
                case (byte)'F': Push(double.TryParse(Line(), System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var fv) ? fv : throw Bad("bad FLOAT")); break;
                default: throw Bad($"unsupported pickle opcode 0x{op:x2}");
            }
        }
    }

    static string Describe(object? o) => o is PyGlobal g ? g.ToString() : "an object";

    InvalidDataException Refused(string name, string how) =>
        Bad($"refused to load: the pickle references the global '{name}' ({how}), which is not on the allow-list " +
            "(tensors, storages, OrderedDict, plain containers, numbers, strings); nothing was executed");

    PyGlobal Global(string module, string name)
    {
        var g = new PyGlobal(module, name);
        if (!_allow.Allows(g)) throw Refused(g.ToString(), "GLOBAL");
        return g;
    }

    object? Reduce(object? f, object? args)
    {
        if (f is not PyGlobal g) throw Bad("REDUCE on something that is not an allowed global");
        if (args is not object?[] a) throw Bad($"REDUCE of {g} without an argument tuple");
        return _allow.Call(g, a);
    }

    void Build(object? target, object? state)
    {
        if (target is PyDict d) { d.State = state; Grew(d, state); return; }
        throw Bad($"refused: BUILD sets the state of {Describe(target)}");
    }

    object? Memo(long k) => _memo.TryGetValue(k, out var v) ? v : throw Bad($"memo key {k} was never stored");

    void Push(object? o) => _stack.Add(o);

    object? Pop()
    {
        int floor = _marks.Count > 0 ? _marks.Peek() : 0;
        if (_stack.Count <= floor) throw Bad("stack underflow");
        var v = _stack[^1];
        _stack.RemoveAt(_stack.Count - 1);
        return v;
    }

    object? Peek()
    {
        int floor = _marks.Count > 0 ? _marks.Peek() : 0;
        if (_stack.Count <= floor) throw Bad("stack underflow");
        return _stack[^1];
    }

    object?[] PopMark()
    {
        if (_marks.Count == 0) throw Bad("no MARK on the stack");
        int m = _marks.Pop();
        var items = _stack.GetRange(m, _stack.Count - m).ToArray();
        _stack.RemoveRange(m, _stack.Count - m);
        return items;
    }

    List<object?> AsList(object? o, string op) => o as List<object?> ?? throw Bad($"{op} on something that is not a list");
    PyDict AsDict(object? o, string op) => o as PyDict ?? throw Bad($"{op} on something that is not a dict");

    void SetItems(PyDict d, object?[] items)
    {
        if (items.Length % 2 != 0) throw Bad("odd number of dict items");
        for (int i = 0; i < items.Length; i += 2) SetItem(d, items[i], items[i + 1]);
    }

    void SetItem(PyDict d, object? k, object? v)
    {
        CheckKey(k);
        d[k!] = v;
        Grew(d, k); Grew(d, v);
    }

    /// <summary>
    /// A key must be a primitive or a small tuple of primitives: hashing and comparing it is then
    /// bounded, whatever sharing the pickle sets up (a tuple tree with shared children would
    /// otherwise cost 2^depth). Checked without recursion.
    /// </summary>
    void CheckKey(object? k)
    {
        if (KeyProblem(k) is { } why) throw Bad(why);
    }

    /// <summary>Why <paramref name="k"/> may not be a dict key, or null when it may (for allow-lists building dicts too).</summary>
    public static string? KeyProblem(object? k)
    {
        if (k is not object?[] root) return IsKeyLeaf(k) ? null : $"dict key is None or unhashable ({KeyKind(k)})";
        var stack = new Stack<(object?[] T, int Depth)>();
        stack.Push((root, 1));
        int nodes = 0;
        while (stack.Count > 0)
        {
            var (t, depth) = stack.Pop();
            if (depth > MaxKeyDepth)
                return $"refused: a dict key is a tuple nested deeper than {MaxKeyDepth} levels (keys must be strings, numbers or small tuples)";
            foreach (var x in t)
            {
                if (++nodes > MaxKeyNodes)
                    return $"refused: a dict key is a tuple of more than {MaxKeyNodes} items (keys must be strings, numbers or small tuples)";
                if (x is object?[] inner) stack.Push((inner, depth + 1));
                else if (!IsKeyLeaf(x)) return $"dict key is a tuple holding something unhashable ({KeyKind(x)})";
            }
        }
        return null;
    }

    static bool IsKeyLeaf(object? k) => k is string or long or double or bool or BigInteger or byte[] or PyGlobal;
    static string KeyKind(object? k) => k switch { null => "None", List<object?> => "a list", PyDict => "a dict", _ => k.GetType().Name };

    /// <summary>Records a new tuple or list: one level deeper than its deepest item.</summary>
    T Built<T>(T container) where T : class, System.Collections.IEnumerable
    {
        int d = 0;
        foreach (var x in container) d = Math.Max(d, DepthOf(x));
        Deepen(container, d + 1);
        return container;
    }

    /// <summary>A container received an item: it is now at least one level deeper than that item.</summary>
    void Grew(object container, object? item)
    {
        int d = DepthOf(item);
        if (d > 0) Deepen(container, d + 1);
    }

    int DepthOf(object? o) => o is object?[] or List<object?> or PyDict ? _depth.GetValueOrDefault(o, 1) : 0;

    void Deepen(object container, int depth)
    {
        if (depth > MaxDepth) throw Bad($"the pickled structure nests deeper than {MaxDepth} levels (or refers to itself)");
        if (depth > 1 && depth > _depth.GetValueOrDefault(container, 1)) _depth[container] = depth;
    }

    ReadOnlySpan<byte> Take(long n)
    {
        if (n < 0 || n > _d.Length - _p) throw Bad($"truncated: needs {n} more bytes, {_d.Length - _p} left");
        var s = _d.AsSpan(_p, (int)n);
        _p += (int)n;
        return s;
    }

    long Length(int width)
    {
        var b = Take(width);
        ulong n = width == 4 ? BinaryPrimitives.ReadUInt32LittleEndian(b) : BinaryPrimitives.ReadUInt64LittleEndian(b);
        if (n > (ulong)(_d.Length - _p)) throw Bad($"a length of {n} runs past the end of the pickle");
        return (long)n;
    }

    string Utf8(long n) => Encoding.UTF8.GetString(Take(n));
    string Latin1(long n) => Encoding.Latin1.GetString(Take(n));

    string Line()
    {
        int nl = Array.IndexOf(_d, (byte)'\n', _p);
        if (nl < 0) throw Bad("unterminated text field");
        var s = Encoding.UTF8.GetString(_d, _p, nl - _p);
        _p = nl + 1;
        return s;
    }

    object Long(long n)
    {
        var b = Take(n);
        if (b.Length == 0) return 0L;
        if (b.Length <= 8)
        {
            long v = 0;
            for (int i = b.Length - 1; i >= 0; i--) v = (v << 8) | b[i];
            int shift = 64 - 8 * b.Length;
            return shift == 0 ? v : (v << shift) >> shift; // sign-extend
        }
        return new BigInteger(b, isUnsigned: false, isBigEndian: false);
    }

    object IntLine(string s)
    {
        if (s == "00") return false;
        if (s == "01") return true;
        if (s.Length > 4300) throw Bad("integer literal longer than 4300 digits");
        if (long.TryParse(s, out var v)) return v;
        if (BigInteger.TryParse(s, out var big)) return big;
        throw Bad($"bad integer '{s}'");
    }
}
