using System.Globalization;
using System.Text;
using Gpff.IO;

namespace Gpff.Phases;

/// <summary>
/// Reads and writes hull entries as CSV: a header naming the columns <c>name,formula,energy_ev</c>
/// and optionally <c>volume_a3,energy_std_ev</c> (any order; the optional cells may be empty), one
/// entry per line. Energy, volume and std are for the formula as written (<c>Ba2RhO4</c> counts 7
/// atoms). Blank lines and lines starting with <c>#</c> are ignored; fields may be quoted with
/// double quotes; trailing empty cells may be left out.
/// </summary>
public static class PhaseEntryCsv
{
    /// <summary>The columns in the order <see cref="Write(TextWriter, IEnumerable{PhaseEntry})"/> writes them.</summary>
    public static IReadOnlyList<string> Columns { get; } = ["name", "formula", "energy_ev", "volume_a3", "energy_std_ev"];

    /// <summary>Reads the entries of a CSV file.</summary>
    /// <param name="path">File path.</param>
    /// <exception cref="InvalidDataException">Malformed file; the message names the file, the line and what is wrong.</exception>
    public static List<PhaseEntry> Read(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        using var reader = new StreamReader(path);
        return Read(reader, path);
    }

    /// <summary>Reads entries from CSV text.</summary>
    /// <param name="reader">The text.</param>
    /// <param name="sourceName">Name used in error messages (the file name).</param>
    /// <exception cref="InvalidDataException">Malformed input; the message names the source, the line and what is wrong.</exception>
    public static List<PhaseEntry> Read(TextReader reader, string sourceName)
    {
        ArgumentNullException.ThrowIfNull(reader);
        var entries = new List<PhaseEntry>();
        var firstLineOfName = new Dictionary<string, int>(StringComparer.Ordinal);
        Dictionary<string, int>? columns = null;
        int lineNumber = 0;
        string? line;
        var lines = new BoundedLineReader(reader, sourceName, 1 << 20);
        while ((line = lines.ReadLine()) is not null)
        {
            lineNumber++;
            string trimmed = line.Trim();
            if (trimmed.Length == 0 || trimmed.StartsWith('#'))
            {
                continue;
            }

            var fields = Split(line, sourceName, lineNumber);
            if (columns is null)
            {
                columns = new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase);
                for (int i = 0; i < fields.Count; i++)
                {
                    string name = fields[i].Trim();
                    if (!Columns.Contains(name, StringComparer.OrdinalIgnoreCase))
                    {
                        throw new InvalidDataException($"{sourceName}, line {lineNumber}: unknown column '{name}' in the header (expected {string.Join(",", Columns)}).");
                    }

                    if (!columns.TryAdd(name, i))
                    {
                        throw new InvalidDataException($"{sourceName}, line {lineNumber}: column '{name}' appears twice in the header.");
                    }
                }

                foreach (var required in Columns.Take(3))
                {
                    if (!columns.ContainsKey(required))
                    {
                        throw new InvalidDataException($"{sourceName}, line {lineNumber}: the header lacks the column '{required}' (expected {string.Join(",", Columns)}).");
                    }
                }

                continue;
            }

            if (fields.Count > columns.Count)
            {
                throw new InvalidDataException($"{sourceName}, line {lineNumber}: {fields.Count} fields, but the header has {columns.Count} columns.");
            }

            while (fields.Count < columns.Count)
            {
                fields.Add(string.Empty); // trailing optional cells may be left out
            }

            string Field(string column) => columns.TryGetValue(column, out int i) ? fields[i].Trim() : string.Empty;
            string entryName = Field("name");
            if (entryName.Length == 0)
            {
                throw new InvalidDataException($"{sourceName}, line {lineNumber}: empty name.");
            }

            if (!firstLineOfName.TryAdd(entryName, lineNumber))
            {
                throw new InvalidDataException($"{sourceName}, line {lineNumber}: the name '{entryName}' is already used on line {firstLineOfName[entryName]}; every entry needs its own name.");
            }

            Composition composition;
            try
            {
                composition = Composition.Parse(Field("formula"));
            }
            catch (FormatException ex)
            {
                throw new InvalidDataException($"{sourceName}, line {lineNumber} ('{entryName}'): {ex.Message}", ex);
            }

            double energy = Number(Field("energy_ev"), "energy_ev", required: true, sourceName, lineNumber, entryName)!.Value;
            double? volume = Number(Field("volume_a3"), "volume_a3", required: false, sourceName, lineNumber, entryName);
            double? std = Number(Field("energy_std_ev"), "energy_std_ev", required: false, sourceName, lineNumber, entryName);
            try
            {
                entries.Add(new PhaseEntry(entryName, composition, energy, volume, std));
            }
            catch (ArgumentException ex)
            {
                throw new InvalidDataException($"{sourceName}, line {lineNumber}: {ex.Message.Split(" (Parameter")[0]}", ex);
            }
        }

        if (columns is null)
        {
            throw new InvalidDataException($"{sourceName}: no header line (expected {string.Join(",", Columns)}).");
        }

        if (entries.Count == 0)
        {
            throw new InvalidDataException($"{sourceName}: no entries after the header.");
        }

        return entries;
    }

