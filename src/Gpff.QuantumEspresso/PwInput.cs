using System.Globalization;
using System.Text;
using Gpff.Geometry;
using Gpff.IO;

namespace Gpff.QuantumEspresso;

/// <summary>A parsed pw.x input: its namelists, the structure (ibrav=0 inputs) and the k-point mesh.</summary>
/// <param name="Namelists">Every namelist value as read (strings unquoted, logicals as bool, numbers as long or double).</param>
/// <param name="Structure">The structure of the CELL_PARAMETERS / ATOMIC_POSITIONS cards.</param>
/// <param name="Pseudopotentials">Pseudopotential file per ATOMIC_SPECIES label.</param>
/// <param name="KPointMesh">The automatic mesh, or null for other K_POINTS forms.</param>
/// <param name="KPointShift">The automatic mesh's offsets (0 or 1 each), or null.</param>
public sealed record PwInputFile(
    PwNamelists Namelists, Structure Structure, IReadOnlyDictionary<string, string> Pseudopotentials, Int3? KPointMesh, Int3? KPointShift);

/// <summary>
/// Writes pw.x SCF inputs (<c>ibrav=0</c>, cell and positions in Å at full precision, forces and
/// stress requested) and reads pw.x inputs back (ibrav=0 only).
/// </summary>
public static class PwInput
{
    /// <summary>The longest line <see cref="Read"/> accepts, in characters (1 Mi); a longer one is not a pw.x input.</summary>
    public const int MaxLineLength = 1 << 20;

    /// <summary>The most characters <see cref="Read"/> accepts in all (64 Mi, about 128 MiB held in memory).</summary>
    public const long MaxCharacters = 1L << 26;

    /// <summary>
    /// The Monkhorst–Pack mesh for a k-point spacing, as ASE's <c>kspacing</c>: along each periodic
    /// axis n_i = max(1, ⌈2π |b_i| / spacing⌉) with b_i the reciprocal vectors without the 2π
    /// (|b_i| = 1 / (perpendicular width of the cell along i)); non-periodic axes get 1.
    /// </summary>
    /// <param name="cellA">Cell, rows are lattice vectors in Å.</param>
    /// <param name="pbc">Periodicity.</param>
    /// <param name="kSpacingPerA">Largest k-point spacing in 1/Å, 2π included.</param>
    public static Int3 KPointMeshFromSpacing(Mat3 cellA, Pbc pbc, double kSpacingPerA)
    {
        if (!(kSpacingPerA > 0))
        {
            throw new ArgumentOutOfRangeException(nameof(kSpacingPerA), kSpacingPerA, "The k-point spacing must be positive (1/Å, 2π included).");
        }

        var widths = Structure.PerpendicularWidths(cellA);
        int N(int axis)
        {
            if (!pbc[axis])
            {
                return 1;
            }

            double x = 2 * Math.PI / widths[axis] / kSpacingPerA;
            return Math.Max(1, (int)Math.Ceiling(x - 1e-9)); // 6.0000000001 is 6, not 7
        }

        return new Int3(N(0), N(1), N(2));
    }

    /// <summary>
    /// Writes the pw.x input of an SCF calculation: forces (<c>tprnfor</c>) when asked, stress
    /// (<c>tstress</c>) when asked and all axes are periodic; the total energy always. By default both.
    /// </summary>
    /// <param name="writer">Destination.</param>
    /// <param name="structure">The structure (its labels are ignored).</param>
    /// <param name="settings">Pseudopotentials, cutoffs, occupations, k-points and extra settings.</param>
    /// <param name="outdir">pw.x scratch folder (<c>outdir</c>), relative to where pw.x runs.</param>
    /// <param name="prefix">pw.x <c>prefix</c>.</param>
    /// <param name="properties">
    /// What pw.x should compute: <see cref="CalculatorProperties.Forces"/> sets <c>tprnfor</c>,
    /// <see cref="CalculatorProperties.Stress"/> <c>tstress</c> (other flags are ignored;
    /// <see cref="PwInputSettings.Namelists"/> may still override either).
    /// </param>
    /// <exception cref="ArgumentException">A species has no pseudopotential, or a setting is invalid.</exception>
    public static void Write(TextWriter writer, Structure structure, PwInputSettings settings, string outdir = "./scratch", string prefix = "gpff",
        CalculatorProperties properties = CalculatorProperties.EnergyForcesStress)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(structure);
        ArgumentNullException.ThrowIfNull(settings);
        settings.Validate();
        if (structure.AtomCount == 0)
        {
            throw new ArgumentException("The structure has no atoms.", nameof(structure));
        }

