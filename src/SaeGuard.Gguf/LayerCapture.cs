using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;

namespace SaeGuard.Gguf;

/// <summary>
/// llama.cpp's graph-eval callback (<c>cb_eval</c>): asks for the residual-stream tensors
/// <c>l_out-N</c> of the chosen layers and appends their rows (one per token of the micro-batch, in
/// batch order) to a buffer per layer. Runs on the thread that calls Decode; never lets an exception
/// escape into native code: it is kept in <see cref="Error"/> and rethrown by the caller.
/// </summary>
internal sealed unsafe class LayerCapture : IDisposable
{
    readonly byte[][] _names;
    readonly int _width;
    GCHandle _self;
    bool _layoutChecked;

    public int[] Layers { get; }
    public RowBuffer[] Buffers { get; }
    /// <summary>When false the callback asks for nothing and the graph runs in one piece.</summary>
    public bool Enabled { get; set; }
    /// <summary>Stop the graph after the last wanted layer (its logits are then not computed).</summary>
    public bool StopAfterLast { get; set; }
    public Exception? Error { get; private set; }
    /// <summary>
    /// Splicing hook (see GgufSplicer): called with (layer index, first row of this micro-batch in the
    /// buffer, its rows) after they are captured; when it returns true the rows, changed in place, are
    /// written back into the graph so that the later blocks read them.
    /// </summary>
    public Func<int, int, Span<float>, bool>? Splice { get; set; }

    public LayerCapture(IReadOnlyList<int> layers, int width)
    {
        Layers = layers.Distinct().Order().ToArray();
        _names = Layers.Select(l => Encoding.ASCII.GetBytes(HookName(l))).ToArray();
        _width = width;
        Buffers = Layers.Select(_ => new RowBuffer(width)).ToArray();
        _self = GCHandle.Alloc(this);
    }

    /// <summary>llama.cpp's name for the residual stream after block <paramref name="layer"/>.</summary>
    public static string HookName(int layer) => $"l_out-{layer}";

    public nint UserData => GCHandle.ToIntPtr(_self);
    public static nint Callback => (nint)(delegate* unmanaged[Cdecl]<nint, byte, nint, byte>)&OnEval;

    public void Reset()
    {
        Error = null;
        foreach (var b in Buffers) b.Clear();
    }

    /// <summary>Throws what the callback caught during the last Decode.</summary>
    public void ThrowIfFailed()
    {
        if (Error != null)
        {
            var e = Error;
            Error = null;
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e).Throw();
        }
    }

    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    static byte OnEval(nint tensor, byte ask, nint user)
    {
        LayerCapture? self = null;
        try
        {
            self = (LayerCapture)GCHandle.FromIntPtr(user).Target!;
            return self.Handle(tensor, ask != 0) ? (byte)1 : (byte)0;
        }
        catch (Exception e)
        {
            if (self != null) self.Error ??= e;
            return 0;
        }
    }

    bool Handle(nint t, bool ask)
    {
        if (!Enabled || Error != null) return !ask;
        int index = IndexOf(GgmlTensor.Name(t));
        if (ask) return index >= 0;
        if (index < 0) return true;
        Read(t, index);
        return !(StopAfterLast && index == Layers.Length - 1);
    }

    int IndexOf(byte* name)
    {
        for (int i = 0; i < _names.Length; i++)
            if (GgmlTensor.NameEquals(name, _names[i])) return i;
        return -1;
    }

    void Read(nint t, int index)
    {
        if (!_layoutChecked) { GgmlTensor.CheckLayout(t); _layoutChecked = true; }
        long ne0 = GgmlTensor.Ne(t, 0), rows = GgmlTensor.Ne(t, 1);
        if (GgmlTensor.Type(t) != GgmlTensor.F32 || ne0 != _width || GgmlTensor.Ne(t, 2) != 1 || GgmlTensor.Ne(t, 3) != 1
            || GgmlTensor.Nb(t, 0) != sizeof(float) || GgmlTensor.Nb(t, 1) != ne0 * sizeof(float))
            throw new InvalidOperationException(
                $"llama.cpp tensor {HookName(Layers[index])} is type {GgmlTensor.Type(t)} shape [{ne0}, {rows}, {GgmlTensor.Ne(t, 2)}, {GgmlTensor.Ne(t, 3)}]; " +
                $"expected contiguous f32 [{_width}, tokens].");
        int first = Buffers[index].Rows;
        var span = Buffers[index].Append((int)rows);
        GgmlTensor.CopyTo(t, span);
        if (Splice?.Invoke(index, first, span) == true) GgmlTensor.CopyFrom(t, span);
    }

    public void Dispose()
    {
        if (_self.IsAllocated) _self.Free();
    }
}

/// <summary>A growing row-major [rows, width] float buffer.</summary>
internal sealed class RowBuffer(int width)
{
    float[] _data = new float[width * 64];
    public int Width { get; } = width;
    public int Rows { get; private set; }

    public void Clear() => Rows = 0;

    public Span<float> Append(int rows)
    {
        long need = (long)(Rows + rows) * Width;
        if (need > _data.Length) Array.Resize(ref _data, (int)Math.Max(need, Math.Min((long)_data.Length * 2, Array.MaxLength)));
        var span = _data.AsSpan(Rows * Width, rows * Width);
        Rows += rows;
        return span;
    }

    public float[] CopyRows(int start, int count) => _data.AsSpan(start * Width, count * Width).ToArray();
}
