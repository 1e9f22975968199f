using System.Globalization;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using Gpff.Descriptors;
using Gpff.Kernels;
using Gpff.Regression;

namespace Gpff.Benchmarks;

/// <summary>
/// The general covariance path against the forces-only one (issue 15), side by side in one run: the symmetric
/// K of the same Mg–O-like 32-atom cells (<see cref="MgOData"/>, r_c2 = 5.0 Å, r_c3 = 3.5 Å) with forces-only
/// labels (96 per cell) and with energy + forces + stress labels (103 per cell: the general path), for the
/// 2-body, the 3-body and the 2+3-body kernel, without and with the hyperparameter derivatives (what every
/// likelihood gradient assembles), one thread, by <see cref="CovarianceAssembly.AssembleSymmetric"/>.
/// The column "µs/label" is Mean / labels; "vs forces" divides it by that of the forces-only case of the same
/// kernel and gradient setting (the acceptance: at most 1.5).
///   GPFF_BENCH_GENERAL_CELLS  cells (default 2; 1 in --ci)
/// Run: dotnet run -c Release --project benchmarks/Gpff.Benchmarks -- --filter '*GeneralPath*'
/// </summary>
[Config(typeof(GeneralPathBenchmarkConfig))]
public class GeneralPathBenchmarks
{
    private List<LabelBlock> _blocks = [];
    private double[] _values = [];
    private double[]? _gradients;
    private LocalKernel _kernel = MgOData.Kernel();

    /// <summary>The kernel: "2", "3" or "2+3" (the parts of <see cref="MgOData.Kernel"/>).</summary>
    [Params("2", "3", "2+3")]
    public string Kernel { get; set; } = "2+3";

    /// <summary>Forces only, or energy + forces + stress (the general path).</summary>
    [Params(LabelKinds.Forces, LabelKinds.All)]
    public LabelKinds Labels { get; set; }

    /// <summary>With the derivatives for the kernel's hyperparameters.</summary>
    [Params(false, true)]
    public bool Gradients { get; set; }

    /// <summary>GPFF_BENCH_GENERAL_CELLS, default 2.</summary>
    public static int Cells => GpBenchmarkData.Sizes("GPFF_BENCH_GENERAL_CELLS", 2).First();

    /// <summary>The label count of a case: 96 (forces) or 103 (energy, forces, stress) per cell.</summary>
    /// <param name="labels">The label kinds.</param>
    public static int LabelCount(LabelKinds labels) => Cells * (labels == LabelKinds.All ? 1 + 3 * MgOData.Atoms + 6 : 3 * MgOData.Atoms);

    /// <summary>Builds the environments and the output buffers (not timed).</summary>
    [GlobalSetup]
    public void Setup()
    {
        var sum = MgOData.Kernel();
        _kernel = Kernel switch { "2" => sum.Parts[0], "3" => sum.Parts[1], _ => sum };
        _blocks = MgOData.TrainingCells(Cells).Select(s => new LabelBlock(_kernel.Describe(s),
            Labels == LabelKinds.All ? LabelSelection.All(s.AtomCount) : LabelSelection.Forces(Enumerable.Range(0, s.AtomCount).ToArray()))).ToList();
        int n = CovarianceAssembly.LabelCount(_blocks);
        _values = new double[n * n];
        _gradients = Gradients ? new double[_kernel.HyperparameterCount * n * n] : null;
    }

    /// <summary>The symmetric K (and its derivatives), one thread.</summary>
    [Benchmark]
    public double Assemble()
    {
        CovarianceAssembly.AssembleSymmetric(_kernel, _blocks, _values, _gradients, new AssemblyOptions { MaxDegreeOfParallelism = 1 });
        return _values[^1];
    }
}

