using SaeGuard.Common;
using SaeGuard.Models.ChatTemplates;

namespace SaeGuard.Models;

/// <summary>
/// A Hugging Face tokenizer.json (byte-level BPE as in GPT-2/Llama-3/Qwen2, SentencePiece BPE or Unigram
/// as in Llama-2/Mistral/Gemma/Phi-3) run by Hugging Face's own Rust implementation through
/// Tokenizers.DotNet, with the model's BOS/EOS around each text and, optionally, a chat template.
/// Special-token strings typed inside a text stay literal text (as <c>split_special_tokens=True</c>),
/// so a prompt cannot inject BOS or turn markers; only the template's own markers are special tokens.
/// </summary>
public sealed class HfTextTokenizer : ITextTokenizer, IDisposable
{
    readonly Tokenizers.DotNet.Tokenizer _text;
    readonly TokenizerJsonFile _file;
    readonly ChatTemplate? _template;

    public HfTextTokenizer(TokenizerJsonFile file, ChatTemplate? template = null)
    {
        _file = file;
        _template = template;
        // The library reads a path only: hand it the text model (no special added tokens, no
        // post-processor) through a private temporary file.
        var tmp = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"saeguard-tok-{Guid.NewGuid():N}.json");
        try
        {
            System.IO.File.WriteAllText(tmp, file.ModelOnlyJson);
            _text = new Tokenizers.DotNet.Tokenizer(tmp);
        }
        catch (Tokenizers.DotNet.TokenizerException e)
        {
            throw new UserError($"'{file.Path}' could not be loaded by the Hugging Face tokenizer: {e.Message}");
        }
        catch (Exception e) when (e is DllNotFoundException or TypeInitializationException or EntryPointNotFoundException)
        {
            throw new UserError($"'{file.Path}' needs the native Hugging Face tokenizers library (Tokenizers.DotNet), which this build carries for linux-x64 only: {e.Message}");
        }
        finally { try { System.IO.File.Delete(tmp); } catch (IOException) { } }
        if (template != null)
            foreach (var piece in template.Render("x", file.BosToken).Where(p => p.Kind == ChatPieceKind.SpecialToken))
                file.Id(piece.Text, $"{template.Name} chat-template token");
        PadId = file.Prefix.Length > 0 ? file.Prefix[0] : file.TryId(file.EosToken ?? "") ?? 0;
    }

    public static HfTextTokenizer FromFile(string path, ChatTemplateChoice? choice = null)
    {
        var file = TokenizerJsonFile.Load(path);
        var template = ChatTemplate.Resolve(choice ?? ChatTemplateChoice.None, file.ChatTemplate, $"'{file.Path}' (tokenizer_config.json)");
        return new HfTextTokenizer(file, template);
    }

    public TokenizerJsonFile Source => _file;
    public ChatTemplate? Template => _template;
    public int VocabSize => _file.Vocab.Length;
    public int PadId { get; }
    public string TokenText(int id) => id >= 0 && id < _file.Vocab.Length ? _file.Vocab[id] : $"<{id}>";

    /// <summary>The plain text's ids, without any special token.</summary>
    public int[] EncodeText(string text) => text.Length == 0 ? Array.Empty<int>() : Array.ConvertAll(_text.Encode(text), v => (int)v);

    public TokenizedText Encode(string text, int maxLength)
    {
        var ids = new List<int>();
        var special = new List<bool>();
        var template = new List<bool>();
        if (_template == null)
        {
            foreach (var id in _file.Prefix) { ids.Add(id); special.Add(true); template.Add(false); }
            foreach (var id in EncodeText(text)) { ids.Add(id); special.Add(false); template.Add(false); }
            foreach (var id in _file.Suffix) { ids.Add(id); special.Add(true); template.Add(false); }
        }
        else
        {
            var pieces = _template.Render(text, _file.BosToken);
            for (int i = 0; i < pieces.Count;)
            {
                if (pieces[i].Kind == ChatPieceKind.SpecialToken)
                {
                    ids.Add(_file.Id(pieces[i].Text, "chat-template token")); special.Add(true); template.Add(true);
                    i++;
                    continue;
                }
                int j = i;
                while (j < pieces.Count && pieces[j].Kind != ChatPieceKind.SpecialToken) j++;
                AddRun(pieces.GetRange(i, j - i), ids, special, template);
                i = j;
            }
        }
        bool truncated = ids.Count > Math.Max(1, maxLength);
        if (truncated) Truncate(ids, special, template, Math.Max(1, maxLength));
        return new TokenizedText(ids.ToArray(), special.ToArray(), truncated) { IsTemplate = _template != null ? template.ToArray() : null };
    }

    /// <summary>
    /// Tokenizes a run of template and user text as one string (as the model's tokenizer sees the
    /// rendered chat) and gives each token to the piece it was settled in: the tokens of pieces 1..k
    /// are those that tokenizing pieces 1..k alone shares with the whole run. A token spanning a
    /// border belongs to the later piece.
    /// </summary>
    void AddRun(List<ChatPiece> run, List<int> ids, List<bool> special, List<bool> template)
    {
        var full = EncodeText(string.Concat(run.Select(p => p.Text)));
        int done = 0;
        var text = "";
        for (int k = 0; k < run.Count; k++)
        {
            text += run[k].Text;
            int settled = k == run.Count - 1 ? full.Length : CommonPrefix(EncodeText(text), full);
            bool user = run[k].Kind == ChatPieceKind.UserText;
            for (int t = done; t < settled; t++) { ids.Add(full[t]); special.Add(!user); template.Add(!user); }
            done = Math.Max(done, settled);
        }
    }

    static int CommonPrefix(int[] a, int[] b)
    {
        int n = 0;
        while (n < a.Length && n < b.Length && a[n] == b[n]) n++;
        return n;
    }

    /// <summary>Drops the user's last tokens (or, without a template, the text's) so that the template and BOS/EOS survive.</summary>
    static void Truncate(List<int> ids, List<bool> special, List<bool> template, int max)
    {
        int excess = ids.Count - max;
        for (int i = ids.Count - 1; i >= 0 && excess > 0; i--)
            if (!special[i]) { ids.RemoveAt(i); special.RemoveAt(i); template.RemoveAt(i); excess--; }
        if (excess > 0)
        {
            ids.RemoveRange(max, ids.Count - max); special.RemoveRange(max, special.Count - max); template.RemoveRange(max, template.Count - max);
        }
    }

    public void Dispose() => _text.Dispose();
}
