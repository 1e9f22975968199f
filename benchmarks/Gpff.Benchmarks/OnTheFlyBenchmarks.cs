using BenchmarkDotNet.Attributes;
using Gpff.Dynamics.MolecularDynamics;
using Gpff.Geometry;
using Gpff.Regression;

namespace Gpff.Benchmarks;

/// <summary>
/// MD steps per second with a GP force field (forces only, as the integrators ask) against the size of
/// its training set: GPFF_BENCH_OTF_CELLS (default 1,2,4) 64-atom Si–Ge cells of <see cref="GpBenchmarkData"/>,
/// forces of every atom labelled (192 labels per cell), so the forces-only SIMD path serves every step.
/// The MD cell is a 64-atom snapshot of another trajectory at 800 K, Δt = 1 fs; each invocation builds the
/// integrator (one force evaluation) and runs 4 steps; Mean is per MD step (steps/s = 1/Mean).
/// Run: dotnet run -c Release --project benchmarks/Gpff.Benchmarks -- --filter '*MdStepsVersusTrainingSize*'
/// </summary>
[Config(typeof(MolecularDynamicsBenchmarkConfig))]
public class MdStepsVersusTrainingSizeBenchmarks
{
    private const int Steps = 4;
    private ForceField _ff = null!;
    private Structure _start = null!;
    private Vec3[] _velocities = [];

    /// <summary>Training cells (64 atoms each).</summary>
    [ParamsSource(nameof(Cells))]
    public int TrainingCells { get; set; }

    /// <summary>The sizes (GPFF_BENCH_OTF_CELLS).</summary>
    public static IEnumerable<int> Cells => GpBenchmarkData.Sizes("GPFF_BENCH_OTF_CELLS", 1, 2, 4);

    /// <summary>Trains the model and prepares the MD cell.</summary>
    [GlobalSetup]
    public void Setup()
    {
        var gp = new GaussianProcess(GpBenchmarkData.Kernel(), GpBenchmarkData.Noise);
        foreach (var s in GpBenchmarkData.Snapshots(TrainingCells, seed: 1))
        {
            gp.Add(s, LabelKinds.Forces);
        }

        gp.Train();
        _ff = ForceField.FromModel(gp, LabelKinds.Forces);
        _start = GpBenchmarkData.Snapshots(1, seed: 2)[0].CloneWithoutLabels();
        _velocities = MaxwellBoltzmann.SampleVelocities(_start.MassesAmu(), 800, seed: 3);
        Console.WriteLine($"// {gp.LabelCount} labels, {gp.Training.Count} cells");
    }

    /// <summary>Velocity Verlet with the GP's forces.</summary>
    [Benchmark(OperationsPerInvoke = Steps + 1)]
    public double ForcesOnlyStep()
    {
        var md = new VelocityVerlet(_start.Clone(), _ff, timeStepFs: 1.0, _velocities);
        md.Run(Steps);
        return md.Structure.Positions[0].X;
    }
}

/// <summary>
/// The cost of one on-the-fly update against retraining from scratch, side by side: a GP trained on
/// GPFF_BENCH_OTF_UPDATE_CELLS (default 4) 64-atom cells with energies, forces and stresses gets one more cell
/// (its energy, stress and the forces of its 8 most displaced atoms: what one reference call adds).
/// <see cref="BlockUpdate"/> extends the Cholesky factor and recomputes α (<see cref="GaussianProcess.Add"/> on
/// a trained model); <see cref="RetrainFromScratch"/> assembles K + Σ over all labels and factors it
/// (<see cref="GaussianProcess.Train"/>), which gives the same model. Each invocation starts from a freshly
/// trained model (built in the iteration setup, not timed).
/// Run: dotnet run -c Release --project benchmarks/Gpff.Benchmarks -- --filter '*OnTheFlyUpdate*'
/// </summary>
[Config(typeof(MolecularDynamicsBenchmarkConfig))]
public class OnTheFlyUpdateBenchmarks
{
    private GaussianProcess _gp = null!;
    private Structure _next = null!;
    private int[] _atoms = [];

    /// <summary>Training cells before the update.</summary>
    [ParamsSource(nameof(Cells))]
    public int TrainingCells { get; set; }

    /// <summary>The sizes (GPFF_BENCH_OTF_UPDATE_CELLS).</summary>
    public static IEnumerable<int> Cells => GpBenchmarkData.Sizes("GPFF_BENCH_OTF_UPDATE_CELLS", 4);

    /// <summary>The cell a reference call adds and its atoms.</summary>
    [GlobalSetup]
    public void Setup()
    {
        _next = GpBenchmarkData.Snapshots(1, seed: 2)[0];
        _atoms = Enumerable.Range(0, 8).ToArray();
    }

    /// <summary>A trained model for the block update; an untrained one holding the new cell too for the retraining.</summary>
    [IterationSetup(Target = nameof(BlockUpdate))]
    public void SetupUpdate()
    {
        _gp = Model(withNext: false);
        _gp.Train();
    }

    /// <summary>The model with the new cell added, untrained.</summary>
    [IterationSetup(Target = nameof(RetrainFromScratch))]
    public void SetupRetrain() => _gp = Model(withNext: true);

    /// <summary>Block update of the factor and α.</summary>
    [Benchmark(Baseline = true)]
    public int BlockUpdate()
    {
        _gp.Add(_next, LabelKinds.All, _atoms);
        return _gp.LabelCount;
    }

    /// <summary>Assembly and factorisation over all labels.</summary>
    [Benchmark]
    public int RetrainFromScratch()
    {
        _gp.Train();
        return _gp.LabelCount;
    }

    private GaussianProcess Model(bool withNext)
    {
        var gp = new GaussianProcess(GpBenchmarkData.Kernel(), GpBenchmarkData.Noise);
        foreach (var s in GpBenchmarkData.Snapshots(TrainingCells, seed: 1))
        {
            gp.Add(s, LabelKinds.All);
        }

        if (withNext)
        {
            gp.Add(_next, LabelKinds.All, _atoms);
        }

        return gp;
    }
}
