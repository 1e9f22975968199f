using System.Diagnostics;
using System.Globalization;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using Gpff.Dynamics.MolecularDynamics;
using Gpff.Dynamics.Potentials;
using Gpff.Geometry;
using Gpff.Kernels;
using Gpff.Regression;
using Gpff.Regression.LinearAlgebra;

namespace Gpff.Benchmarks;

// GP solver benchmarks (issue 4): training time and memory versus the number of labels, prediction
// time per atom versus the training-set size, and the OpenBLAS and managed back ends side by side.
//
// Data: 64-atom Si–Ge diamond cells (2 × 2 × 2 conventional cells of a = 5.55 Å, every third atom
// Ge) sampled every 25 steps (50 fs) from an 800 K Langevin run under the analytic two-species
// Stillinger–Weber reference potential, labelled with its energy, forces and stress. A request of F
// force labels takes ⌈F / 192⌉ snapshots (so 1000 → 6 cells = 1152 force labels, 3000 → 16 = 3072,
// 10000 → 53 = 10176, i.e. 3392 atoms' forces); energy+force+stress adds 7 labels per cell.
// Kernel: 2-body (r_c = 5.0 Å, σ₂ = 0.3 eV, ℓ₂ = 0.3 Å) + 3-body (r_c = 3.5 Å, σ₃ = 0.03 eV, ℓ₃ = 0.3 Å),
// noises 2 meV/atom, 0.05 eV/Å, 0.001 eV/Å³.
//
// Sizes come from environment variables (comma-separated force-label counts) with small defaults,
// so that a plain run finishes in minutes:
//   GPFF_BENCH_GP_LABELS          training benchmarks (default 1000)
//   GPFF_BENCH_GP_PREDICT_LABELS  prediction benchmarks (default 1000)
//   GPFF_BENCH_GP_BACKEND_LABELS  OpenBLAS vs managed (default 1000; managed Cholesky is O(N³) at ~1 GFlop/s)
//   GPFF_BENCH_GP_WARMUP, GPFF_BENCH_GP_ITERATIONS  warm-up and measured iterations (default 1 and 3;
//                                 0 and 1 for a single 10,000-label shot)
// Examples:
//   dotnet run -c Release --project benchmarks/Gpff.Benchmarks -- --filter '*GaussianProcess*'
//   GPFF_BENCH_GP_LABELS=1000,3000,10000 dotnet run -c Release --project benchmarks/Gpff.Benchmarks -- --filter '*GaussianProcessTraining*'
//
// Besides BenchmarkDotNet's columns (Mean, Allocated per operation), every table shows N (labels),
// the size of one N × N double matrix (K, or its Cholesky factor), the peak working set of the
// benchmark process (setup and every invocation included: the training data, for Cholesky the matrix
// it copies from, and for Train the previous factor that the GC may not have reclaimed yet), and for
// Train the split of its last invocation into covariance assembly and Cholesky, timed from
// GaussianProcess.Train's own progress reports.
// The machine is shared: compare cases measured in the same run, and look at Error/StdDev.

/// <summary>Training data, kernel and helpers shared by the GP benchmarks.</summary>
public static class GpBenchmarkData
{
    /// <summary>Atoms per training cell.</summary>
    public const int AtomsPerCell = 64;

    /// <summary>Key of the line a benchmark process prints with its peak working set (bytes).</summary>
    public const string PeakWorkingSetKey = "PeakWorkingSetBytes";

    /// <summary>Key of the line with the assembly time of the last Train() (s).</summary>
    public const string AssemblyKey = "TrainAssemblySeconds";

    /// <summary>Key of the line with the Cholesky time of the last Train() (s).</summary>
    public const string CholeskyKey = "TrainCholeskySeconds";

    private static readonly Dictionary<(int Count, int Seed), List<Structure>> Cache = [];

    /// <summary>The 2+3-body kernel of the benchmarks.</summary>
    public static SumKernel Kernel() => new(new TwoBodyKernel(5.0, 0.3, 0.3), new ThreeBodyKernel(3.5, 0.03, 0.3));

    /// <summary>The noise levels of the benchmarks.</summary>
    public static NoiseLevels Noise { get; } = new(0.002, 0.05, 0.001);

