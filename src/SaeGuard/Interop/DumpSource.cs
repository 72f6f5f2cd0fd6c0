using SaeGuard.Activations;

namespace SaeGuard.Interop;

/// <summary>
/// Either a SaeGuard dump (meta.json with shards) or a foreign one (chunk files), behind one
/// row-block stream: what <c>analyze --dump</c> and friends accept.
/// </summary>
public sealed class DumpSource
{
    public string Dir { get; }
    public int Width { get; }
    public long Rows { get; }
    public ActivationDump? Native { get; }
    public ForeignDump? Foreign { get; }
    /// <summary>One line for logs: the dump kind, size and, for foreign dumps, the orientation guess.</summary>
    public string Description { get; }

    DumpSource(string dir, ActivationDump? native, ForeignDump? foreign)
    {
        Dir = dir; Native = native; Foreign = foreign;
        if (native != null)
        {
            Width = native.D; Rows = native.NTokens;
            Description = $"SaeGuard dump: {Rows:N0} rows × {Width}";
        }
        else
        {
            Width = foreign!.Width; Rows = foreign.Rows;
            Description = $"foreign dump: {foreign.Chunks.Count} chunks, {Rows:N0} rows × {Width}, {foreign.Orientation}";
        }
    }

    public static DumpSource Open(string dir, ForeignDumpOptions? foreignOptions = null) =>
        ForeignDump.LooksLikeForeignDump(dir)
            ? new DumpSource(dir, null, ForeignDump.Open(dir, foreignOptions))
            : new DumpSource(dir, ActivationDump.Open(dir), null);

    public IEnumerable<RowBlock> ReadBlocks(int blockRows = 8192) =>
        Native != null ? Native.ReadBlocks(blockRows) : Foreign!.ReadBlocks(blockRows);
}
