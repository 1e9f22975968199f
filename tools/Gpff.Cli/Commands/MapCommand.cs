using System.CommandLine;
using System.Globalization;
using Gpff.IO;
using Gpff.Regression.Mapping;

namespace Gpff.Cli.Commands;

/// <summary><c>gpff map MODEL -o MAP.gpffmap [--tolerance eV/Å]</c>: the mapped GP (splines) of a trained model for fast MD.</summary>
public sealed class MapCommand : ICommand
{
    private static readonly MappingOptions Defaults = new();

    /// <inheritdoc/>
    public string Name => "map";

    /// <inheritdoc/>
    public string Summary => "map a trained model's mean onto 2-/3-body splines (MGP) for fast MD, checked against the GP";

    /// <inheritdoc/>
    public string Description => string.Create(CultureInfo.InvariantCulture, $"""
        Tabulates the GP mean of MODEL as a mapped GP (FLARE's MGP): per species pair a cubic spline of
        the 2-body term over distance, per central species and neighbour pair a tricubic spline of the
        3-body term over (r1, r2, r12). The grids start at --pair-points and --triplet-points per axis and
        are refined until the largest force-component difference to the GP on validation structures is at
        most --tolerance; the 3-body grid grows up to --max-triplet-points per axis. Validation structures are
        the frames of --validation (held-out data; their labels are not used) or, without it, the training
        structures rattled by up to ±{Defaults.ValidationRattleA} Å. Each map starts --margin below the smallest
        distance of its species pair in the training data; shorter distances are an error when the map is used,
        never a number. The map gives energies (eV), forces (eV/Å) and stress (eV/Å³); with --variance also the
        latent, calibrated standard deviations of local and total energies (not of forces), within --std-tolerance
        of the GP's on the validation structures. MAP is a versioned binary file (.gpffmap, see docs/DESIGN.md);
        an output ending in .gpff is instead a copy of MODEL that carries the map (ForceField.Load gives it back).
        --lammps also writes the mean in the text format of LAMMPS pair_style mgp (FLARE's plugin; pair_coeff * *
        FILE.mgp Ba O Rh yes yes), whose energies leave out the per-species reference energies.
        Only 2-body and 3-body kernels can be mapped (the B2 many-body kernel cannot). Exit code 1 when a
        tolerance is not met.
        """);

    /// <inheritdoc/>
    public string ArgumentsName => "MODEL";

    /// <inheritdoc/>
    public string ArgumentsDescription => "the trained model (full GP)";

    /// <inheritdoc/>
    public IReadOnlyList<Option> Options =>
    [
        Declare.Text("o|output", "MAP.gpffmap", "where the map is written (required)"),
        Declare.Number("tolerance", "eV/Å", "largest force-component difference to the GP allowed on the validation structures, eV/Å", Defaults.ForceToleranceEvPerA),
        Declare.Text("validation", "HELDOUT.extxyz", "validation structures (held-out data; their labels are not used)"),
        Declare.Whole("pair-points", "N", "points of the 2-body grid to start from", Defaults.PairGridPoints, UniformCubicSpline.MinimumPoints, Defaults.MaxPairGridPoints),
        Declare.Whole("triplet-points", "N", "points per axis of the 3-body grid to start from", Defaults.TripletGridPoints, UniformCubicSpline.MinimumPoints, 128),
        Declare.Whole("max-triplet-points", "N", "largest 3-body grid per axis", Defaults.MaxTripletGridPoints, UniformCubicSpline.MinimumPoints, 128),
        Declare.Number("margin", "Å", "how far below the shortest training distance of each species pair the map starts, Å", Defaults.LowerBoundMarginA),
        Declare.Flag("variance", "map the variance too: standard deviations of local and total energies"),
        Declare.Text("lammps", "FILE.mgp", "also write the map's mean for LAMMPS pair_style mgp"),
        Declare.Number("std-tolerance", "eV", "with --variance: largest difference of a local-energy standard deviation to the GP's on the validation structures, eV", Defaults.LocalEnergyStdToleranceEv),
    ];

