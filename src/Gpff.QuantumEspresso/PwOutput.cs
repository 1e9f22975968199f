using System.Globalization;
using System.Runtime.CompilerServices;
using Gpff.Geometry;
using Gpff.IO;

[assembly: InternalsVisibleTo("Gpff.Core.Tests")]

namespace Gpff.QuantumEspresso;

/// <summary>
/// Reads Quantum ESPRESSO pw.x text output (versions 6.x and 7.x): one <see cref="Structure"/> per
/// ionic step of <c>scf</c>, <c>relax</c>, <c>md</c> and <c>vc-relax</c> runs, labelled with the
/// total energy (eV; with smearing the free energy F = E − TS of the <c>!</c> line), the forces (eV/Å)
/// and the stress (eV/Å³, ASE's sign: positive = tensile; pw.x prints the opposite sign), converted
/// with the constants of the pw.x version that wrote the file (<see cref="PwUnits"/>).
/// </summary>
/// <remarks>
/// <para>Each structure carries these <see cref="Structure.Info"/> keys: <c>source</c> (the file),
/// <c>qe_calculation</c> ("scf", "relax", "vc-relax", "md", "vc-md"), <c>qe_ionic_step</c> (0-based),
/// <c>qe_final_scf</c> (true only for the closing SCF that vc-relax runs at the relaxed geometry),
/// <c>qe_version</c>, <c>qe_units</c> (the constant set used), <c>qe_energy_line</c> (line of the
/// <c>!</c> energy), and when printed <c>qe_scf_iterations</c>, <c>qe_fermi_energy_ev</c>,
/// <c>qe_total_magnetization</c> (Bohr mag/cell) and <c>qe_enthalpy_ev</c> (vc-relax: E + PV at that step).
/// When an ATOMIC_SPECIES label is not a plain element symbol ("Fe1"), the labels are kept in the
/// per-atom string property <c>qe_species</c>.</para>
/// <para>The geometry of a step is the one the SCF ran at: the header (celldm(1), crystal axes and
/// tau, in alat units) for the first step, then each <c>CELL_PARAMETERS</c> / <c>ATOMIC_POSITIONS</c>
/// block pw.x prints (alat, bohr, angstrom or crystal). The text output rounds (crystal axes to 6
/// decimals in alat units, tau to 7); data-file-schema.xml has full precision.</para>
/// <para>A step is complete when the output goes on past it (a new geometry, the final coordinates,
/// or JOB DONE). "JOB DONE" alone is not success: an SCF that did not converge still prints it.
/// The strict methods throw <see cref="PwOutputException"/> at the first problem (non-converged SCF,
/// truncated output, pw.x error); <see cref="ReadTolerant(string, PwUnits?)"/> returns the complete
/// steps and a list of what was skipped.</para>
/// </remarks>
public static class PwOutput
{
    /// <summary>Reads every ionic step, lazily; throws at the first problem.</summary>
    /// <param name="path">pw.x output file.</param>
    /// <param name="units">Constants to convert with; null picks them from the pw.x version in the file.</param>
    /// <exception cref="PwOutputException">A step did not converge, the output is truncated, pw.x reported an error, or the text is malformed.</exception>
    public static IEnumerable<Structure> Read(string path, PwUnits? units = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        return ReadFileLazily(path, units);
    }

    /// <summary>Reads every ionic step from a reader, lazily; throws at the first problem.</summary>
    /// <param name="reader">The text.</param>
    /// <param name="sourceName">Name used in messages and in the <c>source</c> info key.</param>
    /// <param name="units">Constants to convert with; null picks them from the pw.x version.</param>
    /// <exception cref="PwOutputException">See <see cref="Read(string, PwUnits?)"/>.</exception>
    public static IEnumerable<Structure> Read(TextReader reader, string sourceName, PwUnits? units = null)
    {
        ArgumentNullException.ThrowIfNull(reader);
        ArgumentNullException.ThrowIfNull(sourceName);
        return Strict(new Parser(reader, sourceName, units).Run());
    }

    /// <summary>Reads every ionic step into a list; throws at the first problem.</summary>
    /// <param name="path">pw.x output file.</param>
    /// <param name="units">Constants to convert with; null picks them from the pw.x version.</param>
    /// <exception cref="PwOutputException">See <see cref="Read(string, PwUnits?)"/>.</exception>
    public static IReadOnlyList<Structure> ReadAll(string path, PwUnits? units = null) => Read(path, units).ToList();

