using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Jobs;
using Gpff.Dynamics.MolecularDynamics;
using Gpff.Geometry;
using Gpff.Regression;

namespace Gpff.Benchmarks;

/// <summary>
/// Cost of a velocity-Verlet step driven by a GP force field (issue 10, the calculator seam), cases
/// side by side in one run: every step asking for everything (full prediction with stress, local
/// energies and every variance: what each MD step cost before the seam), a step asking for energy and
/// forces (what a step an observer logs costs), and the step as the integrators now do it (forces
/// only). Model: <see cref="GpBenchmarkData"/>'s 2+3-body kernel trained on GPFF_BENCH_MD_CELLS
/// (default 3) 64-atom Si–Ge cells at 800 K, on their forces only or on energies, forces and stresses
/// (<see cref="TrainingLabels"/>): the kernel's SIMD forces-only blocks serve a forces-only request only
/// when the training labels are forces too; with energy and stress labels a forces-only request saves the
/// variances and the stress and local-energy rows, but not the full environment blocks. The
/// MD cell is a 64-atom snapshot of another trajectory with 800 K velocities, Δt = 1 fs. Each
/// invocation builds the integrator (one force evaluation) and runs GPFF_BENCH_MD_STEPS (default 4)
/// steps; Mean is per force evaluation, i.e. per MD step (OperationsPerInvoke = steps + 1; the initial
/// evaluation of the last two cases asks for forces only).
/// Run: dotnet run -c Release --project benchmarks/Gpff.Benchmarks -- --filter '*MolecularDynamics*'
/// </summary>
[Config(typeof(MolecularDynamicsBenchmarkConfig))]
public class MolecularDynamicsBenchmarks
{
    /// <summary>MD steps per invocation.</summary>
    public const int Steps = 4;

    private ForceField _ff = null!;

    /// <summary>The labels the model was trained on.</summary>
    [Params(LabelKinds.Forces, LabelKinds.All)]
    public LabelKinds TrainingLabels { get; set; }
    private Structure _start = null!;
    private Vec3[] _velocities = [];

    /// <summary>Trains the force field and prepares the MD cell and its velocities.</summary>
    [GlobalSetup]
    public void Setup()
    {
        int cells = GpBenchmarkData.Sizes("GPFF_BENCH_MD_CELLS", 3).First();
        var kernel = GpBenchmarkData.Kernel();
        var gp = new GaussianProcess(kernel, GpBenchmarkData.Noise);
        foreach (var s in GpBenchmarkData.Snapshots(cells, seed: 1))
        {
            gp.Add(s, TrainingLabels);
        }

        gp.Train();
        _ff = ForceField.FromModel(gp);
        _start = GpBenchmarkData.Snapshots(1, seed: 2)[0].CloneWithoutLabels();
        _velocities = MaxwellBoltzmann.SampleVelocities(_start.MassesAmu(), 800, seed: 3);
        Console.WriteLine($"// {gp.LabelCount} labels, {gp.Training.Count} cells; MD cell of {_start.AtomCount} atoms");
    }

    /// <summary>Every step asks for everything the force field implements (the cost of a step before the seam).</summary>
    [Benchmark(Baseline = true, OperationsPerInvoke = Steps + 1)]
    public double StepAskingForEverything() => Run(new AskEverything(_ff));

    /// <summary>Every step asks for energy and forces (a step whose energy an observer reads).</summary>
    [Benchmark(OperationsPerInvoke = Steps + 1)]
    public double StepWithEnergy() => Run(_ff, CalculatorProperties.Energy);

    /// <summary>The step as the integrators now take it when nobody reads the energy: forces only.</summary>
    [Benchmark(OperationsPerInvoke = Steps + 1)]
    public double StepForcesOnly() => Run(_ff);

    private double Run(ICalculator calculator, CalculatorProperties everyStep = CalculatorProperties.None)
    {
        var md = new VelocityVerlet(_start.Clone(), calculator, timeStepFs: 1.0, _velocities) { PropertiesEveryStep = everyStep };
        md.Run(Steps);
        return md.Structure.Positions[0].X;
    }

    /// <summary>Ignores the request and asks for everything: what every MD step did before the seam.</summary>
    private sealed class AskEverything(ICalculator inner) : ICalculator
    {
        public CalculatorProperties ImplementedProperties => inner.ImplementedProperties;

        public CalculationResult Calculate(Structure structure, CalculatorProperties properties, CancellationToken cancellationToken = default) =>
            inner.Calculate(structure, inner.ImplementedProperties, cancellationToken);
    }
}

/// <summary>One launch, one warm-up and three measured iterations of one invocation each (GPFF_BENCH_GP_WARMUP / GPFF_BENCH_GP_ITERATIONS).</summary>
public sealed class MolecularDynamicsBenchmarkConfig : ManualConfig
{
    /// <summary>A short job: each invocation is already several predictions.</summary>
    public MolecularDynamicsBenchmarkConfig()
    {
        int warmup = GpBenchmarkData.Sizes("GPFF_BENCH_GP_WARMUP", 1).First();
        int iterations = GpBenchmarkData.Sizes("GPFF_BENCH_GP_ITERATIONS", 3).First();
        AddJob(Job.Default.WithLaunchCount(1).WithWarmupCount(warmup).WithIterationCount(iterations).WithInvocationCount(1).WithUnrollFactor(1)
            .WithId($"{warmup}w{iterations}i"));
        AddDiagnoser(MemoryDiagnoser.Default);
    }
}
