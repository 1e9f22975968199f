using BenchmarkDotNet.Attributes;
using Gpff.Descriptors;
using Gpff.Geometry;
using Gpff.IO;
using Gpff.Kernels;
using Gpff.Regression;

namespace Gpff.Benchmarks;

// B2 prediction per atom (issue 16): the sparse GP's mean (O(M·D) plus the per-label descriptor
// Jacobians), B2MeanMap's direct sum (O(M·D) plus one contraction) and its quadratic form (O(D²),
// independent of M), at three inducing-set sizes. Model: B2 n_max 8, l_max 3, r_c 5 Å (D = 1200),
// σ = 6.5 eV, trained on data/barho-train.extxyz (36 frames, 172 atoms); the inducing environments are
// chosen at random from those frames and from copies with random displacements (0.1 Å), so that M can
// exceed 172. Each operation predicts energy, forces and stress of all 36 frames: µs per atom = Mean / 172.
//   GPFF_BENCH_B2_M   inducing-set sizes (default 60,240,960)
//   dotnet run -c Release --project benchmarks/Gpff.Benchmarks -- --filter '*B2Prediction*'

/// <summary>Per-atom B2 prediction versus the number of inducing environments.</summary>
[Config(typeof(SparseBenchmarkConfig))]
public class B2PredictionBenchmarks
{
    private const CalculatorProperties What = CalculatorProperties.Energy | CalculatorProperties.Forces | CalculatorProperties.Stress;
    private List<Structure> _frames = [];
    private SparseGaussianProcess _sparse = null!;
    private B2MeanMap _quadratic = null!;
    private B2MeanMap _direct = null!;

    /// <summary>Inducing environments M.</summary>
    [ParamsSource(nameof(MValues))]
    public int M { get; set; }

    /// <summary>Values of <see cref="M"/>.</summary>
    public static IEnumerable<int> MValues => GpBenchmarkData.Sizes("GPFF_BENCH_B2_M", 60, 240, 960);

    /// <summary>Trains the model and builds both maps.</summary>
    [GlobalSetup]
    public void Setup()
    {
        _frames = ExtXyz.Read(GpBenchmarkData.BundledData("barho-train.extxyz")).ToList();
        var species = _frames.SelectMany(f => f.AtomicNumbers.ToArray()).Distinct().Order().ToArray();
        var kernel = new B2Kernel(new B2Settings(species, 8, 3, 5.0), 6.5);
        var rng = new Random(0);
        var pool = new List<Structure>(_frames);
        while (pool.Sum(s => s.AtomCount) < 2 * M)
        {
            var c = _frames[rng.Next(_frames.Count)].CloneWithoutLabels();
            for (int i = 0; i < c.AtomCount; i++)
            {
                c.Positions[i] += new Vec3(rng.NextDouble() - 0.5, rng.NextDouble() - 0.5, rng.NextDouble() - 0.5) * 0.2;
            }

            pool.Add(c);
        }

        var inducing = InducingSelection.Random(pool, kernel.CutoffA, M, seed: 0);
        _sparse = new SparseGaussianProcess(kernel, new NoiseLevels(0.005, 0.09, 0.005), inducing);
        _sparse.Train(_frames);
        _quadratic = new B2MeanMap(_sparse, B2MeanMapForm.Quadratic);
        _direct = new B2MeanMap(_sparse, B2MeanMapForm.Direct);
    }

    /// <summary>The sparse GP's mean (no variance).</summary>
    [Benchmark]
    public double SparseGp() => _frames.Sum(s => _sparse.Calculate(s, What).EnergyEv!.Value);

    /// <summary>The mean map, direct sum over the inducing environments.</summary>
    [Benchmark]
    public double MeanMapDirect() => _frames.Sum(s => _direct.Calculate(s, What).EnergyEv!.Value);

    /// <summary>The mean map, quadratic form (independent of M).</summary>
    [Benchmark(Baseline = true)]
    public double MeanMapQuadratic() => _frames.Sum(s => _quadratic.Calculate(s, What).EnergyEv!.Value);

    /// <summary>Only the descriptors (what every method pays).</summary>
    [Benchmark]
    public int DescriptorsOnly() => _frames.Sum(s => _sparse.Kernel.Describe(s).AtomCount);
}