    /// <summary>Reads every ionic step from a reader into a list; throws at the first problem.</summary>
    /// <param name="reader">The text.</param>
    /// <param name="sourceName">Name used in messages and in the <c>source</c> info key.</param>
    /// <param name="units">Constants to convert with; null picks them from the pw.x version.</param>
    /// <exception cref="PwOutputException">See <see cref="Read(string, PwUnits?)"/>.</exception>
    public static IReadOnlyList<Structure> ReadAll(TextReader reader, string sourceName, PwUnits? units = null) =>
        Read(reader, sourceName, units).ToList();

    /// <summary>
    /// Reads the last ionic step (for vc-relax: the closing SCF at the relaxed cell, marked
    /// <c>qe_final_scf</c>). Throws when any step has a problem or when there is no step at all.
    /// </summary>
    /// <param name="path">pw.x output file.</param>
    /// <param name="units">Constants to convert with; null picks them from the pw.x version.</param>
    /// <exception cref="PwOutputException">See <see cref="Read(string, PwUnits?)"/>; also when no ionic step was found.</exception>
    public static Structure ReadLast(string path, PwUnits? units = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        using var reader = OpenText(path);
        return ReadLast(reader, path, units);
    }

    /// <summary>Reads the last ionic step from a reader (see <see cref="ReadLast(string, PwUnits?)"/>).</summary>
    /// <param name="reader">The text.</param>
    /// <param name="sourceName">Name used in messages.</param>
    /// <param name="units">Constants to convert with; null picks them from the pw.x version.</param>
    /// <exception cref="PwOutputException">See <see cref="ReadLast(string, PwUnits?)"/>.</exception>
    public static Structure ReadLast(TextReader reader, string sourceName, PwUnits? units = null)
    {
        Structure? last = null;
        int lines = 0;
        var parser = new Parser(reader, sourceName, units);
        foreach (var s in Strict(parser.Run()))
        {
            last = s;
        }

        lines = parser.LineNumber;
        return last ?? throw new PwOutputException(PwFailureKind.Malformed, sourceName, null, lines,
            "no ionic step with a total energy ('!    total energy') was found; is this a pw.x scf/relax/md output?");
    }

    /// <summary>
    /// Reads every complete, converged ionic step and lists what was skipped and why (a non-converged
    /// SCF, the incomplete last step of a killed run, the step where pw.x stopped with an error).
    /// Never throws for problems in the content; I/O errors still throw.
    /// </summary>
    /// <param name="path">pw.x output file.</param>
    /// <param name="units">Constants to convert with; null picks them from the pw.x version.</param>
    public static PwReadResult ReadTolerant(string path, PwUnits? units = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        using var reader = OpenText(path);
        return ReadTolerant(reader, path, units);
    }

    /// <summary>Tolerant read from a reader (see <see cref="ReadTolerant(string, PwUnits?)"/>).</summary>
    /// <param name="reader">The text.</param>
    /// <param name="sourceName">Name used in messages.</param>
    /// <param name="units">Constants to convert with; null picks them from the pw.x version.</param>
    public static PwReadResult ReadTolerant(TextReader reader, string sourceName, PwUnits? units = null)
    {
        ArgumentNullException.ThrowIfNull(reader);
        ArgumentNullException.ThrowIfNull(sourceName);
        var frames = new List<Structure>();
        var skipped = new List<PwSkippedStep>();
        PwOutputException? first = null;
        foreach (var o in new Parser(reader, sourceName, units).Run())
        {
            if (o.Frame is not null)
            {
                frames.Add(o.Frame);
            }
            else
            {
                var e = o.Problem!;
                first ??= e;
                skipped.Add(new PwSkippedStep(e.IonicStep, e.LineNumber ?? 0, e.Kind, e.Message));
            }
        }

        return new PwReadResult(sourceName, frames, skipped) { FirstProblem = first };
    }

    private static IEnumerable<Structure> ReadFileLazily(string path, PwUnits? units)
    {
        using var reader = OpenText(path);
        foreach (var s in Strict(new Parser(reader, path, units).Run()))
        {
            yield return s;
        }
    }

