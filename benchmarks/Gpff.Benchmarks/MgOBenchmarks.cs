using System.Globalization;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Jobs;
using Gpff.Dynamics.Potentials;
using Gpff.Geometry;
using Gpff.IO;
using Gpff.Kernels;
using Gpff.Regression;

namespace Gpff.Benchmarks;

// Where users wait (issue 15), on the data of the FLARE 1.x comparison: 32-atom Mg–O-like cells (16 Mg,
// 16 O at random positions in a cubic cell at 9.5 Å³/atom, no two atoms closer than 1.7 Å, as the
// Rh8O24 cells of KernelBenchmarks), labelled by the two-species Stillinger–Weber reference potential
// (its Si and Ge parameters on Mg and O: a smooth, finite label set; the timings depend on the geometry
// only). Kernel 2-body (r_c = 5.0 Å, σ₂ = 0.3 eV, ℓ₂ = 0.3 Å) + 3-body (r_c = 3.5 Å, σ₃ = 0.03 eV,
// ℓ₃ = 0.3 Å), noises 2 meV/atom, 0.05 eV/Å, 0.001 eV/Å³; one thread (MaxDegreeOfParallelism = 1;
// run with OPENBLAS_NUM_THREADS=1 for one core in all). `Gpff.Benchmarks --write-mgo DIR` writes the
// same cells as extended XYZ for `gpff train` and for benchmarks/flare/compare_flare.py.
//   GPFF_BENCH_MGO_CELLS          training cells of the training benchmarks (default 5: 480 force labels)
//   GPFF_BENCH_MGO_PREDICT_CELLS  training cells of the prediction benchmarks (default 5,10,20: 480, 960, 1920 labels)
// Run: OPENBLAS_NUM_THREADS=1 dotnet run -c Release --project benchmarks/Gpff.Benchmarks -- --filter '*MgO*'

/// <summary>The Mg–O-like cells, kernel and noise of the FLARE comparison.</summary>
public static class MgOData
{
    /// <summary>Atoms per cell.</summary>
    public const int Atoms = 32;

    /// <summary>Seed of the first training cell; cell i has seed <c>TrainingSeed + i</c>.</summary>
    public const int TrainingSeed = 100;

    /// <summary>Seed of the test cell (not in any training set).</summary>
    public const int TestSeed = 7;

    /// <summary>The 2+3-body kernel (r_c2 = 5.0 Å, r_c3 = 3.5 Å).</summary>
    public static SumKernel Kernel() => new(new TwoBodyKernel(5.0, 0.3, 0.3), new ThreeBodyKernel(3.5, 0.03, 0.3));

    /// <summary>Noise levels: 2 meV/atom, 0.05 eV/Å, 0.001 eV/Å³.</summary>
    public static NoiseLevels Noise { get; } = new(0.002, 0.05, 0.001);

    /// <summary>16 Mg and 16 O at random positions in a cube at 9.5 Å³/atom, no two closer than 1.7 Å, labelled by Stillinger–Weber.</summary>
    /// <param name="seed">Random seed.</param>
    public static Structure Cell(int seed)
    {
        var rng = new Random(seed);
        double a = Math.Cbrt(Atoms * 9.5);
        var cell = Mat3.Diagonal(a, a, a);
        var species = Enumerable.Repeat(12, Atoms / 2).Concat(Enumerable.Repeat(8, Atoms / 2)).ToArray();
        var pos = new List<Vec3>();
        while (pos.Count < Atoms)
        {
            var p = new Vec3(rng.NextDouble(), rng.NextDouble(), rng.NextDouble()) * cell;
            bool ok = pos.All(q =>
            {
                var d = p - q;
                d = new Vec3(d.X - a * Math.Round(d.X / a), d.Y - a * Math.Round(d.Y / a), d.Z - a * Math.Round(d.Z / a));
                return d.Length >= 1.7;
            });
            if (ok)
            {
                pos.Add(p);
            }
        }

        var s = new Structure(species, pos.ToArray(), cell, Pbc.All);
        var labels = StillingerWeber.DefaultBinary(12, 8).Calculate(s, CalculatorProperties.Energy | CalculatorProperties.Forces | CalculatorProperties.Stress);
        s.EnergyEv = labels.EnergyEv;
        s.ForcesEvPerA = labels.ForcesEvPerA;
        s.StressEvPerA3 = labels.StressEvPerA3;
        return s;
    }

    /// <summary>The first <paramref name="count"/> training cells.</summary>
    /// <param name="count">Number of cells.</param>
    public static List<Structure> TrainingCells(int count) => Enumerable.Range(0, count).Select(i => Cell(TrainingSeed + i)).ToList();

    /// <summary>A one-thread GP holding <paramref name="cells"/> training cells with the given labels.</summary>
    /// <param name="cells">Number of training cells.</param>
    /// <param name="labels">Label kinds.</param>
    public static GaussianProcess Untrained(int cells, LabelKinds labels)
    {
        var gp = new GaussianProcess(Kernel(), Noise, new GaussianProcessOptions { MaxDegreeOfParallelism = 1 });
        foreach (var s in TrainingCells(cells))
        {
            gp.Add(s, labels);
        }

        return gp;
    }

    /// <summary>Writes mgo-train-5.extxyz, mgo-train-20.extxyz and mgo-test.extxyz into a folder, for `gpff train` and the FLARE script.</summary>
    /// <param name="folder">The folder (created if needed).</param>
    public static void Write(string folder)
    {
        Directory.CreateDirectory(folder);
        foreach (int n in new[] { 5, 20 })
        {
            ExtXyz.Write(Path.Combine(folder, string.Create(CultureInfo.InvariantCulture, $"mgo-train-{n}.extxyz")), TrainingCells(n));
        }

        ExtXyz.Write(Path.Combine(folder, "mgo-test.extxyz"), [Cell(TestSeed)]);
    }
}

