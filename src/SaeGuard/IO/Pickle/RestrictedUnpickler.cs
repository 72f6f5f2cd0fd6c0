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

/// <summary>Key equality for dict keys, with tuples (object?[]) compared by value.</summary>
sealed class PyKeyComparer : IEqualityComparer<object>
{
    public static readonly PyKeyComparer Instance = new();

    public new bool Equals(object? a, object? b) =>
        a is object?[] x && b is object?[] y ? x.Length == y.Length && x.Zip(y).All(p => p.First == null ? p.Second == null : p.Second != null && Equals(p.First, p.Second))
            : object.Equals(a, b);

    public int GetHashCode(object o) => o is object?[] t ? t.Aggregate(17, (h, v) => h * 31 + (v == null ? 0 : GetHashCode(v))) : o.GetHashCode();
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
/// bounded by the input length: every length field is checked against the bytes left.
/// </summary>
public sealed class RestrictedUnpickler
{
    readonly byte[] _d;
    readonly string _where;
    readonly IPickleAllowList _allow;
    int _p;
    readonly List<object?> _stack = new();
    readonly Stack<int> _marks = new();
    readonly Dictionary<long, object?> _memo = new();

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
            CheckShape(root, where);
            return root;
        }
        catch (Exception e) when (e is ArgumentException or InvalidCastException or OverflowException or IndexOutOfRangeException or FormatException or DecoderFallbackException)
        {
            throw u.Bad($"malformed pickle ({e.Message})");
        }
    }

    const int MaxDepth = 100;
    const long MaxVisits = 50_000_000;

    /// <summary>
    /// Refuses cyclic or very deep structures and ones whose tree walk explodes through shared
    /// references, so code that walks the result recursively cannot overflow or hang.
    /// </summary>
    static void CheckShape(object? root, string where)
    {
        var stack = new Stack<(object? Node, int Depth)>();
        stack.Push((root, 0));
        long seen = 1;
        void Add(object? c, int depth)
        {
            if (++seen > MaxVisits) throw new InvalidDataException($"{where}: walking the pickled structure visits more than {MaxVisits:N0} items (shared references?).");
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
                case (byte)'l': Push(PopMark().ToList()); break;
                case (byte)'a': { var v = Pop(); AsList(Peek(), "APPEND").Add(v); break; }
                case (byte)'e': { var items = PopMark(); AsList(Peek(), "APPENDS").AddRange(items); break; }
                case (byte)')': Push(Array.Empty<object?>()); break;
                case (byte)'t': Push(PopMark()); break;
                case 0x85: Push(new[] { Pop() }); break;
                case 0x86: { var b = Pop(); var a = Pop(); Push(new[] { a, b }); break; }
                case 0x87: { var c = Pop(); var b = Pop(); var a = Pop(); Push(new[] { a, b, c }); break; }
                case (byte)'}': Push(new PyDict()); break;
                case (byte)'d': { var items = PopMark(); var d = new PyDict(); SetItems(d, items); Push(d); break; }
                case (byte)'s': { var v = Pop(); var k = Pop(); SetItem(AsDict(Peek(), "SETITEM"), k, v); break; }
                case (byte)'u': { var items = PopMark(); SetItems(AsDict(Peek(), "SETITEMS"), items); break; }
                case 0x8f: Push(new List<object?>()); break; // EMPTY_SET, kept as a list
                case 0x90: { var items = PopMark(); AsList(Peek(), "ADDITEMS").AddRange(items); break; }
                case 0x91: Push(PopMark().ToList()); break; // FROZENSET
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
        if (target is PyDict d) { d.State = state; return; }
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
        if (k is null or List<object?> or PyDict) throw Bad("dict key is None or unhashable");
        d[k] = v;
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
