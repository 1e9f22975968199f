using BenchmarkDotNet.Attributes;
using Gpff.Descriptors;
using Gpff.Geometry;
using Gpff.Kernels;

namespace Gpff.Benchmarks;

/// <summary>
/// 2+3-body kernel cost (r_c2 = 5.0 Å, r_c3 = 3.5 Å, quadratic cutoff):
/// the 3 × 3 force–force block of one environment pair of a Ba2RhO4-like oxide (K2NiF4 type, I4/mmm,
/// a = 3.9 Å, c = 12.9 Å, 2 × 2 × 1 supercell, positions randomised by ±0.05 Å), against a naive
/// per-component reference (9 scalar passes, as FLARE computes it); the full 10 × 10 block of the same
/// pair (energy, force, virial labels: what energy/stress training and local-energy predictions use),
/// without and with the derivatives for the 4 hyperparameters (what every likelihood-gradient
/// evaluation uses); and the 480 × 480 force–force
/// matrix of five 32-atom two-species structures (random Rh8O24 cells at 9.5 Å³/atom), single- and
/// multi-threaded, by <see cref="CovarianceAssembly"/>: the engine that GaussianProcess training,
/// likelihood, block updates and predictions run.
/// Run: dotnet run -c Release --project benchmarks/Gpff.Benchmarks -- --filter '*KernelBenchmarks*' --job short
/// </summary>
[MemoryDiagnoser]
public class KernelBenchmarks
{
    private SumKernel _kernel = null!;
    private AtomEnvironment _x = null!;
    private AtomEnvironment _y = null!;
    private List<LabelBlock> _blocks = null!;
    private double[] _matrix = null!;
    private readonly double[] _block = new double[9];
    private readonly double[] _gradients = new double[4 * LocalKernel.EnvironmentBlockSize];

    /// <summary>Ba2RhO4 (K2NiF4 type) conventional cell, 2 × 2 × 1 supercell, randomised.</summary>
    public static Structure Ba2RhO4(int seed)
    {
        const double a = 3.9, c = 12.9, zBa = 0.355, zO = 0.16;
        var frac = new List<(string, Vec3)>();
        foreach (var shift in new[] { new Vec3(0, 0, 0), new Vec3(0.5, 0.5, 0.5) })
        {
            frac.Add(("Rh", shift));
            frac.Add(("Ba", shift + new Vec3(0, 0, zBa)));
            frac.Add(("Ba", shift + new Vec3(0, 0, -zBa)));
            frac.Add(("O", shift + new Vec3(0.5, 0, 0)));
            frac.Add(("O", shift + new Vec3(0, 0.5, 0)));
            frac.Add(("O", shift + new Vec3(0, 0, zO)));
            frac.Add(("O", shift + new Vec3(0, 0, -zO)));
        }

        var cell = Mat3.Diagonal(a, a, c);
        var s = new Structure(frac.Select(f => f.Item1), frac.Select(f => f.Item2 * cell).ToArray(), cell, Pbc.All).Repeat(2, 2, 1);
        return Jiggle(s, seed, 0.05);
    }

    /// <summary>32 atoms, two species (8 Rh, 24 O), random positions in a cubic cell at 9.5 Å³/atom, no two closer than 1.7 Å.</summary>
    public static Structure RandomRhO32(int seed)
    {
        var rng = new Random(seed);
        double a = Math.Cbrt(32 * 9.5);
        var cell = Mat3.Diagonal(a, a, a);
        var species = Enumerable.Repeat(45, 8).Concat(Enumerable.Repeat(8, 24)).ToArray();
        var pos = new List<Vec3>();
        while (pos.Count < 32)
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

        return new Structure(species, pos.ToArray(), cell, Pbc.All);
    }

    private static Structure Jiggle(Structure s, int seed, double amplitudeA)
    {
        var rng = new Random(seed);
        for (int i = 0; i < s.AtomCount; i++)
        {
            s.Positions[i] += amplitudeA * new Vec3(2 * rng.NextDouble() - 1, 2 * rng.NextDouble() - 1, 2 * rng.NextDouble() - 1);
        }

        return s;
    }