    /// <summary>Comma-separated integers from an environment variable, or the defaults.</summary>
    public static IEnumerable<int> Sizes(string variable, params int[] defaults) =>
        Environment.GetEnvironmentVariable(variable) is { Length: > 0 } list
            ? list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(s => int.Parse(s, CultureInfo.InvariantCulture))
            : defaults;

    /// <summary>The path of a file of the repository's bundled data (data/NAME), found above the benchmark's folder.</summary>
    /// <exception cref="DirectoryNotFoundException">Not run from within the repository.</exception>
    public static string BundledData(string name)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            string path = Path.Combine(dir.FullName, "data", name);
            if (File.Exists(path))
            {
                return path;
            }
        }

        throw new DirectoryNotFoundException($"Run the benchmarks from within the repository: data/{name} was not found above {AppContext.BaseDirectory}.");
    }

    /// <summary>Number of cells for at least <paramref name="forceLabels"/> force labels.</summary>
    public static int CellsFor(int forceLabels) => (forceLabels + 3 * AtomsPerCell - 1) / (3 * AtomsPerCell);

    /// <summary>Number of labels N the GP trains on.</summary>
    public static int LabelCount(int forceLabels, LabelKinds kinds)
    {
        int cells = CellsFor(forceLabels);
        return cells * ((kinds.HasFlag(LabelKinds.Forces) ? 3 * AtomsPerCell : 0) + (kinds.HasFlag(LabelKinds.Energy) ? 1 : 0) + (kinds.HasFlag(LabelKinds.Stress) ? 6 : 0));
    }

    /// <summary>
    /// <paramref name="count"/> labelled 64-atom Si–Ge snapshots, 25 steps (50 fs) apart, of an 800 K
    /// Langevin run under the Stillinger–Weber reference potential (equilibrated for 200 steps).
    /// </summary>
    public static List<Structure> Snapshots(int count, int seed)
    {
        lock (Cache)
        {
            if (Cache.TryGetValue((count, seed), out var cached))
            {
                return cached;
            }

            var sw = StillingerWeber.DefaultBinary(14, 32);
            const double a = 5.55;
            var basis = new[] { (0.0, 0.0, 0.0), (0.0, 0.5, 0.5), (0.5, 0.0, 0.5), (0.5, 0.5, 0.0), (0.25, 0.25, 0.25), (0.25, 0.75, 0.75), (0.75, 0.25, 0.75), (0.75, 0.75, 0.25) };
            var pos = new List<Vec3>();
            var z = new List<int>();
            for (int i = 0; i < 2; i++)
            {
                for (int j = 0; j < 2; j++)
                {
                    for (int k = 0; k < 2; k++)
                    {
                        foreach (var (x, y, w) in basis)
                        {
                            pos.Add(new Vec3((x + i) * a, (y + j) * a, (w + k) * a));
                            z.Add(pos.Count % 3 == 0 ? 32 : 14);
                        }
                    }
                }
            }

            var s = new Structure(z, pos.ToArray(), Mat3.Diagonal(2 * a, 2 * a, 2 * a), Pbc.All);
            var md = new Langevin(s, sw, timeStepFs: 2.0, temperatureK: 800, frictionPerFs: 0.02, seed: seed);
            md.Run(200);
            var list = md.Sample(count * 25, 25).Take(count).ToList();
            Cache[(count, seed)] = list;
            return list;
        }
    }

    /// <summary>An untrained GP holding the training cells for <paramref name="forceLabels"/> force labels.</summary>
    public static GaussianProcess Untrained(int forceLabels, LabelKinds kinds, LinearAlgebraBackendKind backend)
    {
        var gp = new GaussianProcess(Kernel(), Noise, new GaussianProcessOptions { Cholesky = new CholeskyOptions { Backend = backend } });
        foreach (var s in Snapshots(CellsFor(forceLabels), seed: 1))
        {
            gp.Add(s, kinds);
        }

        return gp;
    }

    /// <summary>
    /// K over all training labels of <paramref name="gp"/> (column-major N × N, no noise), by the
    /// production path: <see cref="GaussianProcess.TrainingCovariance"/>, i.e. the covariance-assembly
    /// engine exactly as <see cref="GaussianProcess.Train"/> runs it.
    /// </summary>
    public static double[] AssembleCovariance(GaussianProcess gp) => gp.TrainingCovariance();

    /// <summary>K + Σ: the training covariance with the label noise variances on the diagonal, as <see cref="GaussianProcess.Train"/> factors it.</summary>
    public static double[] CovariancePlusNoise(GaussianProcess gp) => gp.TrainingCovariance(includeNoise: true);

    /// <summary>Prints the peak working set of this process for <see cref="ProcessOutputColumn.PeakWorkingSet"/>.</summary>
    public static void ReportPeakWorkingSet()
    {
        using var self = Process.GetCurrentProcess();
        self.Refresh();
        Console.WriteLine(ProcessOutputColumn.Prefix(PeakWorkingSetKey) + self.PeakWorkingSet64.ToString(CultureInfo.InvariantCulture));
    }
}