/// <summary>One in-process launch, 1 warm-up and 3 measured iterations (GPFF_BENCH_GP_WARMUP / GPFF_BENCH_GP_ITERATIONS), with the per-label columns.</summary>
public sealed class GeneralPathBenchmarkConfig : ManualConfig
{
    /// <summary>A short job: each invocation is long already.</summary>
    public GeneralPathBenchmarkConfig()
    {
        int warmup = GpBenchmarkData.Sizes("GPFF_BENCH_GP_WARMUP", 1).First();
        int iterations = GpBenchmarkData.Sizes("GPFF_BENCH_GP_ITERATIONS", 3).First();
        AddJob(Job.Default.WithLaunchCount(1).WithWarmupCount(warmup).WithIterationCount(iterations).WithInvocationCount(1).WithUnrollFactor(1)
            .WithToolchain(InProcessEmitToolchain.Instance).WithId($"inproc-{warmup}w{iterations}i"));
        AddDiagnoser(MemoryDiagnoser.Default);
        AddColumn(new PerLabelColumn(relative: false), new PerLabelColumn(relative: true));
    }
}

/// <summary>µs per label of a <see cref="GeneralPathBenchmarks"/> case, or its ratio to the forces-only case of the same kernel and gradient setting.</summary>
/// <param name="relative">The ratio rather than the cost.</param>
public sealed class PerLabelColumn(bool relative) : IColumn
{
    /// <inheritdoc/>
    public string Id => relative ? "GpffPerLabelRatio" : "GpffPerLabel";

    /// <inheritdoc/>
    public string ColumnName => relative ? "vs forces" : "µs/label";

    /// <inheritdoc/>
    public bool AlwaysShow => true;

    /// <inheritdoc/>
    public ColumnCategory Category => ColumnCategory.Statistics;

    /// <inheritdoc/>
    public int PriorityInCategory => 100;

    /// <inheritdoc/>
    public bool IsNumeric => true;

    /// <inheritdoc/>
    public UnitType UnitType => UnitType.Dimensionless;

    /// <inheritdoc/>
    public string Legend => relative
        ? "Cost per label divided by that of the forces-only case with the same kernel, gradient setting and job"
        : "Mean divided by the number of labels, µs";

    /// <inheritdoc/>
    public string GetValue(Summary summary, BenchmarkCase benchmarkCase)
    {
        double? mine = PerLabel(summary, benchmarkCase);
        if (mine is null)
        {
            return "-";
        }

        if (!relative)
        {
            return mine.Value.ToString("F2", CultureInfo.InvariantCulture);
        }

        var forces = summary.BenchmarksCases.FirstOrDefault(c =>
            Param(c, "Labels") is LabelKinds.Forces && Equals(Param(c, "Kernel"), Param(benchmarkCase, "Kernel")) && Equals(Param(c, "Gradients"), Param(benchmarkCase, "Gradients"))
            && c.Job.DisplayInfo == benchmarkCase.Job.DisplayInfo);
        double? baseline = forces is null ? null : PerLabel(summary, forces);
        return baseline is > 0 ? (mine.Value / baseline.Value).ToString("F2", CultureInfo.InvariantCulture) : "-";
    }

    /// <inheritdoc/>
    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style) => GetValue(summary, benchmarkCase);

    /// <inheritdoc/>
    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;

    /// <inheritdoc/>
    public bool IsAvailable(Summary summary) => summary.BenchmarksCases.Any(c => Param(c, "Labels") is LabelKinds);

    private static object? Param(BenchmarkCase c, string name) => c.Parameters.Items.FirstOrDefault(p => p.Name == name)?.Value;

    private static double? PerLabel(Summary summary, BenchmarkCase c)
    {
        var stats = summary[c]?.ResultStatistics;
        if (stats is null || Param(c, "Labels") is not LabelKinds labels)
        {
            return null;
        }

        return stats.Mean / 1000.0 / GeneralPathBenchmarks.LabelCount(labels);
    }
}