    [GlobalSetup]
    public void Setup()
    {
        _kernel = new SumKernel(new TwoBodyKernel(5.0, 1.0, 0.5), new ThreeBodyKernel(3.5, 0.5, 0.5));
        var e1 = _kernel.Describe(Ba2RhO4(1));
        var e2 = _kernel.Describe(Ba2RhO4(2));

        // The environment closest to FLARE's measured case (59 pairs within 5 Å, 69 triplets within 3.5 Å).
        int best = Enumerable.Range(0, e1.AtomCount).MinBy(i => Math.Abs(e1[i].PairCount - 59) + Math.Abs(e1[i].TripletCount - 69));
        _x = e1[best];
        _y = e2[best];
        Console.WriteLine($"// environment pair: {_x.PairCount}/{_y.PairCount} pairs, {_x.TripletCount}/{_y.TripletCount} triplets; SIMD width {(System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated ? 512 : 256)} bits");
        _blocks = Enumerable.Range(0, 5).Select(i =>
        {
            var env = _kernel.Describe(RandomRhO32(10 + i));
            return new LabelBlock(env, LabelSelection.Forces(Enumerable.Range(0, 32).ToArray()));
        }).ToList();
        Console.WriteLine($"// 480 matrix: {_blocks[0].Environments.TotalPairCount / 32.0:F1} pairs, {_blocks[0].Environments.TotalTripletCount / 32.0:F1} triplets per environment");
        _matrix = new double[480 * 480];
        double fast = ForceBlock(), naive = NaiveForceComponent.Compute(_x, _y, 0, 0, 1.0, 0.5, 0.5, 0.5);
        Console.WriteLine($"// check: fast K_xx = {fast:R}, naive K_xx = {naive:R}");
        if (Math.Abs(fast - naive) > 1e-9 * Math.Abs(naive))
        {
            throw new InvalidOperationException($"The naive reference ({naive}) and the fast kernel ({fast}) disagree.");
        }
    }

    [Benchmark(Baseline = true, Description = "force-force 3x3, one env pair (SIMD, one pass)")]
    public double ForceBlock()
    {
        Array.Clear(_block);
        _kernel.ForceCovariance(_x, _y, _block);
        return _block[0];
    }

    [Benchmark(Description = "env pair, all 10x10 labels (general path)")]
    public double GeneralBlock()
    {
        Span<double> b = stackalloc double[100];
        b.Clear();
        _kernel.EnvironmentCovariance(_x, _y, b, []);
        return b[11];
    }

    [Benchmark(Description = "env pair, all 10x10 labels + 4 hyperparameter gradients")]
    public double GeneralBlockWithGradients()
    {
        Span<double> b = stackalloc double[100];
        b.Clear();
        Array.Clear(_gradients);
        _kernel.EnvironmentCovariance(_x, _y, b, _gradients);
        return b[11] + _gradients[311];
    }

    [Benchmark(Description = "force-force 3x3, naive reference (9 scalar passes)")]
    public double NaiveReference()
    {
        double sum = 0;
        for (int a = 0; a < 3; a++)
        {
            for (int b = 0; b < 3; b++)
            {
                sum += NaiveForceComponent.Compute(_x, _y, a, b, 1.0, 0.5, 0.5, 0.5);
            }
        }

        return sum;
    }

    [Benchmark(Description = "480x480 force-force matrix, 1 thread")]
    public double Matrix480SingleThread()
    {
        CovarianceAssembly.AssembleSymmetric(_kernel, _blocks, _matrix, null, new AssemblyOptions { MaxDegreeOfParallelism = 1 });
        return _matrix[1];
    }

    [Benchmark(Description = "480x480 force-force matrix, all cores")]
    public double Matrix480Parallel()
    {
        CovarianceAssembly.AssembleSymmetric(_kernel, _blocks, _matrix, null, new AssemblyOptions { MaxDegreeOfParallelism = -1 });
        return _matrix[1];
    }
}

/// <summary>
/// One force–force component cov(F_x,α, F_y,β) of the 2+3-body kernel computed the naive way, as
/// FLARE 1.x does: one scalar pass over all pair–pair and triplet–triplet–permutation combinations
/// per component, species checked inside the loop.
/// </summary>
internal static class NaiveForceComponent
{
    private static readonly int[][] Perms = [[0, 1, 2], [0, 2, 1], [1, 0, 2], [1, 2, 0], [2, 0, 1], [2, 1, 0]];

