namespace SaeGuard.Data.Formats;

/// <summary>
/// A read-only file stream that throws <see cref="EndOfStreamException"/> when a read asks for
/// bytes at the end of the file instead of returning 0. Given to Parquet.Net, whose Thrift reader
/// otherwise spins forever on a varint that runs into the end of a damaged file.
/// </summary>
sealed class EndCheckedStream(Stream inner, string path) : Stream
{
    public override bool CanRead => true;
    public override bool CanSeek => inner.CanSeek;
    public override bool CanWrite => false;
    public override long Length => inner.Length;
    public override long Position { get => inner.Position; set => inner.Position = value; }
    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => inner.Seek(offset, origin);
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override int Read(byte[] buffer, int offset, int count) => Checked(inner.Read(buffer, offset, count), count);
    public override int Read(Span<byte> buffer) => Checked(inner.Read(buffer), buffer.Length);
    public override int ReadByte() => inner.ReadByte() is var b && b >= 0 ? b : throw End();

    public override async Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken ct) =>
        Checked(await inner.ReadAsync(buffer.AsMemory(offset, count), ct).ConfigureAwait(false), count);

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken ct = default) =>
        Checked(await inner.ReadAsync(buffer, ct).ConfigureAwait(false), buffer.Length);

    int Checked(int n, int asked) => n == 0 && asked > 0 ? throw End() : n;

    EndOfStreamException End() => new($"'{path}' ends in the middle of a Parquet structure (damaged file).");

    protected override void Dispose(bool disposing)
    {
        if (disposing) inner.Dispose();
        base.Dispose(disposing);
    }
}