        var species = structure.Symbols().Distinct().ToList();
        var missing = species.Where(s => !settings.Pseudopotentials.ContainsKey(s)).ToList();
        if (missing.Count > 0)
        {
            throw new ArgumentException(
                $"No pseudopotential for {string.Join(", ", missing)}: Pseudopotentials has {(settings.Pseudopotentials.Count == 0 ? "none" : string.Join(", ", settings.Pseudopotentials.Keys))}.",
                nameof(settings));
        }

        var nl = new PwNamelists();
        nl.Set("control", "calculation", "scf");
        nl.Set("control", "prefix", prefix);
        nl.Set("control", "outdir", outdir);
        if (settings.PseudoDirectory is not null)
        {
            nl.Set("control", "pseudo_dir", Path.GetFullPath(settings.PseudoDirectory));
        }

        if (properties.HasFlag(CalculatorProperties.Forces))
        {
            nl.Set("control", "tprnfor", true);
        }

        if (properties.HasFlag(CalculatorProperties.Stress) && structure.Pbc.AllPeriodic)
        {
            nl.Set("control", "tstress", true);
        }

        nl.Set("system", "ibrav", 0);
        nl.Set("system", "nat", structure.AtomCount);
        nl.Set("system", "ntyp", species.Count);
        nl.Set("system", "ecutwfc", settings.EcutwfcRy);
        if (settings.EcutrhoRy is double rho)
        {
            nl.Set("system", "ecutrho", rho);
        }

        if (settings.Smearing is { } sm)
        {
            nl.Set("system", "occupations", "smearing");
            nl.Set("system", "smearing", sm.Kind);
            nl.Set("system", "degauss", sm.DegaussRy);
        }
        else
        {
            nl.Set("system", "occupations", "fixed");
        }

        if (settings.StartingMagnetization is { Count: > 0 } mag)
        {
            nl.Set("system", "nspin", 2);
            for (int t = 0; t < species.Count; t++)
            {
                if (mag.TryGetValue(species[t], out double m))
                {
                    nl.Set("system", $"starting_magnetization({t + 1})", m);
                }
            }
        }

        nl.Set("electrons", "conv_thr", settings.ConvThrRy);
        foreach (var (name, entries) in settings.Namelists.All)
        {
            foreach (var (k, v) in entries)
            {
                nl.Set(name, k, v);
            }
        }

        var order = new[] { "control", "system", "electrons", "ions", "cell" };
        var lists = nl.All.OrderBy(l => Array.IndexOf(order, l.Namelist) is int i && i >= 0 ? i : order.Length).ToList();
        foreach (var (name, entries) in lists)
        {
            writer.WriteLine("&" + name.ToUpperInvariant());
            foreach (var (k, v) in entries)
            {
                writer.WriteLine($"  {k} = {PwNamelists.Format(v)}");
            }

            writer.WriteLine("/");
        }

        var inv = CultureInfo.InvariantCulture;
        writer.WriteLine("ATOMIC_SPECIES");
        foreach (var s in species)
        {
            double mass = Elements.MassAmu(Elements.AtomicNumber(s));
            writer.WriteLine($"  {s} {mass.ToString("R", inv)} {settings.Pseudopotentials[s]}");
        }