    private static StreamReader OpenText(string path)
    {
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"pw.x output '{path}' does not exist.", path);
        }

        return new StreamReader(path);
    }

    private static IEnumerable<Structure> Strict(IEnumerable<Outcome> outcomes)
    {
        foreach (var o in outcomes)
        {
            if (o.Problem is not null)
            {
                throw o.Problem;
            }

            yield return o.Frame!;
        }
    }

    private readonly record struct Outcome(Structure? Frame, PwOutputException? Problem);

    /// <summary>Splits a run of numbers on whitespace and before a '-' glued to a preceding digit ("0.0000-0.7265").</summary>
    internal static List<double> ParseNumbers(ReadOnlySpan<char> text)
    {
        var values = new List<double>(4);
        int i = 0;
        while (i < text.Length)
        {
            while (i < text.Length && (char.IsWhiteSpace(text[i]) || text[i] == ','))
            {
                i++;
            }

            if (i >= text.Length)
            {
                break;
            }

            int start = i;
            i++;
            while (i < text.Length && !char.IsWhiteSpace(text[i]) && text[i] != ',')
            {
                char c = text[i];
                if ((c == '-' || c == '+') && char.IsAsciiDigit(text[i - 1]))
                {
                    break; // glued to the previous number (not an exponent sign: that follows E/D)
                }

                i++;
            }

            var token = text[start..i];
            if (!FortranNumber.TryParse(token, out double v))
            {
                throw new FormatException($"'{token.ToString()}' is not a number");
            }

            if (!double.IsFinite(v))
            {
                throw new FormatException($"'{token.ToString()}' is not a finite number");
            }

            values.Add(v);
        }

        return values;
    }

    /// <summary>
    /// The chemical symbol behind a pw.x ATOMIC_SPECIES label ("Fe1" → Fe, "O_up" → O, "ba" → Ba):
    /// the first two letters if they name an element, else the first one.
    /// </summary>
    /// <param name="label">The species label.</param>
    /// <param name="symbol">The element symbol when found.</param>
    /// <returns>False when the label names no element.</returns>
    public static bool TryLabelToSymbol(string label, out string symbol)
    {
        symbol = "";
        int n = 0;
        while (n < label.Length && char.IsAsciiLetter(label[n]) && n < 2)
        {
            n++;
        }

        if (n == 0)
        {
            return false;
        }

        string Cap(string s) => char.ToUpperInvariant(s[0]) + s[1..].ToLowerInvariant();
        if (n == 2 && Elements.TryGetAtomicNumber(Cap(label[..2]), out _))
        {
            symbol = Cap(label[..2]);
            return true;
        }

        if (Elements.TryGetAtomicNumber(Cap(label[..1]), out _))
        {
            symbol = Cap(label[..1]);
            return true;
        }

        return false;
    }

    /// <summary>The line-by-line state machine.</summary>
    private sealed class Parser
    {
        private readonly BoundedLineReader _reader;
        private readonly string _source;
        private readonly PwUnits? _fixedUnits;
        private readonly Queue<Outcome> _pending = new();

        private PwUnits _units = PwUnits.Codata2006;
        private string? _version;
        private string _calculation = "scf";
        private double? _alatBohr;
        private int _nat = -1;
        private int _ntyp = -1;
        private readonly Dictionary<string, string> _symbolByLabel = new(StringComparer.Ordinal);

        // Current geometry (what the next SCF runs at).
        private Mat3? _cell;
        private Vec3[]? _positions;
        private string[]? _labels;
        private bool _finalCoordinatesSeen;
        private bool _nextIsFinalScf;

        // The open ionic step.
        private Step? _step;
        private int _stepCount;
        private bool _jobDone;
        private bool _stopped;

        public Parser(TextReader reader, string sourceName, PwUnits? units)
        {
            _reader = new BoundedLineReader(reader, sourceName);
            _source = sourceName;
            _fixedUnits = units;
            if (units is not null)
            {
                _units = units;
            }
        }

        public int LineNumber { get; private set; }

        private sealed class Step
        {
            public int Index;
            public int StartLine;
            public Mat3 Cell;
            public Vec3[] Positions = [];
            public string[] Labels = [];
            public bool FinalScf;
            public double? EnergyRy;
            public int EnergyLine;
            public Vec3[]? ForcesRyPerBohr;
            public Mat3? StressRyPerBohr3;
            public int? NotConvergedLine;
            public string? NotConvergedText;
            public long? Iterations;
            public double? FermiEv;
            public double? Magnetization;
            public double? EnthalpyRy;
        }

        private string? NextLine()
        {
            string? line = _reader.ReadLine();
            if (line is not null)
            {
                LineNumber++;
            }

            return line;
        }

        private PwOutputException Error(PwFailureKind kind, int? step, int? line, string detail) =>
            new(kind, _source, step, line, detail);

        private PwOutputException Malformed(string detail) =>
            Error(PwFailureKind.Malformed, _step?.Index, LineNumber, detail);

        public IEnumerable<Outcome> Run()
        {
            while (!_stopped)
            {
                string? line = NextLine();
                if (line is null)
                {
                    Finish();
                    _stopped = true;
                }
                else
                {
                    try
                    {
                        Handle(line);
                    }
                    catch (FormatException ex)
                    {
                        _pending.Enqueue(new Outcome(null, Malformed(ex.Message)));
                        _stopped = true;
                    }
                    catch (PwOutputException ex)
                    {
                        _pending.Enqueue(new Outcome(null, ex));
                        _stopped = true;
                    }
                }

                while (_pending.Count > 0)
                {
                    yield return _pending.Dequeue();
                }
            }
        }

        private void Handle(string line)
        {
            var t = line.AsSpan().Trim();
            if (t.IsEmpty)
            {
                return;
            }

            if (t.StartsWith("Program PWSCF"))
            {
                int v = t.IndexOf("v.");
                if (v >= 0)
                {
                    var rest = t[(v + 2)..];
                    int sp = rest.IndexOf(' ');
                    _version = (sp < 0 ? rest : rest[..sp]).ToString();
                    if (_fixedUnits is null)
                    {
                        _units = PwUnits.ForVersion(_version);
                    }
                }
            }
            else if (t.StartsWith("celldm(1)="))
            {
                int c2 = t.IndexOf("celldm(2)");
                _alatBohr = ParseNumbers(t["celldm(1)=".Length..(c2 > 0 ? c2 : t.Length)])[0];
            }
            else if (t.StartsWith("lattice parameter (alat)"))
            {
                _alatBohr ??= ParseNumbers(Between(t, '=', 'a'))[0];
            }
            else if (t.StartsWith("number of atoms/cell"))
            {
                _nat = (int)ParseNumbers(t[(t.IndexOf('=') + 1)..])[0];
            }
            else if (t.StartsWith("number of atomic types"))
            {
                _ntyp = (int)ParseNumbers(t[(t.IndexOf('=') + 1)..])[0];
            }
            else if (t.StartsWith("force convergence thresh.") && _calculation == "scf")
            {
                _calculation = "relax";
            }
            else if (t.StartsWith("press convergence thresh."))
            {
                _calculation = "vc-relax";
            }
            else if (t.StartsWith("Molecular Dynamics Calculation") || t.StartsWith("Entering Dynamics"))
            {
                if (_calculation is not "vc-md")
                {
                    _calculation = "md";
                }
            }
            else if (t.StartsWith("Wentzcovitch Damped Cell") || t.Contains("Variable-cell", StringComparison.OrdinalIgnoreCase))
            {
                _calculation = "vc-md";
            }
            else if (t.StartsWith("atomic species   valence    mass     pseudopotential"))
            {
                ReadSpeciesTable();
            }
            else if (t.StartsWith("crystal axes:"))
            {
                ReadCrystalAxes();
            }
            else if (t.StartsWith("site n.") && t.Contains("positions (alat units)", StringComparison.Ordinal))
            {
                ReadHeaderPositions();
            }
            else if (t.StartsWith("Self-consistent Calculation"))
            {
                BeginStep();
            }
            else if (t[0] == '!' && t.Contains("total energy", StringComparison.Ordinal))
            {
                var s = RequireStep("a total energy");
                s.EnergyRy = ParseNumbers(Between(t, '=', 'R'))[0];
                s.EnergyLine = LineNumber;
            }
            else if (t.StartsWith("convergence NOT achieved"))
            {
                var s = RequireStep("'convergence NOT achieved'");
                s.NotConvergedLine = LineNumber;
                s.NotConvergedText = t.ToString();
            }
            else if (t.StartsWith("convergence has been achieved in"))
            {
                if (_step is not null)
                {
                    _step.Iterations = (long)ParseNumbers(t["convergence has been achieved in".Length..t.IndexOf("iterations")])[0];
                }
            }
            else if (t.StartsWith("the Fermi energy is"))
            {
                if (_step is not null)
                {
                    _step.FermiEv = ParseNumbers(t["the Fermi energy is".Length..t.LastIndexOf("ev", StringComparison.OrdinalIgnoreCase)])[0];
                }
            }
            else if (t.StartsWith("total magnetization"))
            {
                if (_step is not null)
                {
                    _step.Magnetization = ParseNumbers(Between(t, '=', 'B'))[0];
                }
            }
            else if (t.StartsWith("Forces acting on atoms"))
            {
                ReadForces();
            }
            else if (t.StartsWith("total   stress") || t.StartsWith("total stress"))
            {
                ReadStress();
            }
            else if (t.StartsWith("enthalpy new"))
            {
                if (_step is not null)
                {
                    _step.EnthalpyRy = ParseNumbers(Between(t, '=', 'R'))[0];
                }
            }
            else if (t.StartsWith("CELL_PARAMETERS"))
            {
                CloseStep();
                ReadCellParameters(t);
            }
            else if (t.StartsWith("ATOMIC_POSITIONS"))
            {
                CloseStep();
                ReadAtomicPositions(t);
            }
            else if (t.StartsWith("Begin final coordinates"))
            {
                CloseStep();
                _finalCoordinatesSeen = true;
            }
            else if (t.StartsWith("Final scf calculation at the relaxed structure"))
            {
                CloseStep();
                _nextIsFinalScf = true;
            }
            else if (t.Length >= 10 && t.StartsWith("%%%%%%%%%%"))
            {
                ReadErrorBlock();
            }
            else if (t.StartsWith("JOB DONE."))
            {
                CloseStep();
                _jobDone = true;
            }
        }

        private static ReadOnlySpan<char> Between(ReadOnlySpan<char> t, char after, char beforeUnitStart)
        {
            int eq = t.IndexOf(after);
            var rest = t[(eq + 1)..];
            int u = rest.IndexOf(beforeUnitStart);
            return u > 0 ? rest[..u] : rest;
        }

        private Step RequireStep(string what)
        {
            if (_step is null)
            {
                // pw.x always announces an SCF before its results; start one implicitly if not.
                BeginStep();
            }

            return _step ?? throw Malformed($"{what} outside any SCF cycle");
        }

        private void BeginStep()
        {
            if (_step is not null)
            {
                if (_step.EnergyRy is null && _step.NotConvergedLine is null)
                {
                    return; // the same SCF announced again (e.g. EXX outer loops)
                }

                CloseStep();
            }

            if (_positions is null || _cell is null || _labels is null)
            {
                throw Malformed("an SCF starts before the cell and atomic positions were printed (missing header)");
            }

            _step = new Step
            {
                Index = _stepCount++,
                StartLine = LineNumber,
                Cell = _cell.Value,
                Positions = (Vec3[])_positions.Clone(),
                Labels = (string[])_labels.Clone(),
                FinalScf = _nextIsFinalScf,
            };
        }

        /// <summary>Ends the open step because the output moved past it: a frame, or a skipped step.</summary>
        private void CloseStep()
        {
            var s = _step;
            if (s is null)
            {
                return;
            }

            _step = null;
            if (s.NotConvergedLine is int ncl)
            {
                _pending.Enqueue(new Outcome(null, Error(PwFailureKind.NotConverged, s.Index, ncl,
                    $"'{s.NotConvergedText}' (SCF started at line {s.StartLine}); its energy and forces are not usable")));
                return;
            }

            if (s.EnergyRy is null)
            {
                _pending.Enqueue(new Outcome(null, Error(PwFailureKind.Malformed, s.Index, LineNumber,
                    $"the SCF that started at line {s.StartLine} printed no total energy ('!    total energy') before the output moved on")));
                return;
            }

            _pending.Enqueue(new Outcome(ToStructure(s), null));
        }

        private void Finish()
        {
            if (_step is not null)
            {
                var s = _step;
                _step = null;
                string detail = s.NotConvergedLine is not null
                    ? $"the output ends at line {LineNumber}, after '{s.NotConvergedText}' (line {s.NotConvergedLine})"
                    : $"the output ends at line {LineNumber} inside the SCF that started at line {s.StartLine} "
                      + (s.EnergyRy is null ? "(no total energy yet)" : "(before the step was finished)")
                      + ": the run was killed, ran out of time, or is still running";
                _pending.Enqueue(new Outcome(null, Error(
                    s.NotConvergedLine is not null ? PwFailureKind.NotConverged : PwFailureKind.Truncated, s.Index, LineNumber, detail)));
                return;
            }

            if (!_jobDone)
            {
                string detail = _stepCount == 0 && _version is null
                    ? $"no pw.x banner ('Program PWSCF v.…') and no 'JOB DONE.' in {LineNumber} lines: empty, not a pw.x output, or killed at start"
                    : $"the output ends at line {LineNumber} without 'JOB DONE.': the run was killed, ran out of time, or is still running";
                _pending.Enqueue(new Outcome(null, Error(PwFailureKind.Truncated, _stepCount > 0 ? _stepCount : null, LineNumber, detail)));
            }
        }

        private Structure ToStructure(Step s)
        {
            int n = s.Positions.Length;
            var symbols = new string[n];
            bool plain = true;
            for (int i = 0; i < n; i++)
            {
                symbols[i] = SymbolOf(s.Labels[i]);
                plain &= symbols[i] == s.Labels[i];
            }

            var structure = new Structure(symbols, (Vec3[])s.Positions.Clone(), s.Cell, Pbc.All)
            {
                EnergyEv = s.EnergyRy!.Value * _units.RydbergEv,
            };
            if (s.ForcesRyPerBohr is not null)
            {
                double f = _units.RyPerBohrInEvPerA;
                structure.ForcesEvPerA = s.ForcesRyPerBohr.Select(v => f * v).ToArray();
            }

            if (s.StressRyPerBohr3 is Mat3 st)
            {
                // pw.x: positive = compressive. ASE/Gpff: positive = tensile.
                structure.StressEvPerA3 = Voigt.FromMatrix(-_units.RyPerBohr3InEvPerA3 * st);
            }

            var info = structure.Info;
            info["source"] = _source;
            info["qe_calculation"] = _calculation;
            info["qe_ionic_step"] = (long)s.Index;
            info["qe_final_scf"] = s.FinalScf;
            if (_version is not null)
            {
                info["qe_version"] = _version;
            }

            info["qe_units"] = _units.Name;
            info["qe_energy_line"] = (long)s.EnergyLine;
            if (s.Iterations is long it)
            {
                info["qe_scf_iterations"] = it;
            }

            if (s.FermiEv is double ef)
            {
                info["qe_fermi_energy_ev"] = ef;
            }

            if (s.Magnetization is double mag)
            {
                info["qe_total_magnetization"] = mag;
            }

            if (s.EnthalpyRy is double h)
            {
                info["qe_enthalpy_ev"] = h * _units.RydbergEv;
            }

            if (!plain)
            {
                structure.AtomProperties["qe_species"] = AtomProperty.FromStrings("qe_species", 1, (string[])s.Labels.Clone());
            }

            return structure;
        }

        private string SymbolOf(string label)
        {
            if (_symbolByLabel.TryGetValue(label, out var sym))
            {
                return sym;
            }

            if (TryLabelToSymbol(label, out sym))
            {
                _symbolByLabel[label] = sym;
                return sym;
            }

            throw Malformed($"the species label '{label}' names no chemical element");
        }

        private string RequireLine(string what)
        {
            return NextLine() ?? throw Error(PwFailureKind.Truncated, _step?.Index, LineNumber, $"the output ends inside {what}");
        }

        private string RequireNonBlankLine(string what)
        {
            while (true)
            {
                string line = RequireLine(what);
                if (!string.IsNullOrWhiteSpace(line))
                {
                    return line;
                }
            }
        }

        private void RequireNat(string what)
        {
            if (_nat <= 0)
            {
                throw Malformed($"{what} before 'number of atoms/cell' was printed");
            }
        }

        private double AlatBohr(string what) =>
            _alatBohr ?? throw Malformed($"{what} needs the lattice parameter, but neither celldm(1) nor 'lattice parameter (alat)' was printed before");

        private void ReadSpeciesTable()
        {
            int count = _ntyp > 0 ? _ntyp : int.MaxValue;
            for (int k = 0; k < count; k++)
            {
                string line = RequireLine("the atomic species table");
                if (string.IsNullOrWhiteSpace(line))
                {
                    break;
                }

                // "   Ba            10.00   137.32700     Ba( 1.00)": label, valence, mass, pseudo element(weight).
                var parts = line.Split((char[]?)null, 4, StringSplitOptions.RemoveEmptyEntries);
                if (parts.Length < 4)
                {
                    throw Malformed($"cannot read the atomic species line '{line.Trim()}'");
                }

                string label = parts[0];
                string psd = parts[3];
                int paren = psd.IndexOf('(');
                string element = (paren >= 0 ? psd[..paren] : psd).Trim();
                if (Elements.TryGetAtomicNumber(element, out _))
                {
                    _symbolByLabel[label] = element;
                }
                else if (element.Length > 0 && Elements.TryGetAtomicNumber(char.ToUpperInvariant(element[0]) + element[1..].ToLowerInvariant(), out _))
                {
                    _symbolByLabel[label] = char.ToUpperInvariant(element[0]) + element[1..].ToLowerInvariant();
                }
            }
        }

        private void ReadCrystalAxes()
        {
            var rows = new Vec3[3];
            for (int i = 0; i < 3; i++)
            {
                string line = RequireLine("the crystal axes");
                rows[i] = ParenthesizedVector(line, $"crystal axis a({i + 1})");
            }

            if (_finalCoordinatesSeen)
            {
                return; // vc-relax reprints the header; 'Begin final coordinates' had more digits
            }

            double scale = AlatBohr("the crystal axes (alat units)") * _units.BohrA;
            _cell = Mat3.FromRows(scale * rows[0], scale * rows[1], scale * rows[2]);
        }

        private Vec3 ParenthesizedVector(string line, string what)
        {
            int open = line.LastIndexOf('(');
            int close = line.LastIndexOf(')');
            if (open < 0 || close < open)
            {
                throw Malformed($"cannot read {what} from '{line.Trim()}'");
            }

            var v = ParseNumbers(line.AsSpan(open + 1, close - open - 1));
            if (v.Count != 3)
            {
                throw Malformed($"{what}: expected 3 numbers in '{line.Trim()}', found {v.Count}");
            }

            return new Vec3(v[0], v[1], v[2]);
        }

        private void ReadHeaderPositions()
        {
            RequireNat("the atomic positions");
            var labels = new string[_nat];
            var pos = new Vec3[_nat];
            double scale = AlatBohr("the atomic positions (alat units)") * _units.BohrA;
            for (int i = 0; i < _nat; i++)
            {
                // "    1           Ba  tau(   1) = (   0.0088719  -0.0006964  -0.0195439  )"
                string line = RequireLine("the atomic positions");
                int tau = line.IndexOf("tau(", StringComparison.Ordinal);
                var head = tau > 0 ? line[..tau].Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries) : [];
                if (head.Length < 2)
                {
                    throw Malformed($"cannot read atom {i + 1} of the header positions from '{line.Trim()}'");
                }

                labels[i] = head[1];
                pos[i] = scale * ParenthesizedVector(line, $"the position of atom {i + 1}");
            }

            _labels = labels;
            if (!_finalCoordinatesSeen)
            {
                _positions = pos;
            }
        }

        private void ReadForces()
        {
            var s = RequireStep("forces");
            if (s.ForcesRyPerBohr is not null)
            {
                return; // further blocks (verbosity='high' contributions) have other headers; keep the first total
            }

            RequireNat("the forces");
            var forces = new Vec3[_nat];
            var seen = new bool[_nat];
            int found = 0;
            while (found < _nat)
            {
                string line = RequireNonBlankLine("the forces block");
                int eq = line.IndexOf("force =", StringComparison.Ordinal);
                if (!line.TrimStart().StartsWith("atom", StringComparison.Ordinal) || eq < 0)
                {
                    throw Malformed($"the forces block has {found} of {_nat} atoms; then '{line.Trim()}'");
                }

                var head = line[..eq].Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
                int atom = head.Length >= 2 && int.TryParse(head[1], NumberStyles.Integer, CultureInfo.InvariantCulture, out int a) ? a - 1 : found;
                var v = ParseNumbers(line.AsSpan(eq + "force =".Length));
                if (v.Count < 3 || atom < 0 || atom >= _nat || seen[atom])
                {
                    throw Malformed($"cannot read the force on atom {found + 1} from '{line.Trim()}'");
                }

                forces[atom] = new Vec3(v[0], v[1], v[2]);
                seen[atom] = true;
                found++;
            }

            s.ForcesRyPerBohr = forces;
        }

        private void ReadStress()
        {
            var s = RequireStep("a stress");
            var m = new double[9];
            for (int i = 0; i < 3; i++)
            {
                string line = RequireLine("the stress block");
                var v = ParseNumbers(line);
                if (v.Count < 3)
                {
                    throw Malformed($"stress row {i + 1}: expected 3 numbers (Ry/bohr³) then 3 (kbar), found '{line.Trim()}'");
                }

                m[3 * i] = v[0];
                m[3 * i + 1] = v[1];
                m[3 * i + 2] = v[2];
            }

            s.StressRyPerBohr3 = Mat3.FromRowMajor(m);
        }

        private void ReadCellParameters(ReadOnlySpan<char> header)
        {
            string h = header.ToString();
            double scale;
            if (h.Contains("angstrom", StringComparison.OrdinalIgnoreCase))
            {
                scale = 1.0;
            }
            else if (h.Contains("bohr", StringComparison.OrdinalIgnoreCase))
            {
                scale = _units.BohrA;
            }
            else if (h.Contains("alat", StringComparison.OrdinalIgnoreCase))
            {
                int eq = h.IndexOf('=');
                double alat = eq > 0 ? ParseNumbers(h.AsSpan(eq + 1).TrimEnd(')').TrimEnd())[0] : AlatBohr("CELL_PARAMETERS (alat)");
                scale = alat * _units.BohrA;
            }
            else
            {
                throw Malformed($"unknown unit in '{h.Trim()}' (expected alat, bohr or angstrom)");
            }

            var rows = new Vec3[3];
            for (int i = 0; i < 3; i++)
            {
                string line = RequireNonBlankLine("CELL_PARAMETERS");
                var v = ParseNumbers(line);
                if (v.Count != 3)
                {
                    throw Malformed($"CELL_PARAMETERS row {i + 1}: expected 3 numbers, found '{line.Trim()}'");
                }

                rows[i] = scale * new Vec3(v[0], v[1], v[2]);
            }

            _cell = Mat3.FromRows(rows[0], rows[1], rows[2]);
        }

        private void ReadAtomicPositions(ReadOnlySpan<char> header)
        {
            RequireNat("ATOMIC_POSITIONS");
            string h = header.ToString();
            string unit = h.Contains("crystal", StringComparison.OrdinalIgnoreCase) ? "crystal"
                : h.Contains("angstrom", StringComparison.OrdinalIgnoreCase) ? "angstrom"
                : h.Contains("bohr", StringComparison.OrdinalIgnoreCase) ? "bohr"
                : h.Contains("alat", StringComparison.OrdinalIgnoreCase) ? "alat"
                : throw Malformed($"unknown unit in '{h.Trim()}' (expected alat, bohr, angstrom or crystal)");
            if (unit == "crystal" && _cell is null)
            {
                throw Malformed("ATOMIC_POSITIONS (crystal) before any cell was printed");
            }

            double scale = unit switch
            {
                "angstrom" => 1.0,
                "bohr" => _units.BohrA,
                "alat" => AlatBohr("ATOMIC_POSITIONS (alat)") * _units.BohrA,
                _ => 1.0,
            };
            var labels = new string[_nat];
            var pos = new Vec3[_nat];
            for (int i = 0; i < _nat; i++)
            {
                string line = RequireNonBlankLine("ATOMIC_POSITIONS");
                var trimmed = line.AsSpan().Trim();
                int sp = trimmed.IndexOfAny(' ', '\t');
                if (sp < 0)
                {
                    throw Malformed($"ATOMIC_POSITIONS atom {i + 1}: cannot read '{line.Trim()}'");
                }

                labels[i] = trimmed[..sp].ToString();
                var v = ParseNumbers(trimmed[sp..]);
                if (v.Count < 3)
                {
                    throw Malformed($"ATOMIC_POSITIONS atom {i + 1}: expected a label and 3 coordinates, found '{line.Trim()}'");
                }

                var x = new Vec3(v[0], v[1], v[2]);
                pos[i] = unit == "crystal" ? x * _cell!.Value : scale * x;
            }

            _labels = labels;
            _positions = pos;
        }

        private void ReadErrorBlock()
        {
            int start = LineNumber;
            var message = new List<string>();
            while (true)
            {
                string? line = NextLine();
                if (line is null)
                {
                    break;
                }

                var t = line.Trim();
                if (t.StartsWith("%%%%%%%%%%", StringComparison.Ordinal))
                {
                    break;
                }

                if (t.Length > 0)
                {
                    message.Add(t);
                }
            }

            if (message.Count == 0)
            {
                return;
            }

            var step = _step;
            _step = null;
            string text = string.Join(" ", message);
            string detail = step is null
                ? $"{text} (before any SCF finished)"
                : $"{text} (during the SCF that started at line {step.StartLine})";
            _pending.Enqueue(new Outcome(null, Error(PwFailureKind.PwError, step?.Index, start + 1, detail)));
            _stopped = true;
        }
    }
}
