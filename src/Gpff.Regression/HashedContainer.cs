using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Gpff.Regression;

/// <summary>
/// The one layout of Gpff's binary files (full-GP models, sparse models, mapped force fields), all little-endian:
/// an 8-byte magic, the format version (int32), the length of a UTF-8 JSON header (int64), the header, a payload
/// written by each format (int32/int64 counts and float64 values), and a SHA-256 of everything before it.
/// <see cref="HashedWriter"/> writes it and <see cref="HashedReader"/> reads it back; each file format says what
/// its header and payload hold.
/// </summary>
internal static class HashedContainer
{
    /// <summary>Bytes of the prelude before the header: magic, version and header length.</summary>
    public const int PreludeBytes = 8 + 4 + 8;

    /// <summary>Bytes of the SHA-256 at the end.</summary>
    public const int ChecksumBytes = 32;

    /// <summary>The message of a file whose checksum does not match.</summary>
    public const string ChecksumMismatch = "the checksum does not match: the file is damaged (changed or corrupted after it was written).";
}

/// <summary>Writes a <see cref="HashedContainer"/>: the prelude at construction, then the payload, then <see cref="Finish"/>.</summary>
internal sealed class HashedWriter : IDisposable
{
    private readonly Stream _stream;
    private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private readonly byte[] _buffer = new byte[1 << 16];
    private int _used;

    /// <summary>Writes the magic, the version, the header length and the header.</summary>
    /// <param name="stream">Where to write.</param>
    /// <param name="magic">The format's 8-byte magic.</param>
    /// <param name="version">The format version.</param>
    /// <param name="header">The UTF-8 JSON header.</param>
    public HashedWriter(Stream stream, ReadOnlySpan<byte> magic, int version, ReadOnlySpan<byte> header)
    {
        _stream = stream;
        Write(magic);
        WriteInt32(version);
        WriteInt64(header.Length);
        Write(header);
    }

    /// <summary>Writes raw bytes.</summary>
    public void Write(ReadOnlySpan<byte> bytes)
    {
        Flush();
        _stream.Write(bytes);
        _hash.AppendData(bytes);
    }

    /// <summary>Writes an int32.</summary>
    public void WriteInt32(int value)
    {
        Reserve(4);
        BinaryPrimitives.WriteInt32LittleEndian(_buffer.AsSpan(_used), value);
        _used += 4;
    }

    /// <summary>Writes an int64.</summary>
    public void WriteInt64(long value)
    {
        Reserve(8);
        BinaryPrimitives.WriteInt64LittleEndian(_buffer.AsSpan(_used), value);
        _used += 8;
    }

    /// <summary>Writes a float64.</summary>
    public void WriteDouble(double value)
    {
        Reserve(8);
        BinaryPrimitives.WriteDoubleLittleEndian(_buffer.AsSpan(_used), value);
        _used += 8;
    }

    /// <summary>Writes float64 values.</summary>
    public void WriteDoubles(ReadOnlySpan<double> values)
    {
        foreach (double v in values)
        {
            WriteDouble(v);
        }
    }

    /// <summary>Writes the SHA-256 of everything written so far; the container is complete.</summary>
    public void Finish()
    {
        Flush();
        _stream.Write(_hash.GetHashAndReset());
    }

    /// <inheritdoc />
    public void Dispose() => _hash.Dispose();

    private void Reserve(int bytes)
    {
        if (_used + bytes > _buffer.Length)
        {
            Flush();
        }
    }

    private void Flush()
    {
        if (_used > 0)
        {
            _stream.Write(_buffer.AsSpan(0, _used));
            _hash.AppendData(_buffer.AsSpan(0, _used));
            _used = 0;
        }
    }
}

/// <summary>
/// Reads a <see cref="HashedContainer"/>: every byte read goes into the running SHA-256, which
/// <see cref="VerifyChecksum"/> compares with the stored one. A read past the end throws
/// <see cref="EndOfStreamException"/>, which each format turns into its "truncated" message.
/// </summary>
internal sealed class HashedReader : IDisposable
{
    private readonly Stream _stream;
    private readonly string _path;
    private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private readonly byte[] _buffer = new byte[1 << 16];