    /// <inheritdoc/>
    public int Run(ParsedArguments args, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken)
    {
        var output = args.Get("o", "output");
        var defaults = new MappingOptions();
        var options = defaults with
        {
            ForceToleranceEvPerA = args.GetDouble(defaults.ForceToleranceEvPerA, "tolerance"),
            PairGridPoints = args.GetInt(defaults.PairGridPoints, UniformCubicSpline.MinimumPoints, defaults.MaxPairGridPoints, "pair-points"),
            TripletGridPoints = args.GetInt(defaults.TripletGridPoints, UniformCubicSpline.MinimumPoints, 128, "triplet-points"),
            MaxTripletGridPoints = args.GetInt(defaults.MaxTripletGridPoints, UniformCubicSpline.MinimumPoints, 128, "max-triplet-points"),
            LowerBoundMarginA = args.GetDouble(defaults.LowerBoundMarginA, "margin"),
            MapVariance = args.Has("variance"),
            LocalEnergyStdToleranceEv = args.GetDouble(defaults.LocalEnergyStdToleranceEv, "std-tolerance"),
        };
        if (!(options.ForceToleranceEvPerA > 0))
        {
            throw new UsageException($"--tolerance must be a positive force in eV/Å, got {options.ForceToleranceEvPerA.ToString(System.Globalization.CultureInfo.InvariantCulture)}.");
        }

        if (!(options.LocalEnergyStdToleranceEv > 0))
        {
            throw new UsageException($"--std-tolerance must be a positive energy in eV, got {options.LocalEnergyStdToleranceEv.ToString(System.Globalization.CultureInfo.InvariantCulture)}.");
        }

        var validationPath = args.Get("validation");
        var lammps = args.Get("lammps");
        args.RejectUnknown();
        if (args.Positional.Count != 1)
        {
            throw new UsageException("expected one MODEL (gpff map --help).");
        }

        if (output is null)
        {
            throw new UsageException("-o MAP.gpffmap is required.");
        }

        options.Validate();
        string model = args.Positional[0];
        UsageException.CheckOutput(output, validationPath is null ? [model] : [model, validationPath], "-o");
        if (lammps is not null)
        {
            UsageException.CheckOutput(lammps, validationPath is null ? [model, output] : [model, validationPath, output], "--lammps");
        }

        var ff = ForceField.Load(model, cancellationToken: cancellationToken);
        List<Structure>? validation = null;
        if (validationPath is not null)
        {
            var known = ff.Species.ToHashSet();
            validation = [];
            int index = 0;
            foreach (var s in Inputs.ReadFrames(validationPath))
            {
                Inputs.CheckSpecies(validationPath, index++, s, known, "the model");
                validation.Add(s);
            }
        }

        var map = ff.ToMapped(options.ForceToleranceEvPerA, options, validation, cancellationToken: cancellationToken);
        bool intoModel = string.Equals(Path.GetExtension(output), ".gpff", StringComparison.OrdinalIgnoreCase);
        if (intoModel)
        {
            ff.Save(output, new Dictionary<string, string> { ["mapped_from"] = Path.GetFileName(model) });
        }
        else
        {
            MappedForceFieldFile.Save(map, output, new Dictionary<string, string> { ["model"] = Path.GetFileName(model) }, cancellationToken);
        }

        if (lammps is not null)
        {
            LammpsMgpFile.Write(map, lammps, cancellationToken);
        }

        foreach (var r in map.Report!.Rounds)
        {
            stdout.WriteLine(r.ToString());
        }

        stdout.WriteLine(map.Report.ToString());
        if (map.Variance?.Report is { } vr)
        {
            stdout.WriteLine(vr.ToString());
        }

        stdout.WriteLine($"{map.PairMaps.Count} pair maps and {map.TripletMaps.Count} triplet maps{(map.Variance is null ? "" : $" with a rank-{map.Variance.Rank} variance map")} written to {output}{(intoModel ? " (a copy of the model that carries them)" : "")}{(lammps is null ? "" : $"; pair_style mgp file {lammps}")}");
        return 0;
    }
}
