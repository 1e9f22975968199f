using System.CommandLine;
using System.Globalization;
using Gpff.IO;
using Gpff.Phases;
using Gpff.Phases.Plotting;

namespace Gpff.Cli.Commands;

/// <summary><c>gpff hull</c>: enthalpy convex hull of a list of entries at a pressure, with stability probabilities.</summary>
public sealed class HullCommand : ICommand
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <inheritdoc/>
    public string Name => "hull";

    /// <inheritdoc/>
    public string Summary => "enthalpy convex hull under pressure, with stability probabilities";

    /// <summary>Monte-Carlo samples of the stability probabilities unless --samples says otherwise.</summary>
    internal const int DefaultSamples = 10_000;

    /// <summary>Seed of the samples unless --seed says otherwise.</summary>
    internal const int DefaultSeed = 12345;

    /// <summary>Stability probabilities counted as uncertain unless --band says otherwise.</summary>
    internal const string DefaultBand = "0.05,0.95";

    /// <inheritdoc/>
    public string Description => """
        Lower convex hull of the formation enthalpy per atom, H = E + P·V, over composition. Stability
        probabilities (p_stable) are computed when a std column or --covariance is given.
        """;

    /// <inheritdoc/>
    public string ArgumentsName => "ENTRIES.csv";

    /// <inheritdoc/>
    public string ArgumentsDescription => "the entries (columns under Conventions)";

    /// <inheritdoc/>
    public IReadOnlyList<Option> Options =>
    [
        Declare.Number("pressure", "GPa", "pressure in GPa; every entry needs a volume when it is not 0", 0),
        Declare.Text("terminals", "BaO,RhO2", "comma-separated terminal compositions (e.g. BaO,RhO2 for the pseudo-binary); default: the elements. Entries outside their span are left out and listed"),
        Declare.Text("o|output", "RESULT.json", "write the result as JSON"),
        Declare.Text("plot", "hull.png", "draw the hull (2 or 3 components) to a .png or .svg file"),
        Declare.Text("covariance", "COV.txt", "covariance matrix of the total energies (eV², one row per entry, in file order); overrides energy_std_ev. Correlated errors partly cancel in formation energies"),
        Declare.Whole("samples", "N", "Monte-Carlo samples for the stability probabilities", DefaultSamples, 1, int.MaxValue),
        Declare.Whole("seed", "SEED", "random seed of the samples", DefaultSeed, int.MinValue, int.MaxValue),
        Declare.Text("band", "LOW,HIGH", "stability probabilities counted as uncertain: recompute with DFT", DefaultBand),
        Declare.Number("tolerance", "eV/atom", "vertex tolerance in eV/atom", PhaseDiagram.DefaultToleranceEvPerAtom),
    ];

    /// <inheritdoc/>
    public string Conventions => """
        ENTRIES.csv: header and columns name,formula,energy_ev,volume_a3,energy_std_ev (the last two may be empty);
        energy (eV), volume (Å³) and std (eV) are for the formula as written (Ba2RhO4 = 7 atoms). Lines starting
        with # are comments.
        """;

    /// <inheritdoc/>
    public int Run(ParsedArguments args, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken)
    {
        if (args.Positional.Count != 1)
        {
            throw new UsageException($"expected one ENTRIES.csv file, got {args.Positional.Count} positional arguments. See gpff hull --help.");
        }

        string csv = args.Positional[0];
        double pressure = args.GetDouble(0, "pressure");
        string? terminalsText = args.Get("terminals");
        string? output = args.Get("o", "output");
        string? plotPath = args.Get("plot");
        string? covariancePath = args.Get("covariance");
        int samples = args.GetInt(DefaultSamples, 1, int.MaxValue, "samples");
        int seed = args.GetInt(DefaultSeed, int.MinValue, int.MaxValue, "seed");
        double tolerance = args.GetDouble(PhaseDiagram.DefaultToleranceEvPerAtom, "tolerance");
        string band = args.Get("band") ?? DefaultBand;
        args.RejectUnknown();

        var bandParts = band.Split(',');
        if (bandParts.Length != 2
            || !double.TryParse(bandParts[0], NumberStyles.Float, Inv, out double low)
            || !double.TryParse(bandParts[1], NumberStyles.Float, Inv, out double high))
        {
            throw new UsageException($"option --band expects two probabilities like 0.05,0.95, got '{band}'.");
        }

        if (plotPath is not null && Path.GetExtension(plotPath).ToLowerInvariant() is not (".png" or ".svg"))
        {
            throw new UsageException($"option --plot needs a .png or .svg file name, got '{plotPath}'.");
        }

        if (!File.Exists(csv))
        {
            throw new FileNotFoundException($"entries file '{csv}' not found.", csv);
        }

        if (output is not null)
        {
            UsageException.CheckOutput(output, [csv, covariancePath, plotPath], "-o");
        }

        if (plotPath is not null)
        {
            UsageException.CheckOutput(plotPath, [csv, covariancePath, output], "--plot");
        }

        var entries = PhaseEntryCsv.Read(csv);
        List<Composition>? terminals = null;
        if (terminalsText is not null)
        {
            terminals = [];
            foreach (var t in terminalsText.Split(',', StringSplitOptions.TrimEntries))
            {
                if (t.Length == 0)
                {
                    throw new UsageException($"option --terminals: '{terminalsText}' has an empty composition; give formulas separated by commas, e.g. BaO,RhO2.");
                }

                try
                {
                    terminals.Add(Composition.Parse(t));
                }
                catch (FormatException ex)
                {
                    throw new UsageException($"option --terminals: {ex.Message}", ex);
                }
            }
        }

        var diagram = new PhaseDiagram(entries, pressure, terminals, tolerance);

        StabilityReport? stability = null;
        var options = new StabilityOptions { Samples = samples, Seed = seed, UncertainLow = low, UncertainHigh = high };
        if (covariancePath is not null)
        {
            var cov = PhaseEntryCsv.ReadCovariance(covariancePath, entries.Count);
            stability = CliProgress.Run(stderr, p => HullUncertainty.Analyze(diagram, cov, options, Samples(p), cancellationToken));
        }
        else if (entries.Any(e => e.EnergyStdEv is not null))
        {
            stability = CliProgress.Run(stderr, p => HullUncertainty.Analyze(diagram, options, Samples(p), cancellationToken));
        }

        // A bar on a terminal; nothing on plain output (the analysis takes seconds).
        static IProgress<StabilityProgress> Samples(CliProgress p) =>
            new SyncProgress<StabilityProgress>(s => p.Update("stability samples", s.CompletedSamples, s.TotalSamples));

        PrintTable(stdout, diagram, stability);

        if (output is not null)
        {
            HullJson.Write(output, diagram, stability);
            stdout.WriteLine($"wrote {output}");
        }

        if (plotPath is not null)
        {
            HullPlot.Save(diagram, plotPath, 1000, 700, stability);
            stdout.WriteLine($"wrote {plotPath}");
        }

        return 0;
    }

    private static void PrintTable(TextWriter o, PhaseDiagram d, StabilityReport? s)
    {
        string system = string.Join("–", d.Terminals.Select(t => t.Formula));
        o.WriteLine($"{system} hull at {d.PressureGpa.ToString("0.###", Inv)} GPa: {d.Entries.Count} entries, {d.StableEntries.Count} stable" +
            (d.Excluded.Count > 0 ? $", {d.Excluded.Count} left out" : string.Empty));
        int nameWidth = Math.Max(4, d.Entries.Max(e => e.Name.Length));
        int formulaWidth = Math.Max(7, d.Entries.Max(e => e.Entry.Composition.Formula.Length));
        string header = $"{"name".PadRight(nameWidth)}  {"formula".PadRight(formulaWidth)}  {"H_f eV/atom",12}  {"E_hull meV/atom",15}  {"stable",6}";
        if (s is not null)
        {
            header += $"  {"p_stable",8}";
        }

        o.WriteLine(header + "  decomposition");
        for (int i = 0; i < d.Entries.Count; i++)
        {
            var e = d.Entries[i];
            string line = $"{e.Name.PadRight(nameWidth)}  {e.Entry.Composition.Formula.PadRight(formulaWidth)}  {e.FormationEnthalpyPerAtomEv.ToString("0.000000", Inv),12}  " +
                $"{(e.EnergyAboveHullEvPerAtom * 1000).ToString("0.000", Inv),15}  {(e.IsStable ? "yes" : "no"),6}";
            if (s is not null)
            {
                line += $"  {s.Entries[i].PStable.ToString("0.000", Inv),8}";
            }

            string decomposition = e.IsStable
                ? "-"
                : string.Join(" + ", e.Decomposition.Select(p => $"{p.AtomFraction.ToString("0.####", Inv)} {p.Entry.Name}"));
            o.WriteLine($"{line}  {decomposition}");
        }

        foreach (var x in d.Excluded)
        {
            o.WriteLine($"left out: {x.Entry.Name} ({x.Entry.Composition.Formula}): {x.Reason}");
        }

        if (s is not null)
        {
            o.WriteLine($"stability from {s.Options.Samples} Monte-Carlo samples (seed {s.Options.Seed}); uncertain (p_stable in [{s.Options.UncertainLow.ToString(Inv)}, {s.Options.UncertainHigh.ToString(Inv)}]): " +
                (s.Uncertain.Count == 0 ? "none" : string.Join(", ", s.Uncertain.Select(u =>
                    $"{u.Name} (p = {u.PStable.ToString("0.000", Inv)}, E_hull {(u.EnergyAboveHull.Median * 1000).ToString("0.0", Inv)} [{(u.EnergyAboveHull.Q05 * 1000).ToString("0.0", Inv)}, {(u.EnergyAboveHull.Q95 * 1000).ToString("0.0", Inv)}] meV/atom)"))));
        }
    }

    private sealed class SyncProgress<T>(Action<T> action) : IProgress<T>
    {
        public void Report(T value) => action(value);
    }
}
