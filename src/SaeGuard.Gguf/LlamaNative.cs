using LLama.Native;

namespace SaeGuard.Gguf;

/// <summary>
/// Loads llama.cpp once (through LLamaSharp's native loader) and routes its log: silent by default,
/// warnings and errors kept so that a failed load can say why; SAEGUARD_LLAMA_LOG=1 prints everything.
/// </summary>
internal static class LlamaNative
{
    static readonly object Gate = new();
    static readonly Queue<string> Recent = new();
    static bool _loaded;
    static readonly bool Verbose = Environment.GetEnvironmentVariable("SAEGUARD_LLAMA_LOG") is "1" or "true";

    public static void EnsureLoaded()
    {
        lock (Gate)
        {
            if (_loaded) return;
            try { NativeLibraryConfig.All.WithLogCallback(OnLog); }
            catch (Exception e) when (e is not OutOfMemoryException) { /* already loaded by someone else: keep their logging */ }
            PreferSleepingOpenMpThreads();
            NativeApi.llama_empty_call();
            NativeLogConfig.llama_log_set(OnLog);
            _loaded = true;
        }
    }

    /// <summary>
    /// ggml's CPU backend synchronises its threads with OpenMP barriers after every graph node. By
    /// default libgomp spins while waiting, which on a busy or small machine (other processes, CI,
    /// parallel tests) turns a millisecond forward into hundreds; sleeping waits cost little on big
    /// models. libgomp reads OMP_WAIT_POLICY once, when it loads, so it is set in the native
    /// environment before llama.cpp is loaded, unless the user chose a policy.
    /// </summary>
    static unsafe void PreferSleepingOpenMpThreads()
    {
        if (Environment.GetEnvironmentVariable("OMP_WAIT_POLICY") != null || Environment.GetEnvironmentVariable("GOMP_SPINCOUNT") != null) return;
        if (OperatingSystem.IsWindows()) { Environment.SetEnvironmentVariable("OMP_WAIT_POLICY", "PASSIVE"); return; }
        // .NET keeps its own copy of the environment on Unix: call libc's setenv.
        if (!System.Runtime.InteropServices.NativeLibrary.TryGetExport(
                System.Runtime.InteropServices.NativeLibrary.GetMainProgramHandle(), "setenv", out var setenv)) return;
        fixed (byte* name = "OMP_WAIT_POLICY\0"u8, value = "PASSIVE\0"u8)
            ((delegate* unmanaged[Cdecl]<byte*, byte*, int, int>)setenv)(name, value, 0);
    }

    static void OnLog(LLamaLogLevel level, string message)
    {
        if (Verbose) Console.Error.Write(message);
        if (level is LLamaLogLevel.Warning or LLamaLogLevel.Error)
            lock (Recent)
            {
                Recent.Enqueue(message.TrimEnd());
                while (Recent.Count > 20) Recent.Dequeue();
            }
    }

    /// <summary>Warnings and errors llama.cpp logged since the last call (then forgotten).</summary>
    public static string TakeRecentProblems()
    {
        lock (Recent)
        {
            var s = string.Join(" | ", Recent.Where(m => m.Length > 0));
            Recent.Clear();
            return s;
        }
    }
}
