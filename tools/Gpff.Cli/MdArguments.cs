using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Gpff.Dynamics.MolecularDynamics;

namespace Gpff.Cli;

/// <summary>
/// The molecular-dynamics options shared by <c>gpff md</c> and <c>gpff learn</c> (ensemble, temperature,
/// pressure, time step, steps, seed, thermostat and barostat), their defaults and help lines in one place,
/// and the integrator they describe.
/// </summary>
internal sealed record MdArguments
{
    public const string DefaultEnsemble = "nvt";
    public const double DefaultTemperatureK = 300;
    public const double DefaultTimeStepFs = 1.0;
    public const int DefaultSeed = 1;
    public const double DefaultFrictionPerFs = 0.01;
    public const double DefaultBarostatTimeFs = 200;
    public const double DefaultCompressibilityPerGpa = 0.01;

    /// <summary>The dynamics options with their units and defaults (one home: the constants above).</summary>
    public static Option[] Declarations() =>
    [
        Declare.OneOf("ensemble", "nve (velocity Verlet), nvt (Langevin, BAOAB) or npt (stochastic cell rescaling, Bernetti & Bussi 2020)", DefaultEnsemble, "nve", "nvt", "npt"),
        Declare.Number("temperature", "K", "the thermostat's target and the Maxwell–Boltzmann start velocities, K", DefaultTemperatureK),
        Declare.Number("pressure", "GPa", "the barostat's target in GPa (npt only)", 0),
        Declare.Number("timestep", "fs", "MD time step in fs", DefaultTimeStepFs),
        Declare.Whole("steps", "N", "number of MD steps (required)", null),
        Declare.Whole("seed", "SEED", "seed of the start velocities and the thermostat", DefaultSeed, int.MinValue, int.MaxValue),
        Declare.Number("friction", "1/fs", "Langevin friction in 1/fs (nvt, npt)", DefaultFrictionPerFs),
        Declare.Number("barostat-time", "fs", "barostat relaxation time in fs (npt)", DefaultBarostatTimeFs),
        Declare.Number("compressibility", "1/GPa", "assumed compressibility in 1/GPa (npt)", DefaultCompressibilityPerGpa),
        Declare.Flag("anisotropic", "npt: every cell component moves (default: isotropic)"),
        Declare.Whole("frame", "N", "which frame of the input file to start from, 1-based", 1, 1, int.MaxValue),
    ];

    public required string Ensemble { get; init; }

    public double TemperatureK { get; init; }

    public double PressureGpa { get; init; }

    public double TimeStepFs { get; init; }

    public int Steps { get; init; }

    public int Seed { get; init; }

    public double FrictionPerFs { get; init; }

    public double BarostatTimeFs { get; init; }

    public double CompressibilityPerGpa { get; init; }

    public bool Anisotropic { get; init; }

    public int Frame { get; init; }

    /// <summary>Reads the options (every one checked, with the option named in errors).</summary>
    public static MdArguments Read(ParsedArguments args)
    {
        string ensemble = (args.Get("ensemble") ?? DefaultEnsemble).ToLowerInvariant();
        if (ensemble is not ("nve" or "nvt" or "npt"))
        {
            throw new UsageException($"option --ensemble expects nve, nvt or npt, got '{ensemble}'.");
        }

        var m = new MdArguments
        {
            Ensemble = ensemble,
            TemperatureK = args.GetDouble(DefaultTemperatureK, "temperature"),
            PressureGpa = args.GetDouble(0, "pressure"),
            TimeStepFs = args.GetDouble(DefaultTimeStepFs, "timestep"),
            Steps = args.GetInt(-1, 0, int.MaxValue, "steps"),
            Seed = args.GetInt(DefaultSeed, int.MinValue, int.MaxValue, "seed"),
            FrictionPerFs = args.GetDouble(DefaultFrictionPerFs, "friction"),
            BarostatTimeFs = args.GetDouble(DefaultBarostatTimeFs, "barostat-time"),
            CompressibilityPerGpa = args.GetDouble(DefaultCompressibilityPerGpa, "compressibility"),
            Anisotropic = args.Has("anisotropic"),
            Frame = args.GetInt(1, 1, int.MaxValue, "frame"),
        };
        if (m.Steps < 0)
        {
            throw new UsageException("--steps N is required: the number of MD steps.");
        }

        if (!(m.TemperatureK >= 0))
        {
            throw new UsageException($"option --temperature must be ≥ 0 K, got {m.TemperatureK.ToString(CultureInfo.InvariantCulture)}.");
        }

        if (!(m.TimeStepFs > 0))
        {
            throw new UsageException($"option --timestep must be > 0 fs, got {m.TimeStepFs.ToString(CultureInfo.InvariantCulture)}.");
        }

        if (ensemble != "npt" && (args.Has("barostat-time") || args.Has("compressibility") || m.Anisotropic || m.PressureGpa != 0))
        {
            throw new UsageException($"options --pressure, --barostat-time, --compressibility and --anisotropic are for --ensemble npt, not {ensemble}.");
        }

        if (ensemble == "nve" && args.Has("friction"))
        {
            throw new UsageException("option --friction is for --ensemble nvt or npt, not nve.");
        }

        return m;
    }

