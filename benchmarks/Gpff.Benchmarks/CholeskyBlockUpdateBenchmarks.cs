using BenchmarkDotNet.Attributes;
using Gpff.Regression.LinearAlgebra;

namespace Gpff.Benchmarks;

/// <summary>
/// Adding k labels to a factored N×N kernel matrix: Gpff's block update (O(N²k)) against a
/// factorisation of the whole (N+k)×(N+k) matrix from scratch (O((N+k)³)), on each back end.
/// Run: dotnet run -c Release --project benchmarks/Gpff.Benchmarks -- --filter '*CholeskyBlockUpdate*'
/// </summary>
[SimpleJob(launchCount: 1, warmupCount: 1, iterationCount: 3)]
public class CholeskyBlockUpdateBenchmarks
{
    private double[] _full = [];
    private double[] _cross = [];
    private double[] _block = [];
    private CholeskyFactorization _factor = null!;
    private CholeskyOptions _options = CholeskyOptions.Default;

    /// <summary>Existing labels N.</summary>
    [ParamsSource(nameof(Sizes))]
    public int N { get; set; }

    /// <summary>2000 (300 in the CI run).</summary>
    public static IEnumerable<int> Sizes() => BenchmarkSizes.Pick([2000], [300]);

    /// <summary>New labels k.</summary>
    [Params(30)]
    public int K { get; set; }

    /// <summary>Back end.</summary>
    [Params(LinearAlgebraBackendKind.Managed, LinearAlgebraBackendKind.OpenBlas)]
    public LinearAlgebraBackendKind Backend { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _options = new CholeskyOptions { Backend = Backend };
        int m = N + K;
        var rng = new Random(2);

        // Squared-exponential kernel on random 3-d points plus noise: a GP-like SPD matrix.
        var x = Enumerable.Range(0, m).Select(_ => (rng.NextDouble() * 10, rng.NextDouble() * 10, rng.NextDouble() * 10)).ToArray();
        _full = new double[m * m];
        for (int j = 0; j < m; j++)
        {
            for (int i = 0; i < m; i++)
            {
                double d2 = Math.Pow(x[i].Item1 - x[j].Item1, 2) + Math.Pow(x[i].Item2 - x[j].Item2, 2) + Math.Pow(x[i].Item3 - x[j].Item3, 2);
                _full[i + j * m] = Math.Exp(-0.5 * d2) + (i == j ? 1e-2 : 0);
            }
        }

        var a = new double[N * N];
        _cross = new double[N * K];
        _block = new double[K * K];
        for (int j = 0; j < m; j++)
        {
            for (int i = 0; i < m; i++)
            {
                double v = _full[i + j * m];
                if (i < N && j < N)
                {
                    a[i + j * N] = v;
                }
                else if (i < N)
                {
                    _cross[i + (j - N) * N] = v;
                }
                else if (j >= N)
                {
                    _block[i - N + (j - N) * K] = v;
                }
            }
        }

        _factor = CholeskyFactorization.FactorInPlace(a, N, _options);
    }

    /// <summary>Block update: L₂₁ = Bᵀ L⁻ᵀ, L₂₂ = chol(C − L₂₁L₂₁ᵀ), plus the O(N²) copy into the bigger factor.</summary>
    [Benchmark(Baseline = true)]
    public double BlockUpdate() => _factor.Extend(_cross, _block, K).LogDeterminant;

    /// <summary>Factorising the whole (N+k)×(N+k) matrix again.</summary>
    [Benchmark]
    public double FromScratch() => CholeskyFactorization.Factor(_full, N + K, _options).LogDeterminant;
}
