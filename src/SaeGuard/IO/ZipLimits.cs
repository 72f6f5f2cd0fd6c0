using System.IO.Compression;

namespace SaeGuard.IO;

/// <summary>How much a reader of untrusted archives (npz, torch .pt) may unpack.</summary>
public sealed record ReadLimits
{
    /// <summary>Largest single array or storage, in bytes (default: what one .NET array holds).</summary>
    public long MaxEntryBytes { get; init; } = Array.MaxLength;
    /// <summary>Largest total unpacked size of one archive.</summary>
    public long MaxTotalBytes { get; init; } = 64L << 30;
    /// <summary>Deflate cannot exceed about 1032:1; anything claiming more is a zip bomb.</summary>
    public double MaxCompressionRatio { get; init; } = 1100;

    public static ReadLimits Default { get; } = new();
}

/// <summary>
/// Opens zip archives and reads entries with the declared sizes checked against
/// <see cref="ReadLimits"/> before anything is allocated, and the actual size checked against
/// the declared one while reading. Every failure surfaces as <see cref="InvalidDataException"/>.
/// </summary>
public sealed class SafeZip : IDisposable
{
    readonly ZipArchive _zip;
    readonly ReadLimits _limits;
    readonly long _fileLength;
    long _total;
    public string Path { get; }
    public IReadOnlyList<ZipArchiveEntry> Entries { get; }

    SafeZip(string path, ZipArchive zip, ReadLimits limits, long fileLength)
    {
        Path = path; _zip = zip; _limits = limits; _fileLength = fileLength;
        Entries = Wrap(() => zip.Entries.ToList(), path);
    }

    public static SafeZip Open(string path, ReadLimits? limits = null)
    {
        var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        try
        {
            var zip = Wrap(() => new ZipArchive(fs, ZipArchiveMode.Read, leaveOpen: false), path);
            return new SafeZip(path, zip, limits ?? ReadLimits.Default, fs.Length);
        }
        catch
        {
            fs.Dispose();
            throw;
        }
    }

    public ZipArchiveEntry? Find(string fullName) => Entries.FirstOrDefault(e => e.FullName == fullName);

    /// <summary>Checks an entry's declared size against the limits; returns it.</summary>
    public long CheckDeclared(ZipArchiveEntry e)
    {
        long declared = e.Length, packed = e.CompressedLength;
        if (declared < 0 || packed < 0) throw new InvalidDataException($"'{Path}': entry '{e.FullName}' has a negative size.");
        if (packed > _fileLength)
            throw new InvalidDataException($"'{Path}': entry '{e.FullName}' claims {packed:N0} packed bytes in a {_fileLength:N0}-byte file.");
        if (declared > _limits.MaxEntryBytes)
            throw new InvalidDataException($"'{Path}': entry '{e.FullName}' declares {declared:N0} bytes unpacked, more than the limit of {_limits.MaxEntryBytes:N0}.");
        if (declared > 4096 && declared > packed * _limits.MaxCompressionRatio)
            throw new InvalidDataException($"'{Path}': entry '{e.FullName}' declares {declared:N0} bytes from {packed:N0} packed, a ratio no real compressor reaches (zip bomb?).");
        if (_total + declared > _limits.MaxTotalBytes)
            throw new InvalidDataException($"'{Path}': entries unpack to more than the limit of {_limits.MaxTotalBytes:N0} bytes.");
        return declared;
    }

    /// <summary>An entry's bytes, exactly its declared length (more or fewer is an error).</summary>
    public byte[] ReadAll(ZipArchiveEntry e)
    {
        long declared = CheckDeclared(e);
        _total += declared;
        return Wrap(() =>
        {
            using var s = e.Open();
            // A stored entry's bytes are known to be in the file (packed ≤ file length), so it is
            // allocated whole; a compressed one grows as data arrives, so a false size costs nothing.
            var buf = GC.AllocateUninitializedArray<byte>((int)(e.CompressedLength >= declared ? declared : Math.Min(declared, 1 << 24)));
            long got = 0;
            while (got < declared)
            {
                if (got == buf.Length) Array.Resize(ref buf, (int)Math.Min(declared, 2L * buf.Length));
                int n = s.Read(buf, (int)got, (int)(buf.Length - got));
                if (n <= 0) throw new InvalidDataException($"'{Path}': entry '{e.FullName}' holds {got:N0} bytes, its header declares {declared:N0}.");
                got += n;
            }
            if (s.ReadByte() >= 0) throw new InvalidDataException($"'{Path}': entry '{e.FullName}' holds more than the {declared:N0} bytes its header declares.");
            return buf;
        }, Path);
    }

    /// <summary>
    /// Parses an entry straight from its (inflating) stream, which holds exactly its declared
    /// length: no whole-entry buffer, so memory is what <paramref name="read"/> keeps.
    /// </summary>
    public T ReadStreamed<T>(ZipArchiveEntry e, Func<Stream, long, T> read)
    {
        long declared = CheckDeclared(e);
        _total += declared;
        return Wrap(() =>
        {
            using var s = e.Open();
            T result;
            try { result = read(s, declared); }
            catch (EndOfStreamException) { throw new InvalidDataException($"'{Path}': entry '{e.FullName}' holds fewer bytes than its header declares ({declared:N0})."); }
            if (s.ReadByte() >= 0) throw new InvalidDataException($"'{Path}': entry '{e.FullName}' holds more than the {declared:N0} bytes its header declares.");
            return result;
        }, Path);
    }

    /// <summary>
    /// An entry as a stream of its (inflated) bytes after the declared size passed the limits; the
    /// reader must stop at the declared length (fewer bytes surface as an EndOfStreamException).
    /// </summary>
    public Stream OpenChecked(ZipArchiveEntry e)
    {
        _total += CheckDeclared(e);
        return Wrap(e.Open, Path);
    }

    /// <summary>Runs zip library code, turning its assorted exceptions into InvalidDataException.</summary>
    public static T Wrap<T>(Func<T> f, string path)
    {
        try { return f(); }
        catch (InvalidDataException) { throw; }
        catch (Exception e) when (e is IOException or ArgumentException or NotSupportedException or InvalidOperationException or OverflowException or IndexOutOfRangeException)
        {
            if (e is FileNotFoundException or DirectoryNotFoundException) throw;
            throw new InvalidDataException($"'{path}' is not a readable zip archive: {e.Message}", e);
        }
    }

    public void Dispose() => _zip.Dispose();
}

/// <summary>A read-only stream that also disposes the archive it came from.</summary>
public sealed class OwningStream(Stream inner, IDisposable owner) : Stream
{
    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, count);
    public override int Read(Span<byte> buffer) => inner.Read(buffer);
    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing) { inner.Dispose(); owner.Dispose(); }
        base.Dispose(disposing);
    }
}
