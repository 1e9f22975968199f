using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using Gpff.Descriptors;
using Gpff.Regression;

namespace Gpff.Benchmarks;

// Sparse GP benchmarks (issue 14): training time per (training atom × inducing point), likelihood +
// gradient time, and memory at data sizes 10× apart with the same M; prediction time per atom versus M.
// Data and kernel as the full-GP benchmarks (GpBenchmarkData: 64-atom Si–Ge cells from an 800 K
// Langevin run, energy + forces + stress, 2+3-body kernel); the training cells are generated once and
// streamed to the sparse GP, inducing environments chosen at random (seed 0) from the training atoms.
//   GPFF_BENCH_SPARSE_CELLS   training cells (default 2,20: 128 and 1280 atoms, 10× apart)
//   GPFF_BENCH_SPARSE_M       inducing environments for training (default 64)
//   GPFF_BENCH_SPARSE_PREDICT_M  inducing environments for prediction (default 32,128)
//   GPFF_BENCH_GP_WARMUP, GPFF_BENCH_GP_ITERATIONS  as for the GP benchmarks (default 1 and 3)
// Examples:
//   dotnet run -c Release --project benchmarks/Gpff.Benchmarks -- --filter '*Sparse*'
//   GPFF_BENCH_SPARSE_CELLS=100,1000 GPFF_BENCH_SPARSE_M=2000 dotnet run -c Release --project benchmarks/Gpff.Benchmarks -- --filter '*SparseTraining*'
// µs per (atom × inducing point) = Mean / (64 · cells · M). Run in process, so the peak working set
// (printed as GpffPeakWorkingSetBytes in the log after every training) is that of the whole run, and
// GpffRetainedModelBytes the managed memory the trained model holds; "Allocated" is per operation
// (allocated, not held: it grows with the data because each structure's K_us is a new array).

/// <summary>
/// The GP benchmarks' job, columns and diagnosers, run in process (no generated project to build: on a
/// loaded machine BenchmarkDotNet's 2-minute build timeout was reached); warm-up and iterations from
/// GPFF_BENCH_GP_WARMUP / GPFF_BENCH_GP_ITERATIONS.
/// </summary>
public sealed class SparseBenchmarkConfig : ManualConfig
{
    /// <summary>One in-process job, 1 warm-up and 3 measured iterations unless the environment says otherwise.</summary>
    public SparseBenchmarkConfig()
    {
        int warmup = GpBenchmarkData.Sizes("GPFF_BENCH_GP_WARMUP", 1).First();
        int iterations = GpBenchmarkData.Sizes("GPFF_BENCH_GP_ITERATIONS", 3).First();
        AddJob(Job.Default.WithLaunchCount(1).WithWarmupCount(warmup).WithIterationCount(iterations).WithToolchain(InProcessEmitToolchain.Instance).WithId($"inproc-{warmup}w{iterations}i"));
        AddDiagnoser(MemoryDiagnoser.Default);
    }
}

/// <summary>Sparse GP training and likelihood versus data size at fixed M.</summary>
[Config(typeof(SparseBenchmarkConfig))]
public class SparseTrainingBenchmarks
{
    private List<Structure> _train = [];
    private List<EnvironmentCluster> _inducing = [];

    /// <summary>Training cells (64 atoms each).</summary>
    [ParamsSource(nameof(CellValues))]
    public int Cells { get; set; }

    /// <summary>Inducing environments M.</summary>
    [ParamsSource(nameof(MValues))]
    public int M { get; set; }

    /// <summary>Values of <see cref="Cells"/>.</summary>
    public static IEnumerable<int> CellValues => GpBenchmarkData.Sizes("GPFF_BENCH_SPARSE_CELLS", 2, 20);

    /// <summary>Values of <see cref="M"/>.</summary>
    public static IEnumerable<int> MValues => GpBenchmarkData.Sizes("GPFF_BENCH_SPARSE_M", 64);

    /// <summary>Generates the cells and chooses the inducing environments.</summary>
    [GlobalSetup]
    public void Setup()
    {
        _train = GpBenchmarkData.Snapshots(Cells, seed: 1);
        _inducing = InducingSelection.Random(_train, GpBenchmarkData.Kernel().CutoffA, M, seed: 0);
    }

    /// <summary>One streamed training pass (K_uu, K_us per structure, the M × M solve).</summary>
    [Benchmark]
    public SparseGaussianProcess Train()
    {
        var sparse = new SparseGaussianProcess(GpBenchmarkData.Kernel(), GpBenchmarkData.Noise, _inducing);
        long before = GC.GetTotalMemory(forceFullCollection: true);
        sparse.Train(_train);
        long after = GC.GetTotalMemory(forceFullCollection: true);
        GpBenchmarkData.ReportPeakWorkingSet();
        Console.WriteLine("GpffRetainedModelBytes: " + (after - before).ToString(System.Globalization.CultureInfo.InvariantCulture));
        return sparse;
    }

    /// <summary>The sparse log marginal likelihood and its gradient (one streamed pass with ∂K/∂θ).</summary>
    [Benchmark]
    public LikelihoodResult LikelihoodAndGradient()
    {
        var sparse = new SparseGaussianProcess(GpBenchmarkData.Kernel(), GpBenchmarkData.Noise, _inducing);
        var r = sparse.LogMarginalLikelihood(_train);
        GpBenchmarkData.ReportPeakWorkingSet();
        return r;
    }
}

/// <summary>Sparse GP prediction of one 64-atom cell versus M.</summary>
[Config(typeof(SparseBenchmarkConfig))]
public class SparsePredictionBenchmarks
{
    private SparseGaussianProcess? _model;
    private Structure? _test;

    /// <summary>Inducing environments M.</summary>
    [ParamsSource(nameof(MValues))]
    public int M { get; set; }

    /// <summary>Values of <see cref="M"/>.</summary>
    public static IEnumerable<int> MValues => GpBenchmarkData.Sizes("GPFF_BENCH_SPARSE_PREDICT_M", 32, 128);

    /// <summary>Trains on 4 cells.</summary>
    [GlobalSetup]
    public void Setup()
    {
        var train = GpBenchmarkData.Snapshots(4, seed: 1);
        _model = new SparseGaussianProcess(GpBenchmarkData.Kernel(), GpBenchmarkData.Noise, InducingSelection.Random(train, GpBenchmarkData.Kernel().CutoffA, M, seed: 0));
        _model.Train(train);
        _test = GpBenchmarkData.Snapshots(1, seed: 2)[0].CloneWithoutLabels();
    }

    /// <summary>Forces only (what MD asks every step).</summary>
    [Benchmark]
    public CalculationResult Forces() => _model!.Calculate(_test!, CalculatorProperties.Forces);

    /// <summary>Energy, forces, stress and their DTC standard deviations.</summary>
    [Benchmark]
    public CalculationResult AllWithUncertainty() => _model!.Calculate(_test!, CalculatorProperties.Energy | CalculatorProperties.Forces | CalculatorProperties.Stress | CalculatorProperties.Uncertainty);
}
