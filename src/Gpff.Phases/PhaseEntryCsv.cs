using System.Globalization;
using System.Text;
using CsvHelper;
using CsvHelper.Configuration;
using Gpff.IO;

namespace Gpff.Phases;

/// <summary>
/// Reads and writes hull entries as CSV: a header naming the columns <c>name,formula,energy_ev</c>
/// and optionally <c>volume_a3,energy_std_ev</c> (any order; the optional cells may be empty), one
/// entry per line. Energy, volume and std are for the formula as written (<c>Ba2RhO4</c> counts 7
/// atoms). Blank lines and lines starting with <c>#</c> are ignored; fields may be quoted with
/// double quotes; trailing empty cells may be left out. Parsing and writing are CsvHelper's (RFC 4180,
/// invariant culture); errors name the source, line and column.
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
    /// <exception cref="InvalidDataException">Malformed input; the message names the source, the line, the column and what is wrong.</exception>
    public static List<PhaseEntry> Read(TextReader reader, string sourceName)
    {
        ArgumentNullException.ThrowIfNull(reader);
        var entries = new List<PhaseEntry>();
        var firstLineOfName = new Dictionary<string, int>(StringComparer.Ordinal);
        Dictionary<string, int>? columns = null;
        using var parser = new CsvParser(reader, Configuration(sourceName));
        while (true)
        {
            string[] fields;
            int lineNumber;
            try
            {
                if (!parser.Read())
                {
                    break;
                }

                fields = parser.Record ?? [];
                lineNumber = FirstLine(parser);
            }
            catch (MaxFieldSizeException)
            {
                throw new InvalidDataException($"{sourceName}, line {parser.RawRow}: longer than {MaxFieldLength} characters without a line break; this is not a text file of the expected format.");
            }
            catch (CsvHelperException ex) when (ex.InnerException is InvalidDataException inner)
            {
                throw inner;
            }

            if (columns is null)
            {
                columns = new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase);
                for (int i = 0; i < fields.Length; i++)
                {
                    string name = fields[i].Trim();
                    if (!Columns.Contains(name, StringComparer.OrdinalIgnoreCase))
                    {
                        throw new InvalidDataException($"{sourceName}, line {lineNumber}, column {i + 1}: unknown column '{name}' in the header (expected {string.Join(",", Columns)}).");
                    }

                    if (!columns.TryAdd(name, i))
                    {
                        throw new InvalidDataException($"{sourceName}, line {lineNumber}, column {i + 1}: column '{name}' appears twice in the header.");
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

            if (fields.Length > columns.Count)
            {
                throw new InvalidDataException($"{sourceName}, line {lineNumber}, column {columns.Count + 1}: {fields.Length} fields, but the header has {columns.Count} columns.");
            }

            // Trailing optional cells may be left out.
            string Field(string column) => columns.TryGetValue(column, out int i) && i < fields.Length ? fields[i].Trim() : string.Empty;
            string Where(string column) => $"{sourceName}, line {lineNumber}, column {columns[column] + 1}";
            string entryName = Field("name");
            if (entryName.Length == 0)
            {
                throw new InvalidDataException($"{Where("name")}: empty name.");
            }

            if (!firstLineOfName.TryAdd(entryName, lineNumber))
            {
                throw new InvalidDataException($"{Where("name")}: the name '{entryName}' is already used on line {firstLineOfName[entryName]}; every entry needs its own name.");
            }

            Composition composition;
            try
            {
                composition = Composition.Parse(Field("formula"));
            }
            catch (FormatException ex)
            {
                throw new InvalidDataException($"{Where("formula")} ('{entryName}'): {ex.Message}", ex);
            }

            double? Number(string column, bool required)
            {
                string text = Field(column);
                if (text.Length == 0)
                {
                    return required ? throw new InvalidDataException($"{sourceName}, line {lineNumber}, column {columns[column] + 1} ('{entryName}'): {column} is empty.") : null;
                }

                if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) || !double.IsFinite(v))
                {
                    throw new InvalidDataException($"{Where(column)} ('{entryName}'): {column} '{text}' is not a finite number.");
                }

                return v;
            }

            double energy = Number("energy_ev", required: true)!.Value;
            double? volume = columns.ContainsKey("volume_a3") ? Number("volume_a3", required: false) : null;
            double? std = columns.ContainsKey("energy_std_ev") ? Number("energy_std_ev", required: false) : null;
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

    /// <summary>Longest field accepted (characters): a longer one is not a hull CSV (a binary file, usually).</summary>
    public const int MaxFieldLength = 1 << 20;

    /// <summary>
    /// The CSV dialect, in one place for reading and writing: RFC 4180 (comma, double quotes, doubled
    /// quotes inside), invariant culture, <c>#</c> comment lines, blank lines skipped, a ragged last row
    /// allowed (the header check is ours), an unterminated quote an error that names the line.
    /// </summary>
    private static CsvConfiguration Configuration(string sourceName) => new(CultureInfo.InvariantCulture)
    {
        Delimiter = ",",
        Quote = '"',
        AllowComments = true,
        Comment = '#',
        IgnoreBlankLines = true,
        HasHeaderRecord = false,
        DetectColumnCountChanges = false,
        MaxFieldSize = MaxFieldLength,
        BadDataFound = args => throw new InvalidDataException(
            args.Field.StartsWith('"') && args.Field.Count(c => c == '"') % 2 == 1
                // An unterminated quote runs to the end of the input: its newlines are all inside the field.
                ? $"{sourceName}, line {args.Context.Parser!.RawRow - args.RawRecord.Count(c => c == '\n')}: unterminated quoted field: {args.RawRecord.Trim()}"
                : $"{sourceName}, line {FirstLine(args.Context.Parser!)}: a quote inside an unquoted field (quote the whole field and double the quote): {args.RawRecord.Trim()}"),
    };

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
        using var csv = new CsvWriter(writer, Configuration("<writer>") with { NewLine = "\n" }, leaveOpen: true);
        foreach (var c in Columns)
        {
            csv.WriteField(c);
        }

        csv.NextRecord();
        foreach (var e in entries)
        {
            csv.WriteField(e.Name);
            csv.WriteField(e.Composition.Formula);
            csv.WriteField(R(e.EnergyEv));
            csv.WriteField(e.VolumeA3 is double v ? R(v) : string.Empty);
            csv.WriteField(e.EnergyStdEv is double s ? R(s) : string.Empty);
            csv.NextRecord();
        }

        csv.Flush();
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

    /// <summary>The line on which the parser's current record starts (a quoted field may span lines).</summary>
    private static int FirstLine(IParser parser) => parser.RawRow - parser.RawRecord.TrimEnd('\r', '\n').Count(c => c == '\n');

    private static string R(double x) => x.ToString("R", CultureInfo.InvariantCulture);
}