    public static double Compute(AtomEnvironment x, AtomEnvironment y, int alpha, int beta, double sig2, double ell2, double sig3, double ell3)
    {
        double k = 0;
        double l2 = ell2 * ell2;
        for (int p = 0; p < x.PairCount; p++)
        {
            for (int q = 0; q < y.PairCount; q++)
            {
                bool match = (x.CentralSpecies == y.CentralSpecies && x.PairSpecies[p] == y.PairSpecies[q])
                    || (x.CentralSpecies == y.PairSpecies[q] && x.PairSpecies[p] == y.CentralSpecies);
                if (!match)
                {
                    continue;
                }

                double r = x.PairDistances[p], rq = y.PairDistances[q], d = r - rq;
                double e = Math.Exp(-d * d / (2 * l2));
                double f = x.PairCutoffValues[p], df = x.PairCutoffDerivatives[p];
                double g = y.PairCutoffValues[q], dg = y.PairCutoffDerivatives[q];
                double ci = x.PairUnit(p)[alpha], cj = y.PairUnit(q)[beta];
                double mixed = e * ((df - d / l2 * f) * (dg + d / l2 * g) + f * g / l2);
                k += sig2 * sig2 * ci * cj * mixed;
            }
        }

        double m2 = ell3 * ell3;
        Span<double> dx = stackalloc double[3];
        Span<double> dy = stackalloc double[3];
        Span<int> sx = stackalloc int[3];
        Span<int> sy = stackalloc int[3];
        Span<int> edge = stackalloc int[3];
        Span<double> delta = stackalloc double[3];
        for (int t = 0; t < x.TripletCount; t++)
        {
            dx[0] = x.TripletDistances1[t]; dx[1] = x.TripletDistances2[t]; dx[2] = x.TripletDistances3[t];
            sx[0] = x.CentralSpecies; sx[1] = x.TripletSpecies1[t]; sx[2] = x.TripletSpecies2[t];
            double a = x.TripletCutoffValues[t];
            for (int u = 0; u < y.TripletCount; u++)
            {
                dy[0] = y.TripletDistances1[u]; dy[1] = y.TripletDistances2[u]; dy[2] = y.TripletDistances3[u];
                sy[0] = y.CentralSpecies; sy[1] = y.TripletSpecies1[u]; sy[2] = y.TripletSpecies2[u];
                double b = y.TripletCutoffValues[u];
                foreach (var pm in Perms)
                {
                    if (sx[0] != sy[pm[0]] || sx[1] != sy[pm[1]] || sx[2] != sy[pm[2]])
                    {
                        continue;
                    }

                    // Side-1 edge p (r_cj, r_ck, r_jk) is compared with side-2 edge E[p] under the vertex map.
                    edge[0] = Edge(pm[0], pm[1]);
                    edge[1] = Edge(pm[0], pm[2]);
                    edge[2] = Edge(pm[1], pm[2]);
                    double s = 0;
                    for (int p = 0; p < 3; p++)
                    {
                        delta[p] = dx[p] - dy[edge[p]];
                        s += delta[p] * delta[p];
                    }

                    double e = Math.Exp(-s / (2 * m2));
                    for (int p = 0; p < 2; p++)
                    {
                        double ap = p == 0 ? x.TripletCutoffDerivatives1[t] : x.TripletCutoffDerivatives2[t];
                        double up = ap - delta[p] * a / m2;
                        double ua = p == 0 ? x.TripletUnit1(t)[alpha] : x.TripletUnit2(t)[alpha];
                        for (int q = 0; q < 2; q++)
                        {
                            int pq = edge[0] == q ? 0 : (edge[1] == q ? 1 : 2);
                            double bq = q == 0 ? y.TripletCutoffDerivatives1[u] : y.TripletCutoffDerivatives2[u];
                            double vq = bq + delta[pq] * b / m2;
                            double ub = q == 0 ? y.TripletUnit1(u)[beta] : y.TripletUnit2(u)[beta];
                            k += sig3 * sig3 * ua * ub * e * (up * vq + (edge[p] == q ? a * b / m2 : 0));
                        }
                    }
                }
            }
        }

        return k;
    }

    private static int Edge(int u, int v) => u + v - 1;

}