    /// <summary>Writes entries as CSV (all five columns; numbers in round-trip precision).</summary>
    /// <param name="path">File path.</param>
    /// <param name="entries">The entries.</param>
    public static void Write(string path, IEnumerable<PhaseEntry> entries)
    {
        ArgumentNullException.ThrowIfNull(path);
        SafeFile.WriteAtomic(path, stream =>
        {
            using var writer = new StreamWriter(stream, new UTF8Encoding(false), 1 << 16, leaveOpen: true);
            Write(writer, entries);
        });
    }

    /// <summary>Writes entries as CSV (all five columns; numbers in round-trip precision).</summary>
    /// <param name="writer">Destination.</param>
    /// <param name="entries">The entries.</param>
    public static void Write(TextWriter writer, IEnumerable<PhaseEntry> entries)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(entries);
        writer.WriteLine(string.Join(",", Columns));
        foreach (var e in entries)
        {
            writer.WriteLine(string.Join(",",
                Quote(e.Name), Quote(e.Composition.Formula), R(e.EnergyEv),
                e.VolumeA3 is double v ? R(v) : string.Empty,
                e.EnergyStdEv is double s ? R(s) : string.Empty));
        }
    }

    /// <summary>
    /// Reads a covariance matrix of the total energies (eV²): <paramref name="size"/> rows of
    /// <paramref name="size"/> numbers separated by commas or white space, in the order of the
    /// entries; lines starting with <c>#</c> are ignored.
    /// </summary>
    /// <param name="path">File path.</param>
    /// <param name="size">Number of entries.</param>
    /// <exception cref="InvalidDataException">Wrong shape or a bad number; the message names the file and line.</exception>
    public static double[,] ReadCovariance(string path, int size)
    {
        ArgumentNullException.ThrowIfNull(path);
        var matrix = new double[size, size];
        int row = 0, lineNumber = 0;
        foreach (string line in File.ReadLines(path))
        {
            lineNumber++;
            string t = line.Trim();
            if (t.Length == 0 || t.StartsWith('#'))
            {
                continue;
            }

            var parts = t.Split([',', ' ', '\t', ';'], StringSplitOptions.RemoveEmptyEntries);
            if (row >= size)
            {
                throw new InvalidDataException($"{path}, line {lineNumber}: more than {size} rows (one per entry expected).");
            }

            if (parts.Length != size)
            {
                throw new InvalidDataException($"{path}, line {lineNumber}: {parts.Length} numbers, expected {size} (one per entry).");
            }

            for (int j = 0; j < size; j++)
            {
                if (!double.TryParse(parts[j], NumberStyles.Float, CultureInfo.InvariantCulture, out matrix[row, j]) || !double.IsFinite(matrix[row, j]))
                {
                    throw new InvalidDataException($"{path}, line {lineNumber}: '{parts[j]}' (column {j + 1}) is not a finite number.");
                }
            }

            row++;
        }

        if (row != size)
        {
            throw new InvalidDataException($"{path}: {row} rows, expected {size} (one per entry).");
        }

        return matrix;
    }

    private static double? Number(string text, string column, bool required, string source, int line, string entry)
    {
        if (text.Length == 0)
        {
            return required ? throw new InvalidDataException($"{source}, line {line} ('{entry}'): {column} is empty.") : null;
        }

        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) || !double.IsFinite(v))
        {
            throw new InvalidDataException($"{source}, line {line} ('{entry}'): {column} '{text}' is not a finite number.");
        }

        return v;
    }

    private static List<string> Split(string line, string source, int lineNumber)
    {
        var fields = new List<string>();
        var sb = new StringBuilder();
        bool quoted = false;
        for (int i = 0; i < line.Length; i++)
        {
            char c = line[i];
            if (quoted)
            {
                if (c == '"')
                {
                    if (i + 1 < line.Length && line[i + 1] == '"')
                    {
                        sb.Append('"');
                        i++;
                    }
                    else
                    {
                        quoted = false;
                    }
                }
                else
                {
                    sb.Append(c);
                }
            }
            else if (c == '"')
            {
                quoted = true;
            }
            else if (c == ',')
            {
                fields.Add(sb.ToString());
                sb.Clear();
            }
            else
            {
                sb.Append(c);
            }
        }

        if (quoted)
        {
            throw new InvalidDataException($"{source}, line {lineNumber}: unterminated quoted field.");
        }

        fields.Add(sb.ToString());
        return fields;
    }

    private static string R(double x) => x.ToString("R", CultureInfo.InvariantCulture);

    private static string Quote(string s) =>
        s.IndexOfAny([',', '"']) >= 0 || s != s.Trim() ? "\"" + s.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : s;
}
