using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using Gpff.Regression.LinearAlgebra;

namespace Gpff.Benchmarks;

/// <summary>
/// The sparse GP's dense work per training label (issue 14), OpenBLAS, one thread: B += V·Vᵀ as a full product (GEMM,
/// 2M² multiply-adds per column, what each structure did before) against the lower triangle only (SYRK, M²), and
/// V = L⁻¹K_us (TRSM, M²), for batches of 1 (an energy label), 6 (stress), 106 (one scale-benchmark structure) and
/// 262 (the batch the sparse GP buffers at M = 2,000) columns. Divide a figure by the batch's columns for the cost per
/// label, and by M / (labels per atom) for the cost per (atom × inducing point).
/// Run: dotnet run -c Release --project benchmarks/Gpff.Benchmarks -- --filter '*SparseUpdate*'
/// (GPFF_BENCH_SPARSE_UPDATE_M sets M, default 2000; --ci: 64).
/// </summary>
[Config(typeof(SparseUpdateConfig))]
public class SparseUpdateBenchmarks
{
    private DenseKernels _kernels = DenseKernels.Managed;
    private int _threadsBefore;
    private CholeskyFactorization? _l;
    private double[] _v = [];
    private double[] _work = [];
    private double[] _b = [];

    /// <summary>Inducing environments M.</summary>
    [ParamsSource(nameof(MValues))]
    public int M { get; set; }

    /// <summary>Columns of the batch.</summary>
    [Params(1, 6, 106, 262)]
    public int Columns { get; set; }

    /// <summary>2000, or GPFF_BENCH_SPARSE_UPDATE_M (--ci: 64).</summary>
    public static IEnumerable<int> MValues => GpBenchmarkData.Sizes("GPFF_BENCH_SPARSE_UPDATE_M", BenchmarkSizes.IsCi ? [64] : [2000]);

    /// <summary>Random V, a well-conditioned lower-triangular L, B = 0; OpenBLAS on one thread.</summary>
    [GlobalSetup]
    public void Setup()
    {
        _threadsBefore = LinearAlgebraBackend.OpenBlasThreads;
        LinearAlgebraBackend.OpenBlasThreads = 1;
        _kernels = DenseKernels.For(LinearAlgebraBackendKind.OpenBlas);
        var rng = new Random(1);
        var l = new double[M * M];
        for (int j = 0; j < M; j++)
        {
            l[j * M + j] = M;
            for (int i = j + 1; i < M; i++)
            {
                l[j * M + i] = rng.NextDouble() - 0.5;
            }
        }

        _l = CholeskyFactorization.FromLower(l, M, 0, LinearAlgebraBackendKind.OpenBlas);
        _v = new double[M * Columns];
        for (int i = 0; i < _v.Length; i++)
        {
            _v[i] = rng.NextDouble() - 0.5;
        }

        _work = new double[_v.Length];
        _b = new double[M * M];
    }

    /// <summary>Gives OpenBLAS its threads back (the --ci run keeps every benchmark in one process).</summary>
    [GlobalCleanup]
    public void Cleanup() => LinearAlgebraBackend.OpenBlasThreads = _threadsBefore;

    /// <summary>B += V·Vᵀ, both triangles (GEMM).</summary>
    [Benchmark(Baseline = true)]
    public double GemmUpdate()
    {
        _kernels.Gemm(false, true, M, M, Columns, 1.0, _v, _v, 1.0, _b);
        return _b[0];
    }

    /// <summary>B's lower triangle += V·Vᵀ (SYRK).</summary>
    [Benchmark]
    public double SyrkUpdate()
    {
        _kernels.SyrkLower(M, Columns, 1.0, _v, _b);
        return _b[0];
    }

    /// <summary>V = L⁻¹·K (TRSM; the copy of K is included, O(M·columns)).</summary>
    [Benchmark]
    public double TriangularSolve()
    {
        Array.Copy(_v, _work, _v.Length);
        _l!.SolveLowerInPlace(_work, Columns);
        return _work[0];
    }
}

/// <summary>In process (no generated project to build on a loaded machine), one warm-up, five iterations.</summary>
public sealed class SparseUpdateConfig : ManualConfig
{
    /// <summary>The job.</summary>
    public SparseUpdateConfig() =>
        AddJob(Job.Default.WithToolchain(InProcessEmitToolchain.Instance).WithLaunchCount(1).WithWarmupCount(1).WithIterationCount(5).WithId("inproc"));
}
