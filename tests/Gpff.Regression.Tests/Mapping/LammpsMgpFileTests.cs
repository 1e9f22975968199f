using System.Globalization;
using Gpff.Geometry;
using Gpff.Regression.Mapping;
using Xunit.Abstractions;

namespace Gpff.Regression.Tests.Mapping;

/// <summary>
/// The LAMMPS pair_style mgp export of the Ba–Rh–O map, read back by an evaluator written here from
/// pair_mgp.cpp's reader and compute() (its own file parser, B-spline basis, brute-force periodic neighbours and
/// force rule): energies and forces match the map's on held-out frames.
/// </summary>
public sealed class LammpsMgpFileTests(ITestOutputHelper output) : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("gpff-mgp-lammps-");

    public void Dispose() => _dir.Delete(recursive: true);

    [Fact]
    public void ThePairStyleMgpFileReadBackByAnIndependentEvaluatorGivesTheMapsEnergiesAndForces()
    {
        var (_, heldOut, map) = MappedForceFieldTests.BaRhO.Value;
        string path = Path.Combine(_dir.FullName, "barho" + LammpsMgpFile.Extension);
        LammpsMgpFile.Write(map, path);
        var lammps = PairMgp.Read(path);
        int s = map.Species.Count;
        Assert.Equal(s * (s + 1) / 2, lammps.PairMapCount);
        Assert.Equal(s * s, lammps.Pairs.Count);
        Assert.Equal(s * s * s, lammps.Triplets.Count);

        double maxE = 0, maxF = 0, largestF = 0;
        foreach (var structure in heldOut)
        {
            var expected = map.Calculate(structure, CalculatorProperties.Energy | CalculatorProperties.Forces);
            var (energy, forces) = lammps.Compute(structure);
            double mu = structure.AtomicNumbers.ToArray().Sum(map.ReferenceEnergyEv); // not in pair_style mgp's energy
            maxE = Math.Max(maxE, Math.Abs(energy + mu - expected.EnergyEv!.Value));
            for (int i = 0; i < structure.AtomCount; i++)
            {
                maxF = Math.Max(maxF, (forces[i] - expected.ForcesEvPerA![i]).Length);
                largestF = Math.Max(largestF, expected.ForcesEvPerA[i].Length);
            }
        }

        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{heldOut.Count} held-out frames: pair_style mgp reading vs map: max |ΔE| {maxE:E2} eV, max |ΔF| {maxF:E2} eV/Å (largest force {largestF:F2} eV/Å)"));
        Assert.True(largestF > 0.3, "real forces are compared");
        Assert.True(maxE < 1e-9, $"energy differs by {maxE} eV");
        // pair_mgp's force rule (three times the centre's own 3-body derivatives, twice the pair's) is the gradient
        // of the energy when the triplet term is the same from each of its atoms, as Gpff's 3-body kernel makes it.
        Assert.True(maxF < 1e-8, $"forces differ by {maxF} eV/Å");
    }

    [Fact]
    public void EveryOrderedSpeciesTripleHasAMapAndTheSwappedOnesAreExactTranspositions()
    {
        var (_, _, map) = MappedForceFieldTests.BaRhO.Value;
        string path = Path.Combine(_dir.FullName, "barho" + LammpsMgpFile.Extension);
        LammpsMgpFile.Write(map, path);
        var lammps = PairMgp.Read(path);
        foreach (var t in map.TripletMaps.Where(t => t.Species1 != t.Species2))
        {
            var direct = lammps.Triplets[(Elements.Symbol(t.CentralSpecies), Elements.Symbol(t.Species1), Elements.Symbol(t.Species2))];
            var swapped = lammps.Triplets[(Elements.Symbol(t.CentralSpecies), Elements.Symbol(t.Species2), Elements.Symbol(t.Species1))];
            var rng = new Random(1);
            for (int k = 0; k < 20; k++)
            {
                double r1 = t.Spline.LowerA[0] + rng.NextDouble() * (t.Spline.UpperA[0] - t.Spline.LowerA[0]);
                double r2 = t.Spline.LowerA[1] + rng.NextDouble() * (t.Spline.UpperA[1] - t.Spline.LowerA[1]);
                double r3 = t.Spline.LowerA[2] + rng.NextDouble() * (t.Spline.UpperA[2] - t.Spline.LowerA[2]);
                double ours = t.Spline.Evaluate(r1, r2, r3, out _, out _, out _);
                Assert.Equal(ours, direct.Evaluate(r1, r2, r3, out _), 1e-12);
                Assert.Equal(ours, swapped.Evaluate(r2, r1, r3, out _), 1e-12);
            }
        }
    }

    /// <summary>
    /// A reading of a pair_style mgp file and its compute() as in FLARE's pair_mgp.cpp: 2-body E += e and
    /// F_i += 2 e′ d/r for every ordered neighbour pair; 3-body for every centre and neighbours j before k, E += e
    /// and F_i += 3 (∂e/∂r_ij d_ij/r_ij + ∂e/∂r_ik d_ik/r_ik), with the map of (type i, type j, type k).
    /// </summary>
    private sealed class PairMgp
    {
        public Dictionary<(string, string), Spline1> Pairs { get; } = [];

        public int PairMapCount { get; private set; }

        public Dictionary<(string, string, string), Spline3> Triplets { get; } = [];

        public static PairMgp Read(string path)
        {
            var lines = File.ReadAllLines(path);
            int at = 3; // three comment lines
            var counts = lines[at++].Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(int.Parse).ToArray();
            var result = new PairMgp { PairMapCount = counts[0] };
            double[] Grab(int n)
            {
                var list = new List<double>();
                while (list.Count < n)
                {
                    list.AddRange(lines[at++].Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(x => double.Parse(x, CultureInfo.InvariantCulture)));
                }

                Assert.Equal(n, list.Count);
                return list.ToArray();
            }

            for (int m = 0; m < counts[0]; m++)
            {
                var h = lines[at++].Split(' ', StringSplitOptions.RemoveEmptyEntries);
                int order = int.Parse(h[4], CultureInfo.InvariantCulture);
                var spline = new Spline1(D(h[2]), D(h[3]), order, Grab(order + 2));
                result.Pairs[(h[0], h[1])] = spline;
                result.Pairs[(h[1], h[0])] = spline;
            }

            for (int m = 0; m < counts[1]; m++)
            {
                var h = lines[at++].Split(' ', StringSplitOptions.RemoveEmptyEntries);
                double[] a = [D(h[3]), D(h[4]), D(h[5])], b = [D(h[6]), D(h[7]), D(h[8])];
                int[] order = [int.Parse(h[9], CultureInfo.InvariantCulture), int.Parse(h[10], CultureInfo.InvariantCulture), int.Parse(h[11], CultureInfo.InvariantCulture)];
                result.Triplets[(h[0], h[1], h[2])] = new Spline3(a, b, order, Grab((order[0] + 2) * (order[1] + 2) * (order[2] + 2)));
            }

            return result;

            static double D(string x) => double.Parse(x, CultureInfo.InvariantCulture);
        }

        public (double Energy, Vec3[] Forces) Compute(Structure s)
        {
            int n = s.AtomCount;
            var forces = new Vec3[n];
            double energy = 0;
            double cutoff = Math.Max(Pairs.Values.Max(p => p.Hi), Triplets.Values.Max(t => t.Hi[0]));
            for (int i = 0; i < n; i++)
            {
                string ti = s.Symbol(i);
                var neighbours = Neighbours(s, i, cutoff);
                foreach (var (j, d) in neighbours)
                {
                    var p = Pairs[(ti, s.Symbol(j))];
                    double r = d.Length;
                    if (r >= p.Hi)
                    {
                        continue;
                    }

                    Assert.True(r >= p.Lo, "below the 2-body lower bound");
                    double e = p.Evaluate(r, out double de);
                    energy += e;
                    forces[i] += (2 * de / r) * d;
                }

                var shortList = neighbours.Where(x => x.D.Length < Triplets.Values.Max(t => t.Hi[0])).ToList();
                for (int jj = 0; jj < shortList.Count; jj++)
                {
                    for (int kk = jj + 1; kk < shortList.Count; kk++)
                    {
                        var (j, d1) = shortList[jj];
                        var (k, d2) = shortList[kk];
                        var t = Triplets[(ti, s.Symbol(j), s.Symbol(k))];
                        double cut = t.Hi[0];
                        double r1 = d1.Length, r2 = d2.Length, r12 = (d2 - d1).Length;
                        if (r1 >= cut || r2 >= cut || r12 >= cut)
                        {
                            continue;
                        }

                        Assert.True(r1 >= t.Lo[0] && r2 >= t.Lo[1] && r12 >= t.Lo[2], "below the 3-body lower bound");
                        double e = t.Evaluate(r1, r2, r12, out var g);
                        energy += e;
                        forces[i] += (3 * g[0] / r1) * d1 + (3 * g[1] / r2) * d2;
                    }
                }
            }

            return (energy, forces);
        }

        /// <summary>Every periodic image of every atom (itself only at a nonzero shift) within the cutoff of atom i: index and x_j − x_i.</summary>
        private static List<(int J, Vec3 D)> Neighbours(Structure s, int i, double cutoff)
        {
            var result = new List<(int, Vec3)>();
            var pos = s.Positions;
            const int images = 3;
            var widths = s.PerpendicularWidthsA();
            Assert.True(Math.Min(widths.X, Math.Min(widths.Y, widths.Z)) * images > cutoff, "enough images for the brute-force neighbours");
            for (int a = -images; a <= images; a++)
            {
                for (int b = -images; b <= images; b++)
                {
                    for (int c = -images; c <= images; c++)
                    {
                        var shift = s.ToCartesian(new Vec3(a, b, c));
                        for (int j = 0; j < s.AtomCount; j++)
                        {
                            if (j == i && a == 0 && b == 0 && c == 0)
                            {
                                continue;
                            }

                            var d = pos[j] + shift - pos[i];
                            if (d.Length < cutoff)
                            {
                                result.Add((j, d));
                            }
                        }
                    }
                }
            }

            return result;
        }
    }

    /// <summary>pair_mgp.cpp's basis: Phi = Ad · (t³, t², t, 1), Ad the uniform cubic B-spline matrix; t in [0, 1] inside the grid.</summary>
    private static void Basis(double t, Span<double> phi, Span<double> dphi)
    {
        double[,] ad = { { -1 / 6.0, 3 / 6.0, -3 / 6.0, 1 / 6.0 }, { 3 / 6.0, -6 / 6.0, 0, 4 / 6.0 }, { -3 / 6.0, 3 / 6.0, 3 / 6.0, 1 / 6.0 }, { 1 / 6.0, 0, 0, 0 } };
        double[] tp = [t * t * t, t * t, t, 1];
        double[] dtp = [3 * t * t, 2 * t, 1, 0];
        for (int i = 0; i < 4; i++)
        {
            phi[i] = 0;
            dphi[i] = 0;
            for (int k = 0; k < 4; k++)
            {
                phi[i] += ad[i, k] * tp[k];
                dphi[i] += ad[i, k] * dtp[k];
            }
        }
    }

    private sealed record Spline1(double Lo, double Hi, int Order, double[] C)
    {
        public double Evaluate(double r, out double d)
        {
            double dinv = (Order - 1.0) / (Hi - Lo), u = (r - Lo) * dinv;
            int ii = (int)Math.Max(Math.Min(Math.Floor(u), Order - 2), 0);
            Span<double> phi = stackalloc double[4], dphi = stackalloc double[4];
            Basis(u - ii, phi, dphi);
            double v = 0;
            d = 0;
            for (int j = 0; j < 4; j++)
            {
                v += phi[j] * C[ii + j];
                d += dphi[j] * dinv * C[ii + j];
            }

            return v;
        }
    }

    private sealed record Spline3(double[] Lo, double[] Hi, int[] Order, double[] C)
    {
        public double Evaluate(double r1, double r2, double r12, out double[] g)
        {
            double[] x = [r1, r2, r12];
            var ii = new int[3];
            var phi = new double[3, 4];
            var dphi = new double[3, 4];
            Span<double> p = stackalloc double[4], dp = stackalloc double[4];
            for (int a = 0; a < 3; a++)
            {
                double dinv = (Order[a] - 1.0) / (Hi[a] - Lo[a]), u = (x[a] - Lo[a]) * dinv;
                ii[a] = (int)Math.Max(Math.Min(Math.Floor(u), Order[a] - 2), 0);
                Basis(u - ii[a], p, dp);
                for (int k = 0; k < 4; k++)
                {
                    phi[a, k] = p[k];
                    dphi[a, k] = dp[k] * dinv;
                }
            }

            int n1 = Order[1] + 2, n2 = Order[2] + 2;
            double v = 0;
            g = new double[3];
            for (int i = 0; i < 4; i++)
            {
                for (int j = 0; j < 4; j++)
                {
                    for (int k = 0; k < 4; k++)
                    {
                        double c = C[((ii[0] + i) * n1 + ii[1] + j) * n2 + ii[2] + k];
                        v += phi[0, i] * phi[1, j] * phi[2, k] * c;
                        g[0] += dphi[0, i] * phi[1, j] * phi[2, k] * c;
                        g[1] += phi[0, i] * dphi[1, j] * phi[2, k] * c;
                        g[2] += phi[0, i] * phi[1, j] * dphi[2, k] * c;
                    }
                }
            }

            return v;
        }
    }
}
