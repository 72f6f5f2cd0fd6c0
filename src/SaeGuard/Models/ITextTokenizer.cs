namespace SaeGuard.Models;

public interface ITextTokenizer
{
    /// <summary>Tokenizes with the model's special tokens, truncating to <paramref name="maxLength"/> tokens.</summary>
    TokenizedText Encode(string text, int maxLength);
    string TokenText(int id);
    int VocabSize { get; }
    int PadId { get; }
}
