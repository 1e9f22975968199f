using BenchmarkDotNet.Attributes;
using Gpff.Regression.LinearAlgebra;

namespace Gpff.Benchmarks;

/// <summary>
/// Dense Cholesky (POTRF) and matrix product (GEMM) through Gpff's own dense kernels (the ones
/// training, the likelihood and prediction call), managed vs OpenBLAS side by side, plus Gpff's block update of a Cholesky factor against refactorising.
/// Run: dotnet run -c Release --project benchmarks/Gpff.Benchmarks -- --filter '*LinearAlgebra*'
/// (GPFF_BENCH_LINALG_N=1000,2000 for a quick look; managed N = 4000 takes minutes).
/// </summary>
[SimpleJob(launchCount: 1, warmupCount: 1, iterationCount: 3)]
[MemoryDiagnoser]
public class LinearAlgebraBenchmarks
{
    private double[] _spd = [];
    private double[] _work = [];
    private double[] _a = [];
    private double[] _b = [];
    private double[] _c = [];
    private DenseKernels _kernels = DenseKernels.Managed;

    /// <summary>Matrix order.</summary>
    [ParamsSource(nameof(Sizes))]
    public int N { get; set; }

    /// <summary>1000, 2000, 4000, or the comma-separated list in GPFF_BENCH_LINALG_N (for a quick run).</summary>
    public static IEnumerable<int> Sizes() =>
        Environment.GetEnvironmentVariable("GPFF_BENCH_LINALG_N") is { Length: > 0 } list
            ? list.Split(',').Select(int.Parse)
            : [1000, 2000, 4000];

    /// <summary>Back end.</summary>
    [ParamsSource(nameof(Backends))]
    public LinearAlgebraBackendKind Backend { get; set; }

    /// <summary>Both back ends, or the one named in GPFF_BENCH_LINALG_BACKEND (managed or openblas).</summary>
    public static IEnumerable<LinearAlgebraBackendKind> Backends() =>
        Environment.GetEnvironmentVariable("GPFF_BENCH_LINALG_BACKEND") is { Length: > 0 } one
            ? [Enum.Parse<LinearAlgebraBackendKind>(one, ignoreCase: true)]
            : [LinearAlgebraBackendKind.Managed, LinearAlgebraBackendKind.OpenBlas];

    [GlobalSetup]
    public void Setup()
    {
        _kernels = DenseKernels.For(Backend);
        var rng = new Random(1);
        int n = N;
        _a = new double[n * n];
        _b = new double[n * n];
        _c = new double[n * n];
        for (int i = 0; i < _a.Length; i++)
        {
            _a[i] = rng.NextDouble() - 0.5;
            _b[i] = rng.NextDouble() - 0.5;
        }

        // SPD: A·Aᵀ/n + I.
        _spd = new double[n * n];
        _kernels.Gemm(false, true, n, n, n, 1.0 / n, _a, _a, 0, _spd);
        for (int i = 0; i < n; i++)
        {
            _spd[i * n + i] += 1;
        }

        _work = new double[n * n];
    }

    /// <summary>In-place Cholesky factorisation of an N×N SPD matrix (the copy is included; it is O(N²)).</summary>
    [Benchmark]
    public double Cholesky()
    {
        Array.Copy(_spd, _work, _spd.Length);
        _ = _kernels.Potrf(_work, N);
        return _work[^1];
    }

    /// <summary>C = A·B for N×N matrices.</summary>
    [Benchmark]
    public double Gemm()
    {
        _kernels.Gemm(false, false, N, N, N, 1.0, _a, _b, 0.0, _c);
        return _c[0];
    }
}
