using System.Text;
using LLama;
using LLama.Exceptions;
using LLama.Native;
using SaeGuard.Common;

namespace SaeGuard.Gguf;

/// <summary>
/// A GGUF model loaded by llama.cpp (memory-mapped, CPU): its header facts, tokenizer and chat template.
/// The header is validated first, so a non-GGUF or truncated file fails with a message naming it.
/// </summary>
public sealed class GgufModel : IDisposable
{
    readonly Lazy<string> _sha;
    readonly Lazy<GgufChatTemplate?> _template;

    public string Path { get; }
    public GgufFile Header { get; }
    internal SafeLlamaModelHandle Handle { get; }
    public string Architecture { get; }
    public string Name { get; }
    public int NEmbd { get; }
    public int NLayer { get; }
    public int ContextLength { get; }
    public int VocabSize { get; }
    public bool AddBos { get; }
    public bool HasChatTemplate => Header.GetString("tokenizer.chat_template") != null;
    /// <summary>The GGUF's own chat template (tokenizer.chat_template), applied through llama.cpp.</summary>
    public GgufChatTemplate? ChatTemplate => _template.Value;
    public string Sha256 => _sha.Value;

    GgufModel(string path, GgufFile header, SafeLlamaModelHandle handle)
    {
        Path = path; Header = header; Handle = handle;
        Architecture = header.Architecture;
        Name = header.GetString("general.name") ?? System.IO.Path.GetFileNameWithoutExtension(path);
        NEmbd = handle.EmbeddingSize;
        NLayer = handle.LayerCount;
        ContextLength = handle.ContextSize;
        VocabSize = handle.Vocab.Count;
        AddBos = handle.Vocab.ShouldAddBOS;
        _sha = new Lazy<string>(() => Hashing.Sha256File(path));
        _template = new Lazy<GgufChatTemplate?>(() => HasChatTemplate ? GgufChatTemplate.Resolve(this, "auto") : null);
    }

    /// <summary>Reads and checks the header, then loads the weights (mmap) on the CPU.</summary>
    public static GgufModel Load(string path)
    {
        var header = GgufFile.Read(path);
        GgufArchitectures.Validate(header);
        LlamaNative.EnsureLoaded();
        var p = LLamaModelParams.Default();
        p.n_gpu_layers = 0;
        p.load_mode = LLamaLoadMode.MemoryMap;
        LlamaNative.TakeRecentProblems();
        SafeLlamaModelHandle handle;
        try { handle = SafeLlamaModelHandle.LoadFromFile(path, p); }
        catch (LoadWeightsFailedException)
        {
            var why = LlamaNative.TakeRecentProblems();
            throw new UserError($"llama.cpp could not load '{path}' (architecture '{header.Architecture}')" + (why.Length > 0 ? $": {why}" : "."));
        }
        return new GgufModel(path, header, handle);
    }

    /// <summary>Model tokens of <paramref name="text"/>; special-token text is parsed only when <paramref name="parseSpecial"/>.</summary>
    public int[] Tokenize(string text, bool addBos, bool parseSpecial) =>
        Handle.Tokenize(text, addBos, parseSpecial, Encoding.UTF8).Select(t => (int)t).ToArray();

    /// <summary>Control/unknown tokens (BOS, EOS, chat markers) that are not text.</summary>
    public bool IsSpecial(int id) =>
        (((LLamaToken)id).GetAttributes(Handle.Vocab) & (LLamaTokenAttr.Control | LLamaTokenAttr.Unknown | LLamaTokenAttr.Unused)) != 0;

    public bool IsEndOfGeneration(int id) => ((LLamaToken)id).IsEndOfGeneration(Handle.Vocab);

    /// <summary>The BOS token id, or null when the vocabulary has none.</summary>
    public int? Bos => Handle.Vocab.BOS is LLamaToken t ? (int)t : null;

    /// <summary>The token's bytes as the tokenizer reads them back (special tokens spelled out, SPM's ▁ as a space).</summary>
    public byte[] TokenBytes(int id)
    {
        Span<byte> buf = stackalloc byte[256];
        uint n = Handle.TokenToSpan(id, buf, 0, true);
        if (n > buf.Length)
        {
            var big = new byte[n];
            Handle.TokenToSpan(id, big, 0, true);
            return big;
        }
        return buf[..(int)n].ToArray();
    }

    /// <summary>The token as text (special tokens spelled out).</summary>
    public string TokenText(int id) => Handle.Vocab.LLamaTokenToString(id, true) ?? "";

    /// <summary>Text of generated tokens (special tokens left out), decoding multi-token UTF-8 correctly.</summary>
    public string Detokenize(IEnumerable<int> ids)
    {
        var bytes = new List<byte>();
        Span<byte> buf = stackalloc byte[256];
        foreach (var id in ids)
        {
            uint n = Handle.TokenToSpan(id, buf, 0, false);
            bytes.AddRange(buf[..(int)Math.Min(n, (uint)buf.Length)]);
        }
        return Encoding.UTF8.GetString(bytes.ToArray());
    }

    /// <summary>Wraps <paramref name="userText"/> as one user turn in the model's chat template, ready for the assistant's answer.</summary>
    public string ApplyChatTemplate(string userText)
    {
        var t = ChatTemplate ?? throw new UserError($"'{Path}' has no chat template (tokenizer.chat_template) to apply.");
        return t.Render(new[] { new ChatMessage("user", userText) }).Text;
    }

    public void Dispose() => Handle.Dispose();
}
