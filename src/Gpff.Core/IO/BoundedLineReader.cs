using System.Text;

namespace Gpff.IO;

/// <summary>
/// Reads lines (ending in \n, \r\n or \r) from a <see cref="TextReader"/> like <see cref="TextReader.ReadLine"/>,
/// but refuses a line longer than a limit instead of growing without bound, so that a file with no
/// line breaks (a binary file, <c>/dev/zero</c>) gives a clear error, not an out-of-memory crash.
/// The bound holds while reading for a <see cref="StreamReader"/> (files, streams); any other reader is
/// read with its own <see cref="TextReader.ReadLine"/> and the limit is checked on the line it returns.
/// </summary>
public sealed class BoundedLineReader
{
    /// <summary>The default longest line, 16 Mi characters (32 MiB of memory).</summary>
    public const int DefaultMaxLineLength = 16 << 20;

    private readonly TextReader _reader;
    private readonly char[] _buffer = new char[1 << 14];
    private readonly StringBuilder _line = new();
    private int _pos;
    private int _end;
    private bool _eof;

    /// <summary>Wraps a reader (not disposed by this class).</summary>
    /// <param name="reader">The text.</param>
    /// <param name="sourceName">Name used in the error message (a file name, usually).</param>
    /// <param name="maxLineLength">Longest accepted line, in characters.</param>
    public BoundedLineReader(TextReader reader, string sourceName, int maxLineLength = DefaultMaxLineLength)
    {
        ArgumentNullException.ThrowIfNull(reader);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxLineLength, 1);
        _reader = reader;
        SourceName = sourceName;
        MaxLineLength = maxLineLength;
    }

    /// <summary>The name used in error messages.</summary>
    public string SourceName { get; }

    /// <summary>The longest accepted line, in characters.</summary>
    public int MaxLineLength { get; }

    /// <summary>Number of lines returned so far (the 1-based number of the last line read).</summary>
    public long LineNumber { get; private set; }

    /// <summary>The next line without its terminator, or null at the end of the text.</summary>
    /// <exception cref="InvalidDataException">The line is longer than <see cref="MaxLineLength"/> (the message names the source and line).</exception>
    public string? ReadLine()
    {
        if (_reader is not StreamReader)
        {
            string? l = _reader.ReadLine();
            if (l is not null && l.Length > MaxLineLength)
            {
                throw TooLong();
            }

            if (l is not null)
            {
                LineNumber++;
            }

            return l;
        }

        _line.Clear();
        bool any = false;
        while (true)
        {
            if (_pos == _end)
            {
                if (_eof || !Fill())
                {
                    if (!any)
                    {
                        return null;
                    }

                    LineNumber++;
                    return _line.ToString();
                }
            }

            any = true;
            int start = _pos;
            while (_pos < _end && _buffer[_pos] != '\n' && _buffer[_pos] != '\r')
            {
                _pos++;
            }

            _line.Append(_buffer, start, _pos - start);
            if (_line.Length > MaxLineLength)
            {
                throw TooLong();
            }

            if (_pos < _end)
            {
                char c = _buffer[_pos++];
                if (c == '\r')
                {
                    if (_pos == _end && !_eof)
                    {
                        Fill();
                    }

                    if (_pos < _end && _buffer[_pos] == '\n')
                    {
                        _pos++;
                    }
                }

                LineNumber++;
                return _line.ToString();
            }
        }
    }

    private InvalidDataException TooLong() =>
        new($"{SourceName}, line {LineNumber + 1}: longer than {MaxLineLength} characters without a line break; this is not a text file of the expected format.");

    private bool Fill()
    {
        _pos = 0;
        _end = _reader.Read(_buffer, 0, _buffer.Length);
        if (_end <= 0)
        {
            _end = 0;
            _eof = true;
            return false;
        }

        return true;
    }
}
