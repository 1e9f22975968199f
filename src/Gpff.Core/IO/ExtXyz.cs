using System.Globalization;
using System.IO.Compression;
using System.Text;
using Gpff.Geometry;

namespace Gpff.IO;

/// <summary>
/// Extended XYZ files in ASE's dialect: a count line, a comment line of key=value pairs
/// (<c>Lattice="…"</c>, <c>Properties=species:S:1:pos:R:3:forces:R:3…</c>, <c>energy=</c>,
/// <c>stress=</c> (9 or 6 numbers, eV/Å³, ASE sign), <c>virial=</c> (9 numbers, eV; stress = −virial/V),
/// <c>pbc="T T F"</c>, and any further pairs), then one line per atom with the declared columns
/// (types S, R, I, L). Many frames per file; reading is streamed frame by frame, so files larger than
/// memory can be processed. Files ending in <c>.gz</c> are read and written gzip-compressed.
/// </summary>
/// <remarks>
/// On reading, <c>energy</c> goes to <see cref="Structure.EnergyEv"/>, the <c>forces</c> column to
/// <see cref="Structure.ForcesEvPerA"/>, <c>stress</c> or <c>virial</c> to
/// <see cref="Structure.StressEvPerA3"/>; every other key goes to <see cref="Structure.Info"/> and
/// every other column to <see cref="Structure.AtomProperties"/>, and both are written back. A bare key
/// without a value is read as <c>true</c>, as ASE does. Numbers are written in shortest round-trip form,
/// so a write → read cycle is exact.
/// </remarks>
public static class ExtXyz
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>Reads all frames of a file lazily (one frame in memory at a time).</summary>
    /// <param name="path">File path; <c>.gz</c> files are decompressed on the fly.</param>
    /// <returns>The frames, in file order, as they are read.</returns>
    /// <exception cref="ExtXyzFormatException">A malformed frame (the message names the file, frame and line).</exception>
    public static IEnumerable<Structure> Read(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"Extended XYZ file '{path}' does not exist.", path);
        }

        return ReadIterator(path);

        static IEnumerable<Structure> ReadIterator(string path)
        {
            using var reader = OpenText(path);
            foreach (var s in Read(reader, path))
            {
                yield return s;
            }
        }
    }

    /// <summary>Reads all frames from a text reader lazily.</summary>
    /// <param name="reader">The text; not disposed.</param>
    /// <param name="sourceName">Name used in error messages (a file name, usually).</param>
    /// <returns>The frames, in order.</returns>
    /// <exception cref="ExtXyzFormatException">A malformed frame.</exception>
    public static IEnumerable<Structure> Read(TextReader reader, string sourceName = "<stream>")
    {
        ArgumentNullException.ThrowIfNull(reader);
        var state = new LineReader(reader, sourceName);
        int frame = 0;
        while (true)
        {
            var s = ReadFrame(state, frame);
            if (s is null)
            {
                yield break;
            }

            yield return s;
            frame++;
        }
    }

    /// <summary>Reads one frame of a file by index (0-based), streaming past the earlier ones.</summary>
    /// <param name="path">File path.</param>
    /// <param name="index">Frame index; negative counts from the end (−1 is the last frame).</param>
    /// <returns>The frame.</returns>
    public static Structure ReadFrame(string path, int index)
    {
        if (index >= 0)
        {
            int i = 0;
            foreach (var s in Read(path))
            {
                if (i++ == index)
                {
                    return s;
                }
            }

            throw new ArgumentOutOfRangeException(nameof(index), index, $"'{path}' has only {i} frames.");
        }

        var ring = new Queue<Structure>();
        foreach (var s in Read(path))
        {
            ring.Enqueue(s);
            if (ring.Count > -index)
            {
                ring.Dequeue();
            }
        }

        if (ring.Count < -index)
        {
            throw new ArgumentOutOfRangeException(nameof(index), index, $"'{path}' has only {ring.Count} frames.");
        }

        return ring.Peek();
    }

    /// <summary>
    /// Writes frames to a file. Without <paramref name="append"/> the file is written to a temporary
    /// file in the same folder and renamed into place, so a failure never leaves a half-written file.
    /// </summary>
    /// <param name="path">File path; a <c>.gz</c> name writes gzip-compressed text.</param>
    /// <param name="frames">The frames; enumerated once.</param>
    /// <param name="append">Append to an existing file instead of replacing it.</param>
    public static void Write(string path, IEnumerable<Structure> frames, bool append = false)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(frames);
        bool gz = path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase);
        if (append)
        {
            CheckAppendable(path);
            using var stream = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.Read);
            using var writer = MakeWriter(stream, gz);
            Write(writer, frames);
            return;
        }

        SafeFile.WriteAtomic(path, stream =>
        {
            using var writer = MakeWriter(stream, gz, leaveOpen: true);
            Write(writer, frames);
        });
    }

    /// <summary>
    /// Throws when <paramref name="path"/> exists, is not empty and is not a readable extended XYZ file
    /// (every frame is read, streamed), so that frames are never appended to a file of another kind.
    /// </summary>
    /// <param name="path">The file to append to.</param>
    /// <exception cref="InvalidDataException">The file is not extended XYZ; the message names the file, frame and line.</exception>
    public static void CheckAppendable(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path) || new FileInfo(path).Length == 0)
        {
            return;
        }

        try
        {
            foreach (var _ in Read(path))
            {
            }
        }
        catch (Exception ex) when (ex is FormatException or InvalidDataException)
        {
            throw new InvalidDataException($"Cannot append to '{path}': it is not an extended XYZ file ({ex.Message})", ex);
        }
    }

    /// <summary>Writes frames to a text writer.</summary>
    /// <param name="writer">Destination; not disposed.</param>
    /// <param name="frames">The frames.</param>
    public static void Write(TextWriter writer, IEnumerable<Structure> frames)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(frames);
        int frame = 0;
        foreach (var s in frames)
        {
            CheckFinite(s, frame);
            WriteFrame(writer, s);
            frame++;
        }
    }

    /// <summary>Formats one frame as extended XYZ text.</summary>
    /// <param name="structure">The frame.</param>
    /// <returns>The text, ending in a newline.</returns>
    public static string ToText(Structure structure)
    {
        var sw = new StringWriter(Inv);
        WriteFrame(sw, structure);
        return sw.ToString();
    }

    /// <summary>Parses extended XYZ text (one or more frames).</summary>
    /// <param name="text">The text.</param>
    /// <param name="sourceName">Name used in error messages.</param>
    /// <returns>All frames.</returns>
    public static List<Structure> Parse(string text, string sourceName = "<text>")
    {
        ArgumentNullException.ThrowIfNull(text);
        return Read(new StringReader(text), sourceName).ToList();
    }

    private static TextReader OpenText(string path)
    {
        Stream stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        if (path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase))
        {
            stream = new GZipStream(stream, CompressionMode.Decompress);
        }

        return new StreamReader(stream, Encoding.UTF8, detectEncodingFromByteOrderMarks: true, 1 << 16);
    }

    private static StreamWriter MakeWriter(Stream stream, bool gz, bool leaveOpen = false)
    {
        Stream s = gz ? new GZipStream(stream, CompressionLevel.Optimal, leaveOpen) : stream;
        return new StreamWriter(s, new UTF8Encoding(false), 1 << 16, leaveOpen: leaveOpen && !gz) { NewLine = "\n" };
    }

    // ---------------------------------------------------------------- reading

    private sealed class LineReader(TextReader reader, string source)
    {
        private readonly BoundedLineReader _lines = new(reader, source);

        public string Source { get; } = source;

        public long LineNumber => _lines.LineNumber;

        public string? Next() => _lines.ReadLine();

        public ExtXyzFormatException Error(int frame, string message, long? line = null) =>
            new($"{Source}, frame {frame + 1}, line {line ?? LineNumber}: {message}", Source, frame, line ?? LineNumber);
    }

    private enum ColumnKind
    {
        Species,
        Positions,
        Forces,
        Other,
    }

    private sealed record Column(string Name, AtomPropertyType Type, int Count, ColumnKind Kind);

    private static Structure? ReadFrame(LineReader r, int frame)
    {
        string? countLine;
        do
        {
            countLine = r.Next();
            if (countLine is null)
            {
                return null;
            }
        }
        while (string.IsNullOrWhiteSpace(countLine));

        if (!int.TryParse(countLine.Trim(), NumberStyles.Integer, Inv, out int n) || n < 0)
        {
            throw r.Error(frame, $"expected the number of atoms, found '{Abbreviate(countLine)}'.");
        }

        var comment = r.Next() ?? throw r.Error(frame, $"the file ends after the atom count {n}; the comment line is missing.");
        long commentLine = r.LineNumber;
        List<KeyValuePair<string, string?>> pairs;
        try
        {
            pairs = ParseKeyValues(comment);
        }
        catch (FormatException e)
        {
            throw r.Error(frame, $"the comment line cannot be read: {e.Message}");
        }

        Mat3 cell = Mat3.Zero;
        bool haveLattice = false;
        Pbc? pbc = null;
        double? energy = null;
        Voigt? stress = null;
        double[]? virial = null;
        List<Column>? columns = null;
        var info = new List<KeyValuePair<string, object>>();
        foreach (var (key, raw) in pairs)
        {
            try
            {
                switch (key)
                {
                    case "Lattice":
                        cell = Mat3.FromRowMajor(ParseNumbers(raw, key, 9));
                        haveLattice = true;
                        break;
                    case "Properties":
                        columns = ParseProperties(raw ?? throw new FormatException("Properties has no value."));
                        break;
                    case "pbc":
                        pbc = ParsePbc(raw);
                        break;
                    case "energy":
                        energy = ParseNumbers(raw, key, 1)[0];
                        break;
                    case "stress":
                        var st = ParseNumbers(raw, key, -1);
                        stress = st.Length switch
                        {
                            9 => Voigt.FromMatrix(Mat3.FromRowMajor(st)),
                            6 => Voigt.FromSpan(st),
                            _ => throw new FormatException($"stress needs 9 or 6 numbers, got {st.Length}."),
                        };
                        break;
                    case "virial":
                        virial = ParseNumbers(raw, key, 9);
                        break;
                    default:
                        info.Add(new(key, ParseInfoValue(raw)));
                        break;
                }
            }
            catch (FormatException e)
            {
                throw r.Error(frame, $"key '{key}': {e.Message}", commentLine);
            }
        }

        if (!cell.IsFinite || (energy is double en && !double.IsFinite(en)) || stress is { IsFinite: false } || (virial is not null && virial.Any(x => !double.IsFinite(x))))
        {
            string which = !cell.IsFinite ? "Lattice" : energy is double en2 && !double.IsFinite(en2) ? "energy" : stress is { IsFinite: false } ? "stress" : "virial";
            throw r.Error(frame, $"key '{which}': a value is not a finite number (NaN or infinity).", commentLine);
        }

        columns ??= [new("species", AtomPropertyType.String, 1, ColumnKind.Species), new("pos", AtomPropertyType.Real, 3, ColumnKind.Positions)];
        if (!columns.Any(c => c.Kind == ColumnKind.Positions))
        {
            throw r.Error(frame, "Properties has no 'pos' column.", commentLine);
        }

        bool hasSpecies = columns.Any(c => c.Kind == ColumnKind.Species);
        int zColumn = columns.FindIndex(c => c.Name == "Z" && c.Type == AtomPropertyType.Integer && c.Count == 1);
        if (!hasSpecies && zColumn < 0)
        {
            throw r.Error(frame, "Properties has neither a 'species' nor a 'Z' column.", commentLine);
        }

        int expected = columns.Sum(c => c.Count);
        var values = new AtomProperty[columns.Count];
        for (int c = 0; c < columns.Count; c++)
        {
            values[c] = AtomProperty.Create(columns[c].Name, columns[c].Type, columns[c].Count, n);
        }

        var symbols = new string[n];
        Span<Range> ranges = stackalloc Range[expected + 1];
        for (int i = 0; i < n; i++)
        {
            var line = r.Next() ?? throw r.Error(frame, $"the file ends after {i} of {n} atom lines (truncated file?).");
            var span = line.AsSpan();
            int got = SplitWhitespace(span, ranges);
            if (got != expected)
            {
                throw r.Error(frame, $"atom {i + 1} has {(got > expected ? "more than " + expected : got.ToString(Inv))} columns; Properties declares {expected}.");
            }

            int k = 0;
            for (int c = 0; c < columns.Count; c++)
            {
                var col = columns[c];
                var prop = values[c];
                for (int m = 0; m < col.Count; m++, k++)
                {
                    var tok = span[ranges[k]];
                    int idx = i * col.Count + m;
                    switch (col.Type)
                    {
                        case AtomPropertyType.Real:
                            if (!double.TryParse(tok, NumberStyles.Float, Inv, out double d))
                            {
                                throw r.Error(frame, $"atom {i + 1}, column '{col.Name}': '{tok}' is not a number.");
                            }

                            if (col.Kind is ColumnKind.Positions or ColumnKind.Forces && !double.IsFinite(d))
                            {
                                throw r.Error(frame, $"atom {i + 1}, column '{col.Name}': '{tok}' is not a finite number.");
                            }

                            prop.Reals![idx] = d;
                            break;
                        case AtomPropertyType.Integer:
                            if (!long.TryParse(tok, NumberStyles.Integer, Inv, out long l))
                            {
                                throw r.Error(frame, $"atom {i + 1}, column '{col.Name}': '{tok}' is not an integer.");
                            }

                            prop.Integers![idx] = l;
                            break;
                        case AtomPropertyType.Logical:
                            prop.Logicals![idx] = ParseBool(tok) ?? throw r.Error(frame, $"atom {i + 1}, column '{col.Name}': '{tok}' is not T or F.");
                            break;
                        default:
                            prop.Strings![idx] = tok.ToString();
                            break;
                    }
                }
            }
        }

        int[] z = new int[n];
        for (int i = 0; i < n; i++)
        {
            if (hasSpecies)
            {
                string sym = values[columns.FindIndex(c => c.Kind == ColumnKind.Species)].Strings![i];
                if (!Elements.TryGetAtomicNumber(sym, out z[i]))
                {
                    throw r.Error(frame, $"atom {i + 1}: unknown chemical symbol '{sym}'.", commentLine + 1 + i);
                }
            }
            else
            {
                long zz = values[zColumn].Integers![i];
                if (zz < 1 || zz > Elements.MaxAtomicNumber)
                {
                    throw r.Error(frame, $"atom {i + 1}: atomic number {zz} is not an element.", commentLine + 1 + i);
                }

                z[i] = (int)zz;
            }
        }

        var posProp = values[columns.FindIndex(c => c.Kind == ColumnKind.Positions)];
        var positions = ToVec3(posProp.Reals!, n);
        var thePbc = pbc ?? (haveLattice ? Pbc.All : Pbc.None);
        var s = new Structure(z, positions, cell, thePbc) { EnergyEv = energy };
        int fc = columns.FindIndex(c => c.Kind == ColumnKind.Forces);
        if (fc >= 0)
        {
            s.ForcesEvPerA = ToVec3(values[fc].Reals!, n);
        }

        if (stress is not null)
        {
            s.StressEvPerA3 = stress;
        }
        else if (virial is not null)
        {
            double v = s.VolumeA3;
            if (!(v > 0))
            {
                throw r.Error(frame, "a virial is given but the cell has no volume, so it cannot be turned into a stress.", commentLine);
            }

            s.StressEvPerA3 = (-1.0 / v) * Voigt.FromMatrix(Mat3.FromRowMajor(virial));
        }

        foreach (var (key, value) in info)
        {
            s.Info[key] = value;
        }

        for (int c = 0; c < columns.Count; c++)
        {
            if (columns[c].Kind == ColumnKind.Other)
            {
                s.AtomProperties[columns[c].Name] = values[c];
            }
        }

        return s;
    }

    private static Vec3[] ToVec3(double[] flat, int n)
    {
        var v = new Vec3[n];
        for (int i = 0; i < n; i++)
        {
            v[i] = new Vec3(flat[3 * i], flat[3 * i + 1], flat[3 * i + 2]);
        }

        return v;
    }

    private static int SplitWhitespace(ReadOnlySpan<char> line, Span<Range> ranges)
    {
        int count = 0, i = 0;
        while (i < line.Length)
        {
            while (i < line.Length && char.IsWhiteSpace(line[i]))
            {
                i++;
            }

            if (i >= line.Length)
            {
                break;
            }

            int start = i;
            while (i < line.Length && !char.IsWhiteSpace(line[i]))
            {
                i++;
            }

            if (count == ranges.Length)
            {
                return count;
            }

            ranges[count++] = new Range(start, i);
        }

        return count;
    }

    private static List<Column> ParseProperties(string spec)
    {
        var parts = spec.Split(':');
        if (parts.Length % 3 != 0)
        {
            throw new FormatException($"Properties '{spec}' is not a list of name:type:count triples.");
        }

        var cols = new List<Column>();
        for (int p = 0; p < parts.Length; p += 3)
        {
            string name = parts[p];
            var type = parts[p + 1] switch
            {
                "S" => AtomPropertyType.String,
                "R" => AtomPropertyType.Real,
                "I" => AtomPropertyType.Integer,
                "L" => AtomPropertyType.Logical,
                var t => throw new FormatException($"Properties column '{name}' has type '{t}'; expected S, R, I or L."),
            };
            if (!int.TryParse(parts[p + 2], NumberStyles.None, Inv, out int count) || count < 1)
            {
                throw new FormatException($"Properties column '{name}' has count '{parts[p + 2]}'; expected a positive integer.");
            }

            if (cols.Any(c => c.Name == name))
            {
                throw new FormatException($"Properties declares column '{name}' twice.");
            }

            var kind = (name, type, count) switch
            {
                ("species", AtomPropertyType.String, 1) => ColumnKind.Species,
                ("pos", AtomPropertyType.Real, 3) => ColumnKind.Positions,
                ("forces", AtomPropertyType.Real, 3) => ColumnKind.Forces,
                ("species" or "pos" or "forces", _, _) => throw new FormatException($"Properties column '{name}' must be {(name == "species" ? "S:1" : "R:3")}, got {parts[p + 1]}:{count}."),
                _ => ColumnKind.Other,
            };
            cols.Add(new Column(name, type, count, kind));
        }

        return cols;
    }

    private static Pbc ParsePbc(string? raw)
    {
        var t = (raw ?? string.Empty).Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        if (t.Length != 3)
        {
            throw new FormatException($"pbc needs 3 logical values, got '{raw}'.");
        }

        bool Get(int i) => ParseBool(t[i]) ?? throw new FormatException($"pbc value '{t[i]}' is not T or F.");
        return new Pbc(Get(0), Get(1), Get(2));
    }

    private static bool? ParseBool(ReadOnlySpan<char> s) =>
        s is "T" or "True" or "true" or "TRUE" ? true :
        s is "F" or "False" or "false" or "FALSE" ? false : null;

    private static double[] ParseNumbers(string? raw, string key, int expected)
    {
        if (raw is null)
        {
            throw new FormatException("no value.");
        }

        var text = raw.Trim();
        if (text.StartsWith('[') && text.EndsWith(']'))
        {
            text = text[1..^1].Replace(',', ' ').Replace('[', ' ').Replace(']', ' ');
        }

        var t = text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        if (expected > 0 && t.Length != expected)
        {
            throw new FormatException($"{key} needs {expected} number{(expected == 1 ? "" : "s")}, got {t.Length} ('{Abbreviate(raw)}').");
        }

        var v = new double[t.Length];
        for (int i = 0; i < t.Length; i++)
        {
            if (!double.TryParse(t[i], NumberStyles.Float, Inv, out v[i]))
            {
                throw new FormatException($"'{t[i]}' is not a number.");
            }
        }

        return v;
    }

    /// <summary>ASE's typing of free values: int, float, bool, arrays of those (space separated), else string.</summary>
    private static object ParseInfoValue(string? raw)
    {
        if (raw is null)
        {
            return true;
        }

        if (TryScalar(raw, out var scalar))
        {
            return scalar;
        }

        var text = raw.Trim();
        bool bracketed = text.Length >= 2 && text[0] == '[' && text[^1] == ']';
        var inner = bracketed ? text[1..^1].Replace(',', ' ') : text;
        var t = inner.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        if (t.Length > 1 || (bracketed && t.Length > 0))
        {
            if (t.All(x => long.TryParse(x, NumberStyles.Integer, Inv, out _)))
            {
                return t.Select(x => long.Parse(x, NumberStyles.Integer, Inv)).ToArray();
            }

            if (t.All(x => double.TryParse(x, NumberStyles.Float, Inv, out _)))
            {
                return t.Select(x => double.Parse(x, NumberStyles.Float, Inv)).ToArray();
            }

            if (t.All(x => ParseBool(x) is not null))
            {
                return t.Select(x => ParseBool(x)!.Value).ToArray();
            }
        }

        return raw;
    }

    private static bool TryScalar(string s, out object value)
    {
        if (long.TryParse(s, NumberStyles.AllowLeadingSign, Inv, out long l))
        {
            value = l;
            return true;
        }

        if (double.TryParse(s, NumberStyles.Float, Inv, out double d))
        {
            value = d;
            return true;
        }

        if (ParseBool(s) is bool b)
        {
            value = b;
            return true;
        }

        value = s;
        return false;
    }

    /// <summary>
    /// Splits a comment line into key=value pairs: values may be bare, "double quoted" (with \" and \\
    /// escapes), or bracketed […] / {…}; a key with no '=' has a null value.
    /// </summary>
    internal static List<KeyValuePair<string, string?>> ParseKeyValues(string line)
    {
        var result = new List<KeyValuePair<string, string?>>();
        int i = 0;
        while (true)
        {
            while (i < line.Length && char.IsWhiteSpace(line[i]))
            {
                i++;
            }

            if (i >= line.Length)
            {
                break;
            }

            string key = ReadToken(line, ref i, stopAtEquals: true);
            while (i < line.Length && line[i] is ' ' or '\t')
            {
                i++;
            }

            string? value = null;
            if (i < line.Length && line[i] == '=')
            {
                i++;
                while (i < line.Length && line[i] is ' ' or '\t')
                {
                    i++;
                }

                value = i < line.Length ? ReadToken(line, ref i, stopAtEquals: false) : string.Empty;
            }

            if (key.Length == 0)
            {
                throw new FormatException($"empty key at character {i + 1}.");
            }

            if (result.Any(p => p.Key == key))
            {
                throw new FormatException($"key '{key}' appears twice.");
            }

            result.Add(new(key, value));
        }

        return result;
    }

    private static string ReadToken(string line, ref int i, bool stopAtEquals)
    {
        var sb = new StringBuilder();
        if (line[i] == '"' || line[i] == '\'')
        {
            char q = line[i++];
            while (true)
            {
                if (i >= line.Length)
                {
                    throw new FormatException($"unterminated quoted string starting '{Abbreviate(line[..Math.Min(line.Length, i)])}'.");
                }

                char c = line[i++];
                if (c == '\\' && i < line.Length)
                {
                    char e = line[i++];
                    sb.Append(e switch { 'n' => '\n', _ => e });
                }
                else if (c == q)
                {
                    break;
                }
                else
                {
                    sb.Append(c);
                }
            }

            return sb.ToString();
        }

        if (!stopAtEquals && (line[i] == '[' || line[i] == '{'))
        {
            char open = line[i], close = open == '[' ? ']' : '}';
            int depth = 0, start = i;
            for (; i < line.Length; i++)
            {
                if (line[i] == open)
                {
                    depth++;
                }
                else if (line[i] == close && --depth == 0)
                {
                    i++;
                    return line[start..i];
                }
            }

            throw new FormatException($"unbalanced '{open}' in a value.");
        }

        while (i < line.Length && !char.IsWhiteSpace(line[i]) && !(stopAtEquals && line[i] == '='))
        {
            sb.Append(line[i++]);
        }

        return sb.ToString();
    }

    private static string Abbreviate(string s) => s.Length <= 60 ? s : s[..57] + "...";

    // ---------------------------------------------------------------- writing

    private static readonly HashSet<string> ReservedKeys = new(StringComparer.Ordinal) { "Lattice", "Properties", "pbc", "energy", "stress", "virial" };
    private static readonly HashSet<string> ReservedColumns = new(StringComparer.Ordinal) { "species", "pos", "forces" };

    private static void WriteFrame(TextWriter w, Structure s)
    {
        ArgumentNullException.ThrowIfNull(s);
        int n = s.AtomCount;
        var props = s.AtomProperties.Values.Where(p => !ReservedColumns.Contains(p.Name)).ToList();
        foreach (var p in props)
        {
            if (p.AtomCount != n)
            {
                throw new InvalidOperationException($"Per-atom property '{p.Name}' has {p.AtomCount} rows for {n} atoms.");
            }
        }

        var sb = new StringBuilder();
        sb.Append(n.ToString(Inv)).Append('\n');
        bool writeLattice = s.Pbc.Any || s.Cell != Mat3.Zero;
        if (writeLattice)
        {
            sb.Append("Lattice=\"").AppendJoin(' ', s.Cell.ToRowMajorArray().Select(R)).Append("\" ");
        }

        sb.Append("Properties=species:S:1:pos:R:3");
        if (s.ForcesEvPerA is not null)
        {
            sb.Append(":forces:R:3");
        }

        foreach (var p in props)
        {
            sb.Append(':').Append(p.Name).Append(':').Append(p.Type switch
            {
                AtomPropertyType.Real => 'R',
                AtomPropertyType.Integer => 'I',
                AtomPropertyType.Logical => 'L',
                _ => 'S',
            }).Append(':').Append(p.Columns.ToString(Inv));
        }

        if (s.EnergyEv is double e)
        {
            sb.Append(" energy=").Append(R(e));
        }

        if (s.StressEvPerA3 is Voigt st)
        {
            sb.Append(" stress=\"").AppendJoin(' ', st.ToMatrix().ToRowMajorArray().Select(R)).Append('"');
        }

        foreach (var (key, value) in s.Info)
        {
            if (ReservedKeys.Contains(key))
            {
                continue;
            }

            sb.Append(' ').Append(QuoteIfNeeded(key)).Append('=').Append(FormatInfoValue(key, value));
        }

        sb.Append(" pbc=\"").Append(s.Pbc.ToString()).Append("\"\n");
        w.Write(sb);
        sb.Clear();

        var species = s.Symbols();
        int width = Math.Max(2, species.Length == 0 ? 2 : species.Max(x => x.Length));
        for (int i = 0; i < n; i++)
        {
            sb.Append(species[i].PadRight(width));
            var p = s.Positions[i];
            sb.Append(' ').Append(R(p.X)).Append(' ').Append(R(p.Y)).Append(' ').Append(R(p.Z));
            if (s.ForcesEvPerA is { } f)
            {
                sb.Append(' ').Append(R(f[i].X)).Append(' ').Append(R(f[i].Y)).Append(' ').Append(R(f[i].Z));
            }

            foreach (var prop in props)
            {
                for (int c = 0; c < prop.Columns; c++)
                {
                    int idx = i * prop.Columns + c;
                    sb.Append(' ');
                    switch (prop.Type)
                    {
                        case AtomPropertyType.Real: sb.Append(R(prop.Reals![idx])); break;
                        case AtomPropertyType.Integer: sb.Append(prop.Integers![idx].ToString(Inv)); break;
                        case AtomPropertyType.Logical: sb.Append(prop.Logicals![idx] ? 'T' : 'F'); break;
                        default:
                            var str = prop.Strings![idx];
                            if (str.Length == 0 || str.Any(char.IsWhiteSpace))
                            {
                                throw new InvalidOperationException($"Per-atom string property '{prop.Name}' of atom {i} is empty or contains whitespace ('{str}'), which extended XYZ cannot hold.");
                            }

                            sb.Append(str);
                            break;
                    }
                }
            }

            sb.Append('\n');
        }

        w.Write(sb);
    }

    private static string R(double x) => x.ToString("R", Inv);

    /// <summary>Refuses to write a frame whose cell, positions or labels are NaN or infinite: a file must never carry a silent wrong number.</summary>
    private static void CheckFinite(Structure s, int frame)
    {
        ArgumentNullException.ThrowIfNull(s);
        string where = $"frame {frame + 1}";
        if (!s.Cell.IsFinite)
        {
            throw new InvalidDataException($"{where}: the cell has a non-finite element; not written.");
        }

        for (int i = 0; i < s.AtomCount; i++)
        {
            if (!s.Positions[i].IsFinite)
            {
                throw new InvalidDataException($"{where}: atom {i + 1} ({s.Symbol(i)}) has a non-finite position {s.Positions[i]}; not written.");
            }

            if (s.ForcesEvPerA is { } f && !f[i].IsFinite)
            {
                throw new InvalidDataException($"{where}: atom {i + 1} ({s.Symbol(i)}) has a non-finite force {f[i]}; not written.");
            }
        }

        if (s.EnergyEv is double e && !double.IsFinite(e))
        {
            throw new InvalidDataException($"{where}: the energy is {R(e)}; not written.");
        }

        if (s.StressEvPerA3 is Voigt st && !st.IsFinite)
        {
            throw new InvalidDataException($"{where}: the stress has a non-finite component; not written.");
        }
    }

    /// <summary>A real written so that it reads back as a real, not an integer ("5.0", not "5").</summary>
    private static string RealText(double x)
    {
        var t = R(x);
        return double.IsFinite(x) && !t.Contains('.') && !t.Contains('E') ? t + ".0" : t;
    }

    private static string FormatInfoValue(string key, object value) => value switch
    {
        string str => QuoteIfNeeded(str),
        bool b => b ? "T" : "F",
        double d => RealText(d),
        long l => l.ToString(Inv),
        int i => i.ToString(Inv),
        double[] a => Quote(string.Join(' ', a.Select(RealText))),
        long[] a => Quote(string.Join(' ', a.Select(x => x.ToString(Inv)))),
        int[] a => Quote(string.Join(' ', a.Select(x => x.ToString(Inv)))),
        bool[] a => Quote(string.Join(' ', a.Select(x => x ? "T" : "F"))),
        IFormattable fmt => QuoteIfNeeded(fmt.ToString(null, Inv)),
        _ => throw new InvalidOperationException($"Info value '{key}' of type {value.GetType().Name} cannot be written to extended XYZ (use string, number, bool or arrays of those)."),
    };

    private static string QuoteIfNeeded(string s) =>
        s.Length > 0 && !s.Any(c => char.IsWhiteSpace(c) || c is '"' or '\'' or '=' or '\\' or '[' or '{' or ',')
        && !TryScalar(s, out _) ? s : Quote(s);

    private static string Quote(string s) => "\"" + s.Replace("\\", "\\\\").Replace("\"", "\\\"").Replace("\n", "\\n") + "\"";
}

/// <summary>A malformed extended XYZ file; the message names the file, the frame and the line.</summary>
public sealed class ExtXyzFormatException : FormatException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">Full message (file, frame, line and what is wrong).</param>
    /// <param name="source">The file or stream name.</param>
    /// <param name="frame">0-based frame index.</param>
    /// <param name="line">1-based line number.</param>
    public ExtXyzFormatException(string message, string source, int frame, long line) : base(message)
    {
        SourceName = source;
        Frame = frame;
        LineNumber = line;
    }

    /// <summary>The file or stream name.</summary>
    public string SourceName { get; }

    /// <summary>The 0-based index of the frame that could not be read.</summary>
    public int Frame { get; }

    /// <summary>The 1-based line number where the problem is.</summary>
    public long LineNumber { get; }
}