/// <summary>Job, diagnosers and columns of the GP benchmarks (iterations from GPFF_BENCH_GP_WARMUP / GPFF_BENCH_GP_ITERATIONS).</summary>
public sealed class GpBenchmarkConfig : ManualConfig
{
    /// <summary>One launch, 1 warm-up and 3 measured iterations unless the environment says otherwise.</summary>
    public GpBenchmarkConfig()
    {
        int warmup = GpBenchmarkData.Sizes("GPFF_BENCH_GP_WARMUP", 1).First();
        int iterations = GpBenchmarkData.Sizes("GPFF_BENCH_GP_ITERATIONS", 3).First();
        AddJob(Job.Default.WithLaunchCount(1).WithWarmupCount(warmup).WithIterationCount(iterations).WithId($"{warmup}w{iterations}i"));
        AddDiagnoser(MemoryDiagnoser.Default);
        AddColumn(new LabelCountColumn(), new MatrixSizeColumn(), ProcessOutputColumn.PeakWorkingSet, ProcessOutputColumn.AssemblySeconds, ProcessOutputColumn.CholeskySeconds);
    }
}

/// <summary>N: the number of training labels of a benchmark case (from its parameters).</summary>
public sealed class LabelCountColumn : IColumn
{
    /// <inheritdoc/>
    public string Id => "GpffLabels";

    /// <inheritdoc/>
    public string ColumnName => "N";

    /// <inheritdoc/>
    public bool AlwaysShow => true;

    /// <inheritdoc/>
    public ColumnCategory Category => ColumnCategory.Params;

    /// <inheritdoc/>
    public int PriorityInCategory => 100;

    /// <inheritdoc/>
    public bool IsNumeric => true;

    /// <inheritdoc/>
    public UnitType UnitType => UnitType.Dimensionless;

    /// <inheritdoc/>
    public string Legend => "Number of training labels N (force components, plus energy and 6 stress components per cell when trained on them)";

    /// <summary>N from the ForceLabels and Labels parameters (forces only when there is no Labels parameter).</summary>
    public static int? Labels(BenchmarkCase benchmarkCase)
    {
        if (benchmarkCase.Parameters.Items.FirstOrDefault(p => p.Name == "ForceLabels")?.Value is not int f)
        {
            return null;
        }

        var kinds = benchmarkCase.Parameters.Items.FirstOrDefault(p => p.Name == "Labels")?.Value is LabelKinds k ? k : LabelKinds.Forces;
        return GpBenchmarkData.LabelCount(f, kinds);
    }

    /// <inheritdoc/>
    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => Labels(benchmarkCase)?.ToString(CultureInfo.InvariantCulture) ?? "-";

    /// <inheritdoc/>
    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style) => GetValue(summary, benchmarkCase);

    /// <inheritdoc/>
    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;

    /// <inheritdoc/>
    public bool IsAvailable(Summary summary) => true;
}

/// <summary>8N² bytes: one N × N double matrix (K + Σ, or its Cholesky factor).</summary>
public sealed class MatrixSizeColumn : IColumn
{
    /// <inheritdoc/>
    public string Id => "GpffMatrixSize";

    /// <inheritdoc/>
    public string ColumnName => "N×N (MB)";

    /// <inheritdoc/>
    public bool AlwaysShow => true;

    /// <inheritdoc/>
    public ColumnCategory Category => ColumnCategory.Metric;

    /// <inheritdoc/>
    public int PriorityInCategory => 100;

    /// <inheritdoc/>
    public bool IsNumeric => true;