        writer.WriteLine("CELL_PARAMETERS angstrom");
        for (int r = 0; r < 3; r++)
        {
            var v = structure.Cell.Row(r);
            writer.WriteLine($"  {R(v.X)} {R(v.Y)} {R(v.Z)}");
        }

        writer.WriteLine("ATOMIC_POSITIONS angstrom");
        for (int i = 0; i < structure.AtomCount; i++)
        {
            var p = structure.Positions[i];
            writer.WriteLine($"  {structure.Symbol(i)} {R(p.X)} {R(p.Y)} {R(p.Z)}");
        }

        var mesh = settings.KPointMesh ?? KPointMeshFromSpacing(structure.Cell, structure.Pbc, settings.KSpacingPerA);
        int shift = settings.ShiftKPoints ? 1 : 0;
        writer.WriteLine("K_POINTS automatic");
        writer.WriteLine($"  {mesh.A} {mesh.B} {mesh.C} {shift} {shift} {shift}");

        static string R(double x) => PwNamelists.FormatReal(x);
    }

    /// <summary>The pw.x input text (see <see cref="Write(TextWriter, Structure, PwInputSettings, string, string, CalculatorProperties)"/>).</summary>
    /// <param name="structure">The structure.</param>
    /// <param name="settings">The settings.</param>
    public static string ToText(Structure structure, PwInputSettings settings)
    {
        var sb = new StringBuilder();
        using var w = new StringWriter(sb, CultureInfo.InvariantCulture) { NewLine = "\n" };
        Write(w, structure, settings);
        return sb.ToString();
    }

    /// <summary>
    /// Reads a pw.x input with <c>ibrav=0</c>: namelists, ATOMIC_SPECIES, CELL_PARAMETERS
    /// (angstrom, bohr, or alat with celldm(1) or A), ATOMIC_POSITIONS (angstrom, bohr, alat, crystal)
    /// and an automatic K_POINTS mesh.
    /// </summary>
    /// <param name="reader">The input text.</param>
    /// <param name="sourceName">Name used in messages.</param>
    /// <param name="units">Bohr value for bohr/alat units; default CODATA 2018 (pw.x 6.7 and newer).</param>
    /// <exception cref="FormatException">Malformed input: an unreadable or non-finite number, a missing card, a line
    /// longer than <see cref="MaxLineLength"/> or a text longer than <see cref="MaxCharacters"/> (a binary file, <c>/dev/zero</c>);
    /// one line that names the source and, where there is one, the line.</exception>
    /// <exception cref="NotSupportedException">ibrav ≠ 0.</exception>
    public static PwInputFile Read(TextReader reader, string sourceName, PwUnits? units = null)
    {
        ArgumentNullException.ThrowIfNull(reader);
        units ??= PwUnits.Codata2018;
        var lines = new List<string>();
        var bounded = new BoundedLineReader(reader, sourceName, MaxLineLength);
        long total = 0;
        try
        {
            for (string? l; (l = bounded.ReadLine()) is not null;)
            {
                total += l.Length + 1;
                if (total > MaxCharacters)
                {
                    throw new FormatException($"{sourceName}, line {bounded.LineNumber}: more than {MaxCharacters} characters; this is not a pw.x input.");
                }

                lines.Add(l);
            }
        }
        catch (InvalidDataException ex)
        {
            throw new FormatException(ex.Message, ex);
        }

        var nl = new PwNamelists();
        int i = 0;
        FormatException Bad(int line, string what) => new($"{sourceName}, line {line + 1}: {what}");
        FormatException Ended(string what) => new($"{sourceName}, line {lines.Count}: the file ends: {what}");

        // Namelists.
        while (i < lines.Count)
        {
            string t = StripComment(lines[i]).Trim();
            if (t.Length == 0)
            {
                i++;
                continue;
            }

            if (!t.StartsWith('&'))
            {
                break;
            }

            string name = t[1..].Split([' ', '\t'], 2)[0];
            var body = new StringBuilder(t[(1 + name.Length)..]);
            bool closed = false;
            int start = i;
            while (!closed)
            {
                string content = body.ToString();
                int slash = IndexOfUnquoted(content, '/');
                if (slash >= 0)
                {
                    ParseAssignments(content[..slash], name, nl, (offset, what) => Bad(start + offset, $"namelist &{name}: {what}"));
                    closed = true;
                    break;
                }

                if (++i >= lines.Count)
                {
                    throw Ended($"namelist &{name} (line {start + 1}) is not closed with '/'");
                }

                body.Append('\n').Append(StripComment(lines[i]));
            }

            i++;
        }

        object? ibravValue = nl.Get("system", "ibrav") ?? throw new FormatException($"{sourceName}: no ibrav in &SYSTEM.");
        long ibrav = ibravValue is long ib ? ib : throw new FormatException($"{sourceName}: ibrav = {Show(ibravValue)} in &SYSTEM is not a whole number.");
        if (ibrav != 0)
        {
            throw new NotSupportedException($"{sourceName}: ibrav={ibrav}; only ibrav=0 inputs (cell in CELL_PARAMETERS) can be read.");
        }

        // Each atom and species takes a line of its own, so the line count bounds both (and the arrays sized by them).
        int Count(string key)
        {
            object v = nl.Get("system", key) ?? throw new FormatException($"{sourceName}: no {key} in &SYSTEM.");
            return v is long n && n >= 1 && n <= lines.Count ? (int)n
                : throw new FormatException($"{sourceName}: {key} = {Show(v)} in &SYSTEM; expected a whole number from 1 to {lines.Count} (one line each, and the file has {lines.Count} lines).");
        }

        double? Length(string key)
        {
            object? v = nl.Get("system", key);
            return v switch
            {
                null => null,
                long n when n > 0 => n,
                double d when d > 0 => d,
                _ => throw new FormatException($"{sourceName}: {key} = {Show(v)} in &SYSTEM; expected a positive number."),
            };
        }

        int nat = Count("nat");
        int ntyp = Count("ntyp");
        double? alatBohr = Length("celldm(1)") ?? Length("a") / units.BohrA;

        var pseudos = new Dictionary<string, string>(StringComparer.Ordinal);
        var symbolOf = new Dictionary<string, string>(StringComparer.Ordinal);
        Mat3? cell = null;
        string[]? labels = null;
        Vec3[]? raw = null;
        string posUnit = "alat";
        Int3? mesh = null, shift = null;
        for (; i < lines.Count; i++)
        {
            string t = StripComment(lines[i]).Trim();
            if (t.Length == 0)
            {
                continue;
            }

            string card = t.Split([' ', '\t', '(', '{'], 2)[0].ToUpperInvariant();
            string opt = t.Length > card.Length ? t[card.Length..].Trim(' ', '\t', '(', ')', '{', '}').ToLowerInvariant() : "";
            switch (card)
            {
                case "ATOMIC_SPECIES":
                    for (int k = 0; k < ntyp; k++)
                    {
                        int li = NextContent(lines, ref i) ?? throw Ended($"ATOMIC_SPECIES has {k} of {ntyp} species");
                        var p = lines[li].Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
                        if (p.Length < 3)
                        {
                            throw Bad(li, $"ATOMIC_SPECIES line '{Clip(lines[li])}' needs label, mass, file");
                        }

                        pseudos[p[0]] = p[2];
                        symbolOf[p[0]] = PwOutput.TryLabelToSymbol(p[0], out var sym) ? sym : throw Bad(li, $"species label '{p[0]}' names no element");
                    }

                    break;
                case "CELL_PARAMETERS":
                {
                    double scale = opt switch
                    {
                        "angstrom" => 1.0,
                        "bohr" => units.BohrA,
                        "alat" or "" => (alatBohr ?? throw Bad(i, "CELL_PARAMETERS in alat units needs celldm(1) or A")) * units.BohrA,
                        _ => throw Bad(i, $"unknown CELL_PARAMETERS unit '{opt}'"),
                    };
                    var rows = new Vec3[3];
                    for (int k = 0; k < 3; k++)
                    {
                        int li = NextContent(lines, ref i) ?? throw Ended($"CELL_PARAMETERS has {k} of 3 rows");
                        var v = ParseVec(lines[li], 0, what => Bad(li, $"CELL_PARAMETERS row '{Clip(lines[li])}': {what}"));
                        rows[k] = scale * v;
                    }

                    cell = Mat3.FromRows(rows[0], rows[1], rows[2]);
                    break;
                }

                case "ATOMIC_POSITIONS":
                    posUnit = opt.Length == 0 ? "alat" : opt;
                    labels = new string[nat];
                    raw = new Vec3[nat];
                    for (int k = 0; k < nat; k++)
                    {
                        int li = NextContent(lines, ref i) ?? throw Ended($"ATOMIC_POSITIONS has {k} of {nat} atoms");
                        labels[k] = lines[li].Trim().Split((char[]?)null, 2)[0];
                        raw[k] = ParseVec(lines[li], 1, what => Bad(li, $"ATOMIC_POSITIONS line '{Clip(lines[li])}': {what}"));
                    }

                    break;
                case "K_POINTS":
                    if (opt == "automatic")
                    {
                        int li = NextContent(lines, ref i) ?? throw Ended("K_POINTS automatic has no mesh line");
                        var n = lines[li].Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries)
                            .Select(x => int.TryParse(x, NumberStyles.Integer, CultureInfo.InvariantCulture, out int v) ? v : throw Bad(li, $"K_POINTS value '{x}'")).ToArray();
                        if (n.Length != 6)
                        {
                            throw Bad(li, "K_POINTS automatic needs 6 integers");
                        }

                        mesh = new Int3(n[0], n[1], n[2]);
                        shift = new Int3(n[3], n[4], n[5]);
                    }
                    else if (opt == "gamma")
                    {
                        mesh = new Int3(1, 1, 1);
                        shift = Int3.Zero;
                    }

                    break;
                default:
                    break; // other cards (OCCUPATIONS, CONSTRAINTS, HUBBARD…) are not needed for the structure
            }
        }

        if (cell is null || labels is null || raw is null)
        {
            throw new FormatException($"{sourceName}: the input has no {(cell is null ? "CELL_PARAMETERS" : "ATOMIC_POSITIONS")} card.");
        }

        var positions = new Vec3[nat];
        for (int k = 0; k < nat; k++)
        {
            positions[k] = posUnit switch
            {
                "angstrom" => raw[k],
                "bohr" => units.BohrA * raw[k],
                "crystal" => raw[k] * cell.Value,
                "alat" => (alatBohr ?? throw new FormatException($"{sourceName}: positions in alat units need celldm(1) or A")) * units.BohrA * raw[k],
                _ => throw new FormatException($"{sourceName}: unknown ATOMIC_POSITIONS unit '{posUnit}'"),
            };
        }

        var symbols = labels.Select(l => symbolOf.TryGetValue(l, out var s) ? s
            : throw new FormatException($"{sourceName}: atom label '{l}' is not in ATOMIC_SPECIES")).ToArray();
        var structure = new Structure(symbols, positions, cell.Value, Pbc.All);
        return new PwInputFile(nl, structure, pseudos, mesh, shift);
    }

    private static int? NextContent(List<string> lines, ref int i)
    {
        while (++i < lines.Count)
        {
            if (StripComment(lines[i]).Trim().Length > 0)
            {
                return i;
            }
        }

        return null;
    }

    private static Vec3 ParseVec(string line, int skip, Func<string, FormatException> bad)
    {
        var p = StripComment(line).Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        if (p.Length < skip + 3)
        {
            throw bad($"expected {skip + 3} fields, found {p.Length}");
        }

        double X(int k) => !FortranNumber.TryParse(p[skip + k], out double v) ? throw bad($"'{p[skip + k]}' is not a number")
            : double.IsFinite(v) ? v : throw bad($"'{p[skip + k]}' is not a finite number");
        return new Vec3(X(0), X(1), X(2));
    }

    private static string Show(object value) => value switch
    {
        string t => $"'{t}'",
        bool b => b ? ".true." : ".false.",
        double d => d.ToString("R", CultureInfo.InvariantCulture),
        _ => Convert.ToString(value, CultureInfo.InvariantCulture) ?? "",
    };

    /// <summary>A line or value shown in a message: trimmed, and cut to 80 characters so that the message stays one short line.</summary>
    private static string Clip(string text)
    {
        string t = text.Trim();
        return t.Length <= 80 ? t : string.Concat(t.AsSpan(0, 77), "...");
    }

    private static string StripComment(string line)
    {
        int k = IndexOfUnquoted(line, '!');
        int h = IndexOfUnquoted(line, '#');
        int cut = k < 0 ? h : h < 0 ? k : Math.Min(k, h);
        return cut >= 0 ? line[..cut] : line;
    }

    private static int IndexOfUnquoted(string s, char c)
    {
        char quote = '\0';
        for (int k = 0; k < s.Length; k++)
        {
            char x = s[k];
            if (quote != '\0')
            {
                if (x == quote)
                {
                    quote = '\0';
                }
            }
            else if (x is '\'' or '"')
            {
                quote = x;
            }
            else if (x == c)
            {
                return k;
            }
        }

        return -1;
    }

    private static void ParseAssignments(string body, string namelist, PwNamelists nl, Func<int, string, FormatException> bad)
    {
        // Split on commas and newlines outside quotes; each piece is "key = value" (with the line, counted from the namelist's first).
        var pieces = new List<(string Text, int Line)>();
        var cur = new StringBuilder();
        char quote = '\0';
        int line = 0, pieceLine = 0;
        foreach (char x in body)
        {
            if (quote != '\0')
            {
                cur.Append(x);
                if (x == quote)
                {
                    quote = '\0';
                }
            }
            else if (x is '\'' or '"')
            {
                quote = x;
                cur.Append(x);
            }
            else if (x is ',' or '\n')
            {
                pieces.Add((cur.ToString(), pieceLine));
                cur.Clear();
                line += x == '\n' ? 1 : 0;
                pieceLine = line;
            }
            else
            {
                cur.Append(x);
            }
        }

        pieces.Add((cur.ToString(), pieceLine));
        foreach (var (text, at) in pieces)
        {
            string piece = text.Trim();
            if (piece.Length == 0)
            {
                continue;
            }

            int eq = piece.IndexOf('=');
            if (eq <= 0)
            {
                throw bad(at, $"'{Clip(piece)}' is not 'name = value'");
            }

            string key = piece[..eq].Trim().Replace(" ", "", StringComparison.Ordinal);
            string v = piece[(eq + 1)..].Trim();
            object value;
            if (v.Length >= 2 && (v[0] is '\'' or '"') && v[^1] == v[0])
            {
                value = v[1..^1];
            }
            else if (v.ToLowerInvariant() is ".true." or ".t." or "t" or "true")
            {
                value = true;
            }
            else if (v.ToLowerInvariant() is ".false." or ".f." or "f" or "false")
            {
                value = false;
            }
            else if (long.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out long n))
            {
                value = n;
            }
            else if (FortranNumber.TryParse(v, out double d))
            {
                value = double.IsFinite(d) ? d : throw bad(at, $"{key} = {Clip(v)} is not a finite number");
            }
            else
            {
                throw bad(at, $"{key} = {Clip(v)} is not a number, a logical or a quoted string");
            }

            nl.Set(namelist, key, value);
        }
    }
}
