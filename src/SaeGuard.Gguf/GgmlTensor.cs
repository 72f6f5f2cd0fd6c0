using System.Runtime.InteropServices;

namespace SaeGuard.Gguf;

/// <summary>A future llama.cpp moved fields of ggml_tensor; reading activations from it would be wrong.</summary>
public sealed class GgmlLayoutException(string message) : Exception(message);

/// <summary>
/// Reads graph tensors handed to llama.cpp's eval callback. Name and copies go through ggml-base
/// (<c>ggml_get_name</c>, <c>ggml_nelements</c>, <c>ggml_backend_tensor_get</c>); type, shape and strides are
/// read from the x86-64 <c>ggml_tensor</c> struct (type@0, ne@16, nb@48, name@256), which is checked
/// against ggml's own functions so that a changed layout fails loudly instead of returning garbage.
/// </summary>
internal static unsafe class GgmlTensor
{
    public const int TypeOffset = 0, NeOffset = 16, NbOffset = 48, NameOffset = 256;
    public const int F32 = 0;

    static delegate* unmanaged[Cdecl]<nint, byte*> _getName;
    static delegate* unmanaged[Cdecl]<nint, long> _nelements;
    static delegate* unmanaged[Cdecl]<nint, void*, nuint, nuint, void> _tensorGet;
    static delegate* unmanaged[Cdecl]<nint, void*, nuint, nuint, void> _tensorSet;
    static readonly object Gate = new();

    public static void EnsureLoaded()
    {
        if (_tensorGet != null) return;
        lock (Gate)
        {
            if (_tensorGet != null) return;
            LlamaNative.EnsureLoaded();
            var lib = LoadGgmlBase();
            _getName = (delegate* unmanaged[Cdecl]<nint, byte*>)NativeLibrary.GetExport(lib, "ggml_get_name");
            _nelements = (delegate* unmanaged[Cdecl]<nint, long>)NativeLibrary.GetExport(lib, "ggml_nelements");
            _tensorSet = (delegate* unmanaged[Cdecl]<nint, void*, nuint, nuint, void>)NativeLibrary.GetExport(lib, "ggml_backend_tensor_set");
            _tensorGet = (delegate* unmanaged[Cdecl]<nint, void*, nuint, nuint, void>)NativeLibrary.GetExport(lib, "ggml_backend_tensor_get");
        }
    }

    /// <summary>ggml-base is already loaded (libllama depends on it): its bare name finds that copy.</summary>
    static nint LoadGgmlBase()
    {
        string file = OperatingSystem.IsWindows() ? "ggml-base.dll" : OperatingSystem.IsMacOS() ? "libggml-base.dylib" : "libggml-base.so";
        if (NativeLibrary.TryLoad(file, out var h)) return h;
        foreach (var candidate in Directory.EnumerateFiles(Path.Combine(AppContext.BaseDirectory, "runtimes"), file, SearchOption.AllDirectories))
            if (NativeLibrary.TryLoad(candidate, out h)) return h;
        throw new InvalidOperationException($"Could not find {file} (llama.cpp's ggml-base) next to libllama; is LLamaSharp.Backend.Cpu installed?");
    }

    public static byte* Name(nint t) => _getName(t);

    /// <summary>Fails unless <paramref name="t"/>'s fields sit where this reader expects them.</summary>
    public static void CheckLayout(nint t) => CheckLayout((byte*)t, _getName(t), _nelements(t));

    public static void CheckLayout(byte* t, byte* name, long nelements)
    {
        long nameOffset = name - t;
        var ne = (long*)(t + NeOffset);
        long product = 1;
        bool sane = true;
        for (int i = 0; i < 4; i++)
        {
            sane &= ne[i] >= 1 && ne[i] <= int.MaxValue;
            if (sane) product *= ne[i];
        }
        if (nameOffset != NameOffset || !sane || product != nelements)
            throw new GgmlLayoutException(
                $"llama.cpp's ggml_tensor layout is not the one SaeGuard reads (name at byte {nameOffset}, expected {NameOffset}; " +
                $"shape product {(sane ? product.ToString() : "invalid")} vs ggml_nelements {nelements}). " +
                "This llama.cpp build is not supported: use the LLamaSharp/LLamaSharp.Backend.Cpu version SaeGuard references (0.30.0).");
    }

    public static int Type(nint t) => *(int*)((byte*)t + TypeOffset);
    public static long Ne(nint t, int i) => ((long*)((byte*)t + NeOffset))[i];
    public static long Nb(nint t, int i) => ((long*)((byte*)t + NbOffset))[i];

    public static void CopyTo(nint t, Span<float> dst)
    {
        fixed (float* p = dst) _tensorGet(t, p, 0, (nuint)(dst.Length * sizeof(float)));
    }

    /// <summary>Overwrites the tensor's data with <paramref name="src"/> (splicing; see GgufSplicer).</summary>
    public static void CopyFrom(nint t, ReadOnlySpan<float> src)
    {
        fixed (float* p = src) _tensorSet(t, p, 0, (nuint)(src.Length * sizeof(float)));
    }

    /// <summary>True when the C string at <paramref name="name"/> equals <paramref name="expected"/> (UTF-8, no terminator).</summary>
    public static bool NameEquals(byte* name, ReadOnlySpan<byte> expected)
    {
        for (int i = 0; i < expected.Length; i++)
            if (name[i] != expected[i]) return false;
        return name[expected.Length] == 0;
    }
}