    /// <inheritdoc/>
    public UnitType UnitType => UnitType.Dimensionless;

    /// <inheritdoc/>
    public string Legend => "Size of one N × N matrix of doubles, 8N² bytes, in MB (10⁶ bytes)";

    /// <inheritdoc/>
    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) =>
        LabelCountColumn.Labels(benchmarkCase) is int n ? (8.0 * n * n / 1e6).ToString("F1", CultureInfo.InvariantCulture) : "-";

    /// <inheritdoc/>
    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style) => GetValue(summary, benchmarkCase);

    /// <inheritdoc/>
    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;

    /// <inheritdoc/>
    public bool IsAvailable(Summary summary) => true;
}

/// <summary>
/// A value a benchmark process printed as a line <c>Gpff{key}: value</c> (in its global clean-up),
/// e.g. its peak working set or the stages of the last <see cref="GaussianProcess.Train"/>.
/// </summary>
public sealed class ProcessOutputColumn : IColumn
{
    private readonly string _key;
    private readonly double _scale;
    private readonly string _format;

    /// <summary>A column showing the number after <c>Gpff{key}: </c>, multiplied by <paramref name="scale"/>.</summary>
    public ProcessOutputColumn(string key, string columnName, string legend, double scale, string format, int priority)
    {
        _key = key;
        _scale = scale;
        _format = format;
        ColumnName = columnName;
        Legend = legend;
        PriorityInCategory = priority;
    }

    /// <summary>Peak working set of the benchmark process (setup and all iterations), MB.</summary>
    public static ProcessOutputColumn PeakWorkingSet { get; } = new(GpBenchmarkData.PeakWorkingSetKey, "Peak WS (MB)",
        "Peak working set of the benchmark process (setup and all invocations), MB (10⁶ bytes)", 1e-6, "F0", 101);

    /// <summary>Covariance assembly in the last Train() of the process, s.</summary>
    public static ProcessOutputColumn AssemblySeconds { get; } = new(GpBenchmarkData.AssemblyKey, "Train: assembly (s)",
        "Covariance assembly inside the last GaussianProcess.Train() of the process (from its progress reports), s", 1, "F3", 102);

    /// <summary>Cholesky in the last Train() of the process, s.</summary>
    public static ProcessOutputColumn CholeskySeconds { get; } = new(GpBenchmarkData.CholeskyKey, "Train: Cholesky (s)",
        "Cholesky factorisation inside the last GaussianProcess.Train() of the process (from its progress reports), s", 1, "F3", 103);

    /// <summary>The line prefix of a key.</summary>
    public static string Prefix(string key) => "Gpff" + key + ": ";

    /// <inheritdoc/>
    public string Id => "Gpff" + _key;

    /// <inheritdoc/>
    public string ColumnName { get; }

    /// <inheritdoc/>
    public bool AlwaysShow => true;

    /// <inheritdoc/>
    public ColumnCategory Category => ColumnCategory.Metric;

    /// <inheritdoc/>
    public int PriorityInCategory { get; }

    /// <inheritdoc/>
    public bool IsNumeric => true;

    /// <inheritdoc/>
    public UnitType UnitType => UnitType.Dimensionless;

    /// <inheritdoc/>
    public string Legend { get; }

    /// <inheritdoc/>
    public string GetValue(Summary summary, BenchmarkCase benchmarkCase)
    {
        string prefix = Prefix(_key);
        var line = summary[benchmarkCase]?.ExecuteResults.SelectMany(r => r.StandardOutput ?? []).LastOrDefault(l => l.StartsWith(prefix, StringComparison.Ordinal));
        return line is not null && double.TryParse(line.AsSpan(prefix.Length), NumberStyles.Float, CultureInfo.InvariantCulture, out double v)
            ? (v * _scale).ToString(_format, CultureInfo.InvariantCulture)
            : "-";
    }

    /// <inheritdoc/>
    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style) => GetValue(summary, benchmarkCase);

    /// <inheritdoc/>
    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;

    /// <inheritdoc/>
    public bool IsAvailable(Summary summary) => true;
}

/// <summary>
/// Times the stages of <see cref="GaussianProcess.Train"/> from its progress reports (synchronously,
/// on the reporting thread): assembly until the Cholesky stage starts, then the factorisation.
/// </summary>
public sealed class TrainStageTimer : IProgress<GpProgress>
{
    private readonly Stopwatch _clock = new();
    private double _choleskyStart = double.NaN;