/// <summary>
/// The 2-body and 3-body environment-pair blocks behind <see cref="GeneralPathBenchmarks"/>, before and after side by
/// side: every environment pair of two Mg–O-like cells (32 × 32), by the forces-only pass (the 3 × 3 block, with its
/// σ, ℓ derivatives when <see cref="Gradients"/>: the baseline), by the former general pass (the 10 × 10 block,
/// <c>GeneralReference</c>), by the current one (<see cref="LocalKernel.EnvironmentCovariance"/>) and in the summed
/// form the structure covariances take (<see cref="Summed"/>), at the SIMD width the kernels pick on this machine.
/// Run: dotnet run -c Release --project benchmarks/Gpff.Benchmarks -- --filter '*GeneralBlock*'
/// </summary>
[Config(typeof(GeneralPathBenchmarkConfig))]
public class GeneralBlockBenchmarks
{
    private delegate void Block(AtomEnvironment x, AtomEnvironment y, Span<double> block, Span<double> gradients);

    private (AtomEnvironment X, AtomEnvironment Y)[] _pairs = [];
    private LocalKernel _kernel = null!;
    private Block _reference = null!;
    private readonly double[] _block = new double[LocalKernel.EnvironmentBlockSize];
    private double[] _gradients = [];

    /// <summary>The kernel: "2" or "3" (the parts of <see cref="MgOData.Kernel"/>).</summary>
    [Params("2", "3")]
    public string Kernel { get; set; } = "3";

    /// <summary>With the derivatives for the kernel's σ and ℓ.</summary>
    [Params(false, true)]
    public bool Gradients { get; set; }

    /// <summary>Builds the environment pairs (not timed).</summary>
    [GlobalSetup]
    public void Setup()
    {
        var sum = MgOData.Kernel();
        if (Kernel == "2")
        {
            var two = (TwoBodyKernel)sum.Parts[0];
            _kernel = two;
            _reference = SimdSupport.Use512 ? two.GeneralReference<V512> : two.GeneralReference<V256>;
        }
        else
        {
            var three = (ThreeBodyKernel)sum.Parts[1];
            _kernel = three;
            _reference = SimdSupport.Use512 ? three.GeneralReference<V512> : three.GeneralReference<V256>;
        }

        var cells = MgOData.TrainingCells(2).Select(_kernel.Describe).ToArray();
        _pairs = (from c in Enumerable.Range(0, cells[0].AtomCount) from d in Enumerable.Range(0, cells[1].AtomCount) select (cells[0][c], cells[1][d])).ToArray();
        _gradients = new double[(Gradients ? _kernel.HyperparameterCount : 0) * LocalKernel.EnvironmentBlockSize];
    }

    /// <summary>The forces-only 3 × 3 block (with its derivatives) of every pair.</summary>
    [Benchmark(Baseline = true)]
    public double ForcesOnly()
    {
        foreach (var (x, y) in _pairs)
        {
            Array.Clear(_block);
            if (Gradients)
            {
                Array.Clear(_gradients);
                _kernel.ForceCovarianceWithGradients(x, y, _block, _gradients);
            }
            else
            {
                _kernel.ForceCovariance(x, y, _block);
            }
        }

        return _block[0];
    }

    /// <summary>The 10 × 10 block by the former general pass.</summary>
    [Benchmark]
    public double GeneralBefore() => Run(_reference);

    /// <summary>The 10 × 10 block by the current general pass.</summary>
    [Benchmark]
    public double GeneralAfter() => Run(_kernel.EnvironmentCovariance);

    /// <summary>
    /// The summed block (each pair or triangle once in the energy and virial entries), what
    /// <see cref="IKernel.Covariance"/> sums for energy, force and stress labels of whole structures.
    /// </summary>
    [Benchmark]
    public double Summed() => Run((x, y, block, gradients) => _kernel.SummedEnvironmentCovariance(x, y, block, gradients, energyAndStressOnly: false));

    private double Run(Block block)
    {
        foreach (var (x, y) in _pairs)
        {
            Array.Clear(_block);
            Array.Clear(_gradients);
            block(x, y, _block, _gradients);
        }

        return _block[0];
    }
}