/// <summary>One launch, one warm-up and three measured iterations (GPFF_BENCH_GP_WARMUP / GPFF_BENCH_GP_ITERATIONS).</summary>
public sealed class MgOBenchmarkConfig : ManualConfig
{
    /// <summary>A short job: each invocation is long already.</summary>
    public MgOBenchmarkConfig()
    {
        int warmup = GpBenchmarkData.Sizes("GPFF_BENCH_GP_WARMUP", 1).First();
        int iterations = GpBenchmarkData.Sizes("GPFF_BENCH_GP_ITERATIONS", 3).First();
        AddJob(Job.Default.WithLaunchCount(1).WithWarmupCount(warmup).WithIterationCount(iterations).WithInvocationCount(1).WithUnrollFactor(1)
            .WithId($"{warmup}w{iterations}i"));
        AddDiagnoser(MemoryDiagnoser.Default);
    }
}

/// <summary>
/// Training-side costs at 480 force labels (5 cells), one thread: K + Cholesky + α (<see cref="GaussianProcess.Train"/>),
/// the log marginal likelihood with and without its gradient, and the same with energy + force + stress
/// labels (5 × 103 = 515 labels: the general path, energy and stress rows). FLARE 1.x on one core, same
/// machine: 13.7 s for K + Cholesky, 18.4 s for the likelihood and gradient (benchmarks/flare).
/// </summary>
[Config(typeof(MgOBenchmarkConfig))]
public class MgOTrainingBenchmarks
{
    private GaussianProcess _gp = null!;

    /// <summary>Training cells (32 atoms each).</summary>
    [ParamsSource(nameof(Sizes))]
    public int Cells { get; set; }

    /// <summary>GPFF_BENCH_MGO_CELLS, default 5.</summary>
    public static IEnumerable<int> Sizes() => GpBenchmarkData.Sizes("GPFF_BENCH_MGO_CELLS", 5);

    /// <summary>Forces only, or energy + forces + stress (the general path).</summary>
    [Params(LabelKinds.Forces, LabelKinds.All)]
    public LabelKinds Labels { get; set; }

    /// <summary>Builds the GP (the environments are not timed).</summary>
    [GlobalSetup]
    public void Setup()
    {
        _gp = MgOData.Untrained(Cells, Labels);
        Console.WriteLine($"// {_gp.LabelCount} labels, {_gp.Training.Count} cells of {MgOData.Atoms} atoms");
    }

    /// <summary>Covariance assembly, Cholesky and α from scratch.</summary>
    [Benchmark(Baseline = true)]
    public double Train()
    {
        _gp.SetHyperparameters(_gp.Kernel, _gp.Noise);
        _gp.Train();
        return _gp.Factor!.LogDeterminant;
    }

    /// <summary>−log likelihood and its gradient in the 4 kernel hyperparameters and the 3 noises (one hyperparameter-fit step).</summary>
    [Benchmark]
    public double LikelihoodAndGradient() => _gp.LogMarginalLikelihood(gradient: true).Gradient[0];

    /// <summary>The likelihood alone.</summary>
    [Benchmark]
    public double Likelihood() => _gp.LogMarginalLikelihood(gradient: false).Value;
}

/// <summary>
/// Prediction of the 32-atom test cell, one thread, versus the training-set size (5, 10, 20 cells: 480,
/// 960, 1920 force labels): forces with their standard deviations (what active learning asks every
/// step; FLARE 1.x: 6.0 s at 480 labels), forces alone (what MD asks), and energy + forces + stress with
/// standard deviations (the general path). Mean is per prediction of the cell (32 atoms: divide by 32
/// for the cost per atom).
/// </summary>
[Config(typeof(MgOBenchmarkConfig))]
public class MgOPredictionBenchmarks
{
    private ForceField _ff = null!;
    private Structure _test = null!;

    /// <summary>Training cells (32 atoms, 96 force labels each).</summary>
    [ParamsSource(nameof(Sizes))]
    public int Cells { get; set; }

    /// <summary>GPFF_BENCH_MGO_PREDICT_CELLS, default 5, 10 and 20.</summary>
    public static IEnumerable<int> Sizes() => GpBenchmarkData.Sizes("GPFF_BENCH_MGO_PREDICT_CELLS", 5, 10, 20);

    /// <summary>Trains on forces and picks the test cell.</summary>
    [GlobalSetup]
    public void Setup()
    {
        var gp = MgOData.Untrained(Cells, LabelKinds.Forces);
        gp.Train();
        _ff = ForceField.FromModel(gp, LabelKinds.Forces);
        _test = MgOData.Cell(MgOData.TestSeed).CloneWithoutLabels();
        Console.WriteLine($"// {gp.LabelCount} labels, {gp.Training.Count} cells; test cell of {_test.AtomCount} atoms");
    }

    /// <summary>Forces and their standard deviations.</summary>
    [Benchmark(Baseline = true)]
    public double ForcesWithUncertainty() => _ff.Calculate(_test, CalculatorProperties.Forces | CalculatorProperties.Uncertainty).ForcesStdEvPerA![0].X;

    /// <summary>Forces alone.</summary>
    [Benchmark]
    public double Forces() => _ff.Calculate(_test, CalculatorProperties.Forces).ForcesEvPerA![0].X;

    /// <summary>Energy, forces and stress with standard deviations (the general path).</summary>
    [Benchmark]
    public double EnergyForcesStressWithUncertainty() =>
        _ff.Calculate(_test, CalculatorProperties.Energy | CalculatorProperties.Forces | CalculatorProperties.Stress | CalculatorProperties.Uncertainty).EnergyStdEv!.Value;
}