    /// <summary>Covariance assembly (and noise), s.</summary>
    public double AssemblySeconds { get; private set; } = double.NaN;

    /// <summary>Cholesky factorisation, s.</summary>
    public double CholeskySeconds { get; private set; } = double.NaN;

    /// <summary>Starts timing a Train() call.</summary>
    public TrainStageTimer Start()
    {
        _choleskyStart = double.NaN;
        _clock.Restart();
        return this;
    }

    /// <inheritdoc/>
    public void Report(GpProgress value)
    {
        ArgumentNullException.ThrowIfNull(value);
        if (!value.Stage.StartsWith("Cholesky", StringComparison.Ordinal))
        {
            return;
        }

        double t = _clock.Elapsed.TotalSeconds;
        if (value.Done == 0)
        {
            _choleskyStart = t;
            AssemblySeconds = t;
        }
        else
        {
            CholeskySeconds = t - _choleskyStart;
        }
    }

    /// <summary>Prints the stages of the last Train() for <see cref="ProcessOutputColumn"/>.</summary>
    public void Print()
    {
        Console.WriteLine(ProcessOutputColumn.Prefix(GpBenchmarkData.AssemblyKey) + AssemblySeconds.ToString("R", CultureInfo.InvariantCulture));
        Console.WriteLine(ProcessOutputColumn.Prefix(GpBenchmarkData.CholeskyKey) + CholeskySeconds.ToString("R", CultureInfo.InvariantCulture));
    }
}

/// <summary>
/// Training time and memory versus the number of labels, forces only and energy+force+stress, on the
/// best back end (OpenBLAS when present). <c>Train</c> is <see cref="GaussianProcess.Train"/> (covariance
/// assembly, Cholesky, α); <c>Assemble</c> is the covariance assembly alone and <c>Cholesky</c> the
/// factorisation alone (of the same K + Σ, copy included).
/// Run: GPFF_BENCH_GP_LABELS=1000,3000,10000 dotnet run -c Release --project benchmarks/Gpff.Benchmarks -- --filter '*GaussianProcessTraining*'
/// </summary>
[Config(typeof(GpBenchmarkConfig))]
public class GaussianProcessTrainingBenchmarks
{
    private readonly TrainStageTimer _stages = new();
    private GaussianProcess _gp = null!;
    private double[] _spd = [];
    private double[] _work = [];

    /// <summary>Requested force labels (rounded up to whole 64-atom cells).</summary>
    [ParamsSource(nameof(Sizes))]
    public int ForceLabels { get; set; }

    /// <summary>GPFF_BENCH_GP_LABELS, default 1000.</summary>
    public static IEnumerable<int> Sizes() => GpBenchmarkData.Sizes("GPFF_BENCH_GP_LABELS", 1000);

    /// <summary>Labels trained on: forces only, or energy + forces + stress.</summary>
    [Params(LabelKinds.Forces, LabelKinds.All)]
    public LabelKinds Labels { get; set; }

    /// <summary>The back end: OpenBLAS when available, else managed.</summary>
    public static LinearAlgebraBackendKind Backend => LinearAlgebraBackend.IsOpenBlasAvailable ? LinearAlgebraBackendKind.OpenBlas : LinearAlgebraBackendKind.Managed;

    /// <summary>Training data for <see cref="Train"/> and <see cref="Assemble"/>.</summary>
    [GlobalSetup(Targets = [nameof(Train), nameof(Assemble)])]
    public void SetupTrain()
    {
        _gp = GpBenchmarkData.Untrained(ForceLabels, Labels, Backend);
        Console.WriteLine($"// {_gp.LabelCount} labels, {_gp.Training.Count} cells, {LinearAlgebraBackend.Description}");
    }

    /// <summary>K + Σ for <see cref="Cholesky"/>.</summary>
    [GlobalSetup(Target = nameof(Cholesky))]
    public void SetupCholesky()
    {
        SetupTrain();
        _spd = GpBenchmarkData.CovariancePlusNoise(_gp);
        _work = new double[_spd.Length];
    }

