using System.CommandLine;
using System.Globalization;
using Gpff.IO;

namespace Gpff.Cli.Commands;

/// <summary><c>gpff info FILE.extxyz [--cutoff Å]</c>: a summary of the structures in a file and their neighbour statistics.</summary>
public sealed class InfoCommand : ICommand
{
    /// <inheritdoc/>
    public string Name => "info";

    /// <inheritdoc/>
    public string Summary => "summarise the structures of an extended XYZ file and their neighbours";

    /// <inheritdoc/>
    public string Description => """
        Reads every frame (extended XYZ, ASE dialect; .gz allowed, streamed) and prints, per frame, the
        formula, number of atoms, volume (Å³), energy (eV and eV/atom), pressure from the stress label (GPa,
        P = −trace(σ)/3), largest force (eV/Å), and the nearest-neighbour distance and mean number of
        neighbours within the cutoff; then totals per formula. Every frame is checked before anything is
        printed (one pass; rows are held until the end), so a bad frame anywhere gives its error and no table.
        """;

    /// <inheritdoc/>
    public string ArgumentsName => "FILE.extxyz";

    /// <inheritdoc/>
    public string ArgumentsDescription => "the structures to summarise";

    /// <summary>The default neighbour cutoff of the summary, Å.</summary>
    internal const double DefaultCutoffA = 5.0;

    /// <inheritdoc/>
    public IReadOnlyList<Option> Options =>
    [
        Declare.Number("cutoff", "Å", "neighbour cutoff of the summary in Å", DefaultCutoffA),
        Declare.Number("min-distance", "Å", "frames whose atoms are closer than this (Å) are reported as errors", Structure.DefaultMinimumDistanceA),
    ];

    /// <inheritdoc/>
    public int Run(ParsedArguments args, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken)
    {
        double cutoff = args.GetDouble(DefaultCutoffA, "cutoff");
        double minDistance = args.GetDouble(Structure.DefaultMinimumDistanceA, "min-distance");
        args.RejectUnknown();
        if (args.Positional.Count != 1)
        {
            throw new UsageException("expected one extended XYZ file (gpff info --help).");
        }

        if (!(cutoff > 0))
        {
            throw new UsageException($"--cutoff must be a positive number of Å, got {cutoff}.");
        }

        string path = args.Positional[0];
        var inv = CultureInfo.InvariantCulture;
        var frames = ExtXyz.Read(path); // checks that the file exists before anything is printed
        void Header()
        {
            stdout.WriteLine(string.Create(inv, $"{path}: neighbours within {cutoff:0.###} Å"));
            stdout.WriteLine(string.Create(inv, $"{"frame",5} {"formula",-12} {"atoms",5} {"V (Å³)",9} {"E (eV)",16} {"E/atom",12} {"P (GPa)",8} {"max|F|",8} {"d_min (Å)",9} {"<neigh>",7}"));
        }

        // One pass checks every frame (structure, neighbour list) and formats its row; rows are printed only
        // when the whole file is good, so a bad frame anywhere prints nothing on stdout.
        var rows = new List<string>();
        var byFormula = new SortedDictionary<string, (int Frames, int Atoms, double NeighSum, double DMin)>(StringComparer.Ordinal);
        int index = 0;
        foreach (var s in frames)
        {
            cancellationToken.ThrowIfCancellationRequested();
            try
            {
                s.Validate(minDistance, allowLeftHandedCell: true);
            }
            catch (InvalidStructureException ex)
            {
                throw new InvalidDataException($"{path}, frame {index + 1}: {ex.Message}", ex);
            }

            var nl = Inputs.AtFrame(path, index, () => NeighborList.Build(s, cutoff));
            double dmin = double.PositiveInfinity;
            for (int i = 0; i < s.AtomCount; i++)
            {
                foreach (var d in nl.Distances(i))
                {
                    dmin = Math.Min(dmin, d);
                }
            }

            long entries = nl.EntryCount;
            double meanNeighbours = s.AtomCount == 0 ? 0 : (double)entries / s.AtomCount;
            string formula = s.HillFormula();
            string energy = s.EnergyEv is double e ? e.ToString("F6", inv) : "-";
            string energyPerAtom = s.EnergyEv is double e2 && s.AtomCount > 0 ? (e2 / s.AtomCount).ToString("F5", inv) : "-";
            string pressure = s.StressEvPerA3 is { } st ? Units.EvPerA3ToGpa(st.Pressure).ToString("F3", inv) : "-";
            string fmax = s.ForcesEvPerA is { Length: > 0 } f ? f.Max(v => v.Length).ToString("F4", inv) : "-";
            string volume = s.Pbc.Any ? s.VolumeA3.ToString("F3", inv) : "-";
            string dminText = double.IsFinite(dmin) ? dmin.ToString("F4", inv) : "-";
            rows.Add(string.Create(inv, $"{index + 1,5} {formula,-12} {s.AtomCount,5} {volume,9} {energy,16} {energyPerAtom,12} {pressure,8} {fmax,8} {dminText,9} {meanNeighbours,7:F2}"));
            var agg = byFormula.TryGetValue(formula, out var a) ? a : (Frames: 0, Atoms: 0, NeighSum: 0.0, DMin: double.PositiveInfinity);
            byFormula[formula] = (agg.Frames + 1, agg.Atoms + s.AtomCount, agg.NeighSum + entries, Math.Min(agg.DMin, dmin));
            index++;
        }

        Header();
        foreach (var row in rows)
        {
            stdout.WriteLine(row);
        }

        stdout.WriteLine();
        stdout.WriteLine(string.Create(inv, $"{index} frames, {byFormula.Values.Sum(v => v.Atoms)} atoms, {byFormula.Count} formulas"));
        foreach (var (formula, v) in byFormula)
        {
            stdout.WriteLine(string.Create(inv, $"  {formula,-12} {v.Frames,4} frames  {v.Atoms,6} atoms  <neighbours> {v.NeighSum / Math.Max(1, v.Atoms),6:F2}  d_min {v.DMin:F4} Å"));
        }

        return 0;
    }
}