    /// <summary>The frame to start from (checked), from a file of frames.</summary>
    public Structure StartFrame(string path)
    {
        int index = 0;
        foreach (var s in Inputs.ReadFrames(path))
        {
            if (++index == Frame)
            {
                return s;
            }
        }

        throw new InvalidDataException($"{path} has {index} frame{(index == 1 ? "" : "s")}; --frame {Frame} asked for.");
    }

    /// <summary>The integrator on <paramref name="structure"/> (moved in place) with Maxwell–Boltzmann start velocities.</summary>
    public Integrator Build(Structure structure, ICalculator calculator, CancellationToken cancellationToken)
    {
        var v = MaxwellBoltzmann.SampleVelocities(structure.MassesAmu(), TemperatureK, Seed);
        return Ensemble switch
        {
            "nve" => new VelocityVerlet(structure, calculator, TimeStepFs, v, cancellationToken),
            "nvt" => new Langevin(structure, calculator, TimeStepFs, TemperatureK, FrictionPerFs, Seed, v, cancellationToken),
            _ => new StochasticCellRescaling(structure, calculator, TimeStepFs, TemperatureK, PressureGpa, FrictionPerFs, BarostatTimeFs,
                CompressibilityPerGpa, Seed, v, cancellationToken)
            {
                Coupling = Anisotropic ? BarostatCoupling.Anisotropic : BarostatCoupling.Isotropic,
            },
        };
    }

    /// <summary>
    /// Reports progress to <paramref name="progress"/>: a bar of the steps on a terminal (temperature, largest
    /// force σ and reference calls beside it), else a line at most every <paramref name="seconds"/> and after the
    /// last step: step, temperature, largest force σ (when the step computed it), reference calls (when given) and time left.
    /// </summary>
    public static void AttachProgress(Integrator md, int totalSteps, CliProgress progress, Func<int>? referenceCalls = null, double seconds = 2)
    {
        var clock = Stopwatch.StartNew();
        int startStep = md.StepCount;
        double last = double.NegativeInfinity;
        md.Attach(m =>
        {
            double now = clock.Elapsed.TotalSeconds;
            if (progress.IsInteractive)
            {
                string? σ = m.Current.ForcesStdEvPerA is { } s ? string.Create(CultureInfo.InvariantCulture, $", max σ_F {s.Max(v => Math.Max(Math.Abs(v.X), Math.Max(Math.Abs(v.Y), Math.Abs(v.Z)))):F3} eV/Å") : null;
                string? c = referenceCalls is null ? null : string.Create(CultureInfo.InvariantCulture, $", {referenceCalls()} reference calls");
                progress.Update("MD steps", m.StepCount, totalSteps, status: string.Create(CultureInfo.InvariantCulture, $"T {m.TemperatureK:F0} K{σ}{c}"));
                return;
            }

            if (now - last < seconds && m.StepCount < totalSteps)
            {
                return;
            }

            last = now;
            int done = m.StepCount - startStep;
            double left = done > 0 ? now / done * (totalSteps - m.StepCount) : double.NaN;
            var inv = CultureInfo.InvariantCulture;
            string sigma = m.Current.ForcesStdEvPerA is { } std
                ? string.Create(inv, $"  max σ_F {std.Max(v => Math.Max(Math.Abs(v.X), Math.Max(Math.Abs(v.Y), Math.Abs(v.Z)))):F3} eV/Å")
                : "";
            string calls = referenceCalls is null ? "" : string.Create(inv, $"  reference calls {referenceCalls()}");
            progress.Report(string.Create(inv, $"  step {m.StepCount}/{totalSteps}  T {m.TemperatureK:F0} K{sigma}{calls}  time left {Duration(left)}"));
        }, 1, CalculatorProperties.Forces);
    }

    /// <summary>"1h02m", "3m05s", "12s", "?".</summary>
    public static string Duration(double seconds)
    {
        if (!double.IsFinite(seconds))
        {
            return "?";
        }

        var t = TimeSpan.FromSeconds(Math.Max(0, seconds));
        return t.TotalHours >= 1 ? $"{(int)t.TotalHours}h{t.Minutes:D2}m" : t.TotalMinutes >= 1 ? $"{t.Minutes}m{t.Seconds:D2}s" : $"{t.Seconds}s";
    }

    /// <summary>The settings that must match when a run is resumed (not the step count, which may grow).</summary>
    public MdArguments ForResume() => this with { Steps = 0 };
}
