using System.Buffers.Binary;
using System.IO.Compression;

namespace SaeGuard.Data.Formats;

/// <summary>
/// Opens a file for reading, decompressing it when it ends in .gz. .NET's GZipStream returns a
/// clean end of stream on a truncated file, so the decompressed size is checked against the
/// gzip trailer (ISIZE) when the stream ends; a mismatch throws <see cref="InvalidDataException"/>.
/// </summary>
public static class GzipFile
{
    public static Stream OpenRead(string path)
    {
        var fs = File.OpenRead(path);
        if (!path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase)) return fs;
        if (fs.Length < 18)
        {
            fs.Dispose();
            throw new InvalidDataException($"'{path}' is too short ({fs.Length} bytes) to be a gzip file.");
        }
        Span<byte> trailer = stackalloc byte[4];
        fs.Seek(-4, SeekOrigin.End);
        fs.ReadExactly(trailer);
        fs.Seek(0, SeekOrigin.Begin);
        return new CheckedGzipStream(fs, path, BinaryPrimitives.ReadUInt32LittleEndian(trailer));
    }

    sealed class CheckedGzipStream(Stream file, string path, uint expectedSize) : Stream
    {
        readonly GZipStream _gz = new(file, CompressionMode.Decompress);
        long _count;
        bool _verified;

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            int n;
            try { n = _gz.Read(buffer); }
            catch (InvalidDataException e) { throw Corrupt(e); }
            return Count(n, buffer.Length);
        }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken ct = default)
        {
            int n;
            try { n = await _gz.ReadAsync(buffer, ct).ConfigureAwait(false); }
            catch (InvalidDataException e) { throw Corrupt(e); }
            return Count(n, buffer.Length);
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken ct) =>
            ReadAsync(buffer.AsMemory(offset, count), ct).AsTask();

        InvalidDataException Corrupt(Exception e) => new($"'{path}' is not a valid gzip file ({e.Message}).", e);

        int Count(int n, int asked)
        {
            _count += n;
            if (n == 0 && asked > 0 && !_verified)
            {
                _verified = true;
                if ((uint)_count != expectedSize)
                    throw new InvalidDataException(
                        $"'{path}' is truncated or corrupt: its gzip trailer records {expectedSize:N0} uncompressed bytes (mod 2^32) but the stream ended after {_count:N0}.");
            }
            return n;
        }

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => _count; set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing) _gz.Dispose();
            base.Dispose(disposing);
        }
    }
}