    /// <summary>A reader positioned at the magic.</summary>
    /// <param name="stream">The stream.</param>
    /// <param name="path">The file, for messages.</param>
    public HashedReader(Stream stream, string path)
    {
        _stream = stream;
        _path = path;
    }

    /// <summary>Reads exactly <paramref name="buffer"/>.Length bytes.</summary>
    public void Read(Span<byte> buffer)
    {
        _stream.ReadExactly(buffer);
        _hash.AppendData(buffer);
    }

    /// <summary>Reads an int32.</summary>
    public int ReadInt32()
    {
        Span<byte> b = stackalloc byte[4];
        Read(b);
        return BinaryPrimitives.ReadInt32LittleEndian(b);
    }

    /// <summary>Reads an int64.</summary>
    public long ReadInt64()
    {
        Span<byte> b = stackalloc byte[8];
        Read(b);
        return BinaryPrimitives.ReadInt64LittleEndian(b);
    }

    /// <summary>
    /// Reads the version and the header after a magic the caller has read and checked (formats differ in what
    /// a wrong magic means), refusing a version newer than <paramref name="maxVersion"/> or below 1 and a header
    /// longer than <paramref name="length"/> bytes.
    /// </summary>
    /// <param name="maxVersion">The newest version this Gpff reads.</param>
    /// <param name="length">Bytes of the container (the file, or the section holding it).</param>
    /// <param name="formatName">How messages name the format ("model", "mapped-GP").</param>
    /// <param name="containerNoun">How messages name the container ("file", or "map" for a section of a model file).</param>
    /// <returns>The version and the header bytes.</returns>
    /// <exception cref="ModelFileException">A future or invalid version, or an impossible header length.</exception>
    public (int Version, byte[] Header) ReadVersionAndHeader(int maxVersion, long length, string formatName, string containerNoun = "file")
    {
        int version = ReadInt32();
        if (version > maxVersion)
        {
            throw new ModelFileException(_path, $"it was written in {formatName} format version {version} by a newer Gpff; this Gpff reads versions up to {maxVersion}. Update Gpff to load it.");
        }

        if (version < 1)
        {
            throw new ModelFileException(_path, $"invalid format version {version}.");
        }

        long headerLength = ReadInt64();
        if (headerLength <= 0 || headerLength > length)
        {
            throw new ModelFileException(_path, $"the header length {headerLength} is impossible for a {length}-byte {containerNoun} (damaged file).");
        }

        var header = new byte[headerLength];
        Read(header);
        return (version, header);
    }

    /// <summary>Reads <paramref name="count"/> float64 values.</summary>
    public double[] ReadDoubles(long count)
    {
        var values = new double[count];
        ReadDoubles(values);
        return values;
    }

    /// <summary>Reads float64 values into <paramref name="destination"/>, through a fixed buffer.</summary>
    public void ReadDoubles(Span<double> destination)
    {
        Span<byte> bytes = _buffer;
        for (int start = 0; start < destination.Length; start += bytes.Length / 8)
        {
            int count = Math.Min(bytes.Length / 8, destination.Length - start);
            Read(bytes[..(8 * count)]);
            for (int i = 0; i < count; i++)
            {
                destination[start + i] = BinaryPrimitives.ReadDoubleLittleEndian(bytes[(8 * i)..]);
            }
        }
    }

    /// <summary>Reads the stored SHA-256 and compares it with the hash of everything read.</summary>
    /// <exception cref="ModelFileException">They differ: the file is damaged.</exception>
    public void VerifyChecksum()
    {
        var computed = _hash.GetHashAndReset();
        var stored = new byte[HashedContainer.ChecksumBytes];
        _stream.ReadExactly(stored);
        if (!computed.AsSpan().SequenceEqual(stored))
        {
            throw new ModelFileException(_path, HashedContainer.ChecksumMismatch);
        }
    }

    /// <inheritdoc />
    public void Dispose() => _hash.Dispose();
}
