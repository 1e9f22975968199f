using System.CommandLine;
using System.Globalization;
using Gpff.Dynamics.MolecularDynamics;
using Gpff.IO;

namespace Gpff.Cli.Commands;

/// <summary><c>gpff md MODEL IN.extxyz --ensemble nve|nvt|npt …</c>: molecular dynamics with a force field.</summary>
public sealed class MdCommand : ICommand
{
    /// <inheritdoc/>
    public string Name => "md";

    /// <inheritdoc/>
    public string Summary => "molecular dynamics (NVE, NVT, NPT) with a force field, with a log and a trajectory";

    /// <inheritdoc/>
    public string Description => """
        Runs MD from a frame of IN.extxyz with the model's forces (and stress, for npt), starting from
        Maxwell–Boltzmann velocities at --temperature (centre-of-mass drift removed). Progress (step,
        temperature, time left) goes to stderr; the final state to stdout.
        """;

    /// <inheritdoc/>
    public string ArgumentsName => "MODEL IN.extxyz";

    /// <inheritdoc/>
    public string ArgumentsDescription => "the model file (full or sparse GP) and the start structure (extended XYZ)";

    /// <inheritdoc/>
    public IReadOnlyList<Option> Options =>
    [
        .. MdArguments.Declarations(),
        Declare.Text("log", "LOG.csv", $"CSV log: {MolecularDynamicsLogger.Header} (the GP's largest force σ on every logged step)"),
        Declare.Text("trajectory", "OUT.extxyz", "extended XYZ frames with energy, forces, stress, velocities (streamed)"),
        Declare.Whole("every", "N", "steps between log rows and trajectory frames", 10, 1, int.MaxValue),
    ];

    /// <inheritdoc/>
    public int Run(ParsedArguments args, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken)
    {
        var md = MdArguments.Read(args);
        string? logPath = args.Get("log");
        string? trajectoryPath = args.Get("trajectory");
        int every = args.GetInt(10, 1, int.MaxValue, "every");
        args.RejectUnknown();
        if (args.Positional.Count != 2)
        {
            throw new UsageException("expected MODEL and IN.extxyz (gpff md --help).");
        }

        string modelPath = args.Positional[0], input = args.Positional[1];
        foreach (var (path, option) in new[] { (logPath, "--log"), (trajectoryPath, "--trajectory") })
        {
            if (path is not null)
            {
                UsageException.CheckOutput(path, [.. args.Positional, logPath == path ? trajectoryPath : logPath], option);
            }
        }

        var (ff, species) = Inputs.LoadModel(modelPath, cancellationToken);
        var start = md.StartFrame(input);
        Inputs.CheckSpecies(input, md.Frame - 1, start, species, "the model");
        var structure = start.CloneWithoutLabels();
        var dynamics = Inputs.AtFrame(input, md.Frame - 1, () => md.Build(structure, ff, cancellationToken));
        using var log = logPath is null ? null : MolecularDynamicsLogger.Create(logPath);
        using var trajectory = trajectoryPath is null ? null : TrajectoryWriter.Create(trajectoryPath);
        log?.Attach(dynamics, every);
        trajectory?.Attach(dynamics, every);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        CliProgress.Run(stderr, progress =>
        {
            MdArguments.AttachProgress(dynamics, md.Steps, progress);
            dynamics.Run(md.Steps, null, cancellationToken);
        });

        var inv = CultureInfo.InvariantCulture;
        var state = dynamics.State;
        string volume = structure.Pbc.AllPeriodic ? string.Create(inv, $", V {structure.VolumeA3:F3} Å³") : "";
        stdout.WriteLine(string.Create(inv, $"{md.Steps} steps of {md.TimeStepFs} fs ({md.Ensemble}) in {clock.Elapsed.TotalSeconds:F1} s: T {state.TemperatureK:F1} K, E_pot {state.PotentialEnergyEv:F6} eV, E_tot {state.TotalEnergyEv:F6} eV{volume}"));
        if (ModelTrainingDistances.Of(ff, cancellationToken)?.CheckRange(structure) is { } collapse)
        {
            // As for relaxations: a pair far closer than any in the training data, or a cell far larger, is the model's extrapolation, not physics.
            stdout.WriteLine($"warning: the final structure {collapse.Message}; what the model computes there is an extrapolation");
        }

        if (log is not null)
        {
            stdout.WriteLine($"wrote {logPath}");
        }

        if (trajectory is not null)
        {
            stdout.WriteLine($"wrote {trajectory.FrameCount} frames to {trajectoryPath}");
        }

        return 0;
    }
}