    /// <summary>Peak working set, for the table.</summary>
    [GlobalCleanup(Targets = [nameof(Assemble), nameof(Cholesky)])]
    public void Cleanup() => GpBenchmarkData.ReportPeakWorkingSet();

    /// <summary>Peak working set and the stages of the last Train(), for the table.</summary>
    [GlobalCleanup(Target = nameof(Train))]
    public void CleanupTrain()
    {
        GpBenchmarkData.ReportPeakWorkingSet();
        _stages.Print();
    }

    /// <summary>Full training from scratch: covariance assembly, K + Σ, Cholesky, α (the previous factor is dropped first).</summary>
    [Benchmark(Baseline = true)]
    public double Train()
    {
        _gp.SetHyperparameters(_gp.Kernel, _gp.Noise);
        _gp.Train(_stages.Start());
        return _gp.Factor!.LogDeterminant;
    }

    /// <summary>The covariance assembly alone (the kernel work of <see cref="Train"/>).</summary>
    [Benchmark]
    public double Assemble() => GpBenchmarkData.AssembleCovariance(_gp)[^1];

    /// <summary>The Cholesky factorisation of K + Σ alone (with the O(N²) copy that keeps the input).</summary>
    [Benchmark]
    public double Cholesky()
    {
        Array.Copy(_spd, _work, _spd.Length);
        return CholeskyFactorization.FactorInPlace(_work, _gp.LabelCount, new CholeskyOptions { Backend = Backend }).LogDeterminant;
    }
}

/// <summary>
/// Prediction time per atom (energy, forces, stress and local energies of a 64-atom cell not in the
/// training set; and the forces alone) versus the training-set size, with and without the predictive
/// standard deviations; trained on forces only, OpenBLAS when present. Mean and Allocated are per atom
/// (OperationsPerInvoke = 64).
/// Run: GPFF_BENCH_GP_PREDICT_LABELS=1000,3000,10000 dotnet run -c Release --project benchmarks/Gpff.Benchmarks -- --filter '*GaussianProcessPrediction*'
/// </summary>
[Config(typeof(GpBenchmarkConfig))]
public class GaussianProcessPredictionBenchmarks
{
    private GaussianProcess _gp = null!;
    private Structure _test = null!;
    private int[] _allAtoms = [];

    /// <summary>Force labels of the training set (rounded up to whole 64-atom cells).</summary>
    [ParamsSource(nameof(Sizes))]
    public int ForceLabels { get; set; }

    /// <summary>GPFF_BENCH_GP_PREDICT_LABELS, default 1000.</summary>
    public static IEnumerable<int> Sizes() => GpBenchmarkData.Sizes("GPFF_BENCH_GP_PREDICT_LABELS", 1000);

    /// <summary>Whether the standard deviations are computed.</summary>
    [Params(false, true)]
    public bool Uncertainty { get; set; }

    /// <summary>Trains the model and picks the test cell (from another trajectory).</summary>
    [GlobalSetup]
    public void Setup()
    {
        _gp = GpBenchmarkData.Untrained(ForceLabels, LabelKinds.Forces, GaussianProcessTrainingBenchmarks.Backend);
        _gp.Train();
        _test = GpBenchmarkData.Snapshots(1, seed: 2)[0];
        _allAtoms = Enumerable.Range(0, _test.AtomCount).ToArray();
        Console.WriteLine($"// {_gp.LabelCount} labels, {_gp.Training.Count} cells, {LinearAlgebraBackend.Description}");
    }

    /// <summary>Peak working set, for the table.</summary>
    [GlobalCleanup]
    public void Cleanup() => GpBenchmarkData.ReportPeakWorkingSet();

    /// <summary>One prediction (energy, forces, stress, local energies) of the 64-atom test cell; the time is reported per atom.</summary>
    [Benchmark(Baseline = true, OperationsPerInvoke = GpBenchmarkData.AtomsPerCell)]
    public double Predict() => _gp.Predict(_test, Uncertainty).EnergyEv;

    /// <summary>
    /// The forces alone of the 64-atom test cell (what MD needs), through <see cref="GaussianProcess.PredictLabels"/>
    /// with a forces-only selection (the environments are built inside, as Predict does); per atom.
    /// </summary>
    [Benchmark(OperationsPerInvoke = GpBenchmarkData.AtomsPerCell)]
    public double PredictForces()
    {
        var env = _gp.Kernel.Describe(_test);
        return _gp.PredictLabels(env, LabelSelection.Forces(_allAtoms), Uncertainty).Mean[0];
    }
}

/// <summary>
/// OpenBLAS (baseline) and managed back ends side by side, same run, same data: the whole training
/// (<see cref="GaussianProcess.Train"/>) and the Cholesky factorisation alone, forces only. Ratio =
/// managed / OpenBLAS. The managed Cholesky is O(N³) at about a GFlop/s: keep N ≲ 5000.
/// Run: GPFF_BENCH_GP_BACKEND_LABELS=1000,3000 dotnet run -c Release --project benchmarks/Gpff.Benchmarks -- --filter '*GaussianProcessBackend*'
/// </summary>
[Config(typeof(GpBenchmarkConfig))]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
public class GaussianProcessBackendBenchmarks
{
    private readonly TrainStageTimer _stages = new();
    private GaussianProcess _gp = null!;
    private GaussianProcess _gpManaged = null!;
    private double[] _spd = [];
    private double[] _work = [];

    /// <summary>Force labels (rounded up to whole 64-atom cells).</summary>
    [ParamsSource(nameof(Sizes))]
    public int ForceLabels { get; set; }

    /// <summary>GPFF_BENCH_GP_BACKEND_LABELS, default 1000.</summary>
    public static IEnumerable<int> Sizes() => GpBenchmarkData.Sizes("GPFF_BENCH_GP_BACKEND_LABELS", 1000);

    /// <summary>Training data (and K + Σ for the Cholesky benchmarks).</summary>
    [GlobalSetup]
    public void Setup()
    {
        if (!LinearAlgebraBackend.IsOpenBlasAvailable)
        {
            throw new InvalidOperationException($"OpenBLAS is not available ({LinearAlgebraBackend.OpenBlasLoadError}): install Debian's libopenblas0-pthread.");
        }

        _gp = GpBenchmarkData.Untrained(ForceLabels, LabelKinds.Forces, LinearAlgebraBackendKind.OpenBlas);
        _gpManaged = GpBenchmarkData.Untrained(ForceLabels, LabelKinds.Forces, LinearAlgebraBackendKind.Managed);
        _spd = GpBenchmarkData.CovariancePlusNoise(_gp);
        _work = new double[_spd.Length];
        Console.WriteLine($"// {_gp.LabelCount} labels, {_gp.Training.Count} cells, {LinearAlgebraBackend.Description}");
    }

    /// <summary>Peak working set and the stages of the last Train() (if any), for the table.</summary>
    [GlobalCleanup]
    public void Cleanup()
    {
        GpBenchmarkData.ReportPeakWorkingSet();
        if (!double.IsNaN(_stages.AssemblySeconds))
        {
            _stages.Print();
        }
    }

    /// <summary>Training with the OpenBLAS Cholesky.</summary>
    [Benchmark(Baseline = true), BenchmarkCategory("Train")]
    public double TrainOpenBlas() => Train(_gp);

    /// <summary>Training with the managed Cholesky.</summary>
    [Benchmark, BenchmarkCategory("Train")]
    public double TrainManaged() => Train(_gpManaged);

    /// <summary>Cholesky of K + Σ on OpenBLAS.</summary>
    [Benchmark(Baseline = true), BenchmarkCategory("Cholesky")]
    public double CholeskyOpenBlas() => Cholesky(LinearAlgebraBackendKind.OpenBlas);

    /// <summary>Cholesky of K + Σ, managed.</summary>
    [Benchmark, BenchmarkCategory("Cholesky")]
    public double CholeskyManaged() => Cholesky(LinearAlgebraBackendKind.Managed);

    private double Train(GaussianProcess gp)
    {
        gp.SetHyperparameters(gp.Kernel, gp.Noise); // drop the previous factor: train from scratch
        gp.Train(_stages.Start());
        return gp.Factor!.LogDeterminant;
    }

    private double Cholesky(LinearAlgebraBackendKind backend)
    {
        Array.Copy(_spd, _work, _spd.Length);
        return CholeskyFactorization.FactorInPlace(_work, _gp.LabelCount, new CholeskyOptions { Backend = backend }).LogDeterminant;
    }
}
