using System.Globalization;
using Gpff.Geometry;
using Gpff.IO;
using Gpff.Kernels;
using Gpff.Regression.Mapping;
using Xunit.Abstractions;

namespace Gpff.Regression.Tests.Mapping;

/// <summary>
/// The mapped GP of a 2+3-body GP trained on the bundled Ba–Rh–O pw.x data: agrees with the GP on held-out
/// structures within its tolerance, is exact at grid points, has analytic forces and stress, refuses
/// distances below its grid, and survives its file format.
/// </summary>
public class MappedForceFieldTests(ITestOutputHelper output)
{
    internal const double Tolerance = 0.01; // eV/Å

    internal static IKernel BaRhOKernel() => new SumKernel(new TwoBodyKernel(4.0, 0.1, 0.4), new ThreeBodyKernel(3.0, 0.02, 0.3));

    /// <summary>Every third bundled frame trains, the others are held out.</summary>
    internal static readonly Lazy<(GaussianProcess Gp, List<Structure> HeldOut, MappedForceField Map)> BaRhO = new(() =>
    {
        var frames = ExtXyz.Read(TestData.DataFile("barho-train.extxyz")).ToList();
        var gp = new GaussianProcess(BaRhOKernel(), new NoiseLevels(0.005, 0.1, 0.002));
        for (int i = 0; i < frames.Count; i += 3)
        {
            gp.Add(frames[i]);
        }

        gp.Train();
        var heldOut = frames.Where((_, i) => i % 3 != 0).Select(f => f.CloneWithoutLabels()).ToList();
        var map = MappedForceFieldBuilder.Build(gp, new MappingOptions { ForceToleranceEvPerA = Tolerance });
        return (gp, heldOut, map);
    });

    private static double MaxForceError(ICalculator a, ICalculator b, IEnumerable<Structure> structures) => structures.Max(s =>
    {
        var fa = a.Calculate(s, CalculatorProperties.Forces).ForcesEvPerA!;
        var fb = b.Calculate(s, CalculatorProperties.Forces).ForcesEvPerA!;
        return fa.Zip(fb, (x, y) => Math.Max(Math.Abs(x.X - y.X), Math.Max(Math.Abs(x.Y - y.Y), Math.Abs(x.Z - y.Z)))).Max();
    });

    [Fact]
    public void MapForcesAgreeWithTheGpWithinTheToleranceOnHeldOutBaRhOStructures()
    {
        var (gp, heldOut, map) = BaRhO.Value;
        output.WriteLine(map.Report!.ToString());
        foreach (var r in map.Report.Rounds)
        {
            output.WriteLine(r.ToString());
        }

        Assert.True(map.Report.MetTolerance);
        Assert.True(map.Report.Final.MaxForceErrorEvPerA <= Tolerance);
        double err = MaxForceError(map, gp, heldOut);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"held-out ({heldOut.Count} pw.x frames never seen in training): max |ΔF| {err * 1000:F2} meV/Å"));
        Assert.True(err <= Tolerance, $"held-out force error {err} eV/Å above the tolerance {Tolerance}");
        Assert.Contains(heldOut, s => gp.PredictForces(s).ForcesEvPerA.Any(f => f.Length > 0.3)); // real forces, not zeros

        // Energies, local energies and stress follow the same decomposition.
        double worstE = 0, worstS = 0;
        foreach (var s in heldOut.Take(6))
        {
            var g = gp.Calculate(s, CalculatorProperties.Energy | CalculatorProperties.Stress | CalculatorProperties.LocalEnergies);
            var m = map.Calculate(s, CalculatorProperties.Energy | CalculatorProperties.Stress | CalculatorProperties.LocalEnergies);
            worstE = Math.Max(worstE, Math.Abs(g.EnergyEv!.Value - m.EnergyEv!.Value) / s.AtomCount);
            Assert.Equal(m.EnergyEv!.Value, m.LocalEnergiesEv!.Sum(), 9);
            for (int v = 0; v < 6; v++)
            {
                worstS = Math.Max(worstS, Math.Abs(g.StressEvPerA3!.Value[v] - m.StressEvPerA3!.Value[v]));
            }
        }

        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"held-out: max |ΔE| {worstE * 1000:F3} meV/atom, max |Δσ| {worstS * 160.21766208 * 1000:F2} MPa"));
        Assert.True(worstE < 1e-4, $"energy differs from the GP's by {worstE} eV/atom");
        Assert.True(worstS < 1e-4, $"stress differs from the GP's by {worstS} eV/Å³");
    }

    [Fact]
    public void AtGridPointsTheMapIsTheGpMeanOfEachBodyOrderExactly()
    {
        // A GP with only a 2-body kernel: a dimer's local energy is μ + e₂(r) exactly at a grid distance.
        var frames = ExtXyz.Read(TestData.DataFile("barho-train.extxyz")).Where((_, i) => i % 4 == 0).ToList();
        var gp2 = new GaussianProcess(new TwoBodyKernel(4.0, 0.1, 0.4), new NoiseLevels(0.005, 0.1, 0.002));
        frames.ForEach(f => gp2.Add(f));
        gp2.Train();
        var map2 = MappedForceFieldBuilder.Build(gp2, new MappingOptions { ForceToleranceEvPerA = 0.05 });
        var ba_o = map2.PairMaps.Single(p => p.Name == "O-Ba" || p.Name == "Ba-O" || (p.Species1 == 8 && p.Species2 == 56));
        double r = ba_o.Spline.LowerA + 7 * ba_o.Spline.SpacingA;
        var dimer = new Structure([56, 8], [new Vec3(0, 0, 0), new Vec3(r, 0, 0)], 20 * Mat3.Identity, Pbc.None);
        var gl = gp2.Calculate(dimer, CalculatorProperties.LocalEnergies).LocalEnergiesEv!;
        var ml = map2.Calculate(dimer, CalculatorProperties.LocalEnergies).LocalEnergiesEv!;
        Assert.Equal(gl[0], ml[0], 10);
        Assert.Equal(gl[1], ml[1], 10);
        Assert.NotEqual(gp2.ReferenceEnergies!.EnergyEv(56), gl[0], 6); // the pair term is not zero

        // A GP with only a 3-body kernel: the centre of a triangle whose sides are grid values has μ + e₃ exactly.
        var gp3 = new GaussianProcess(new ThreeBodyKernel(3.0, 0.02, 0.3), new NoiseLevels(0.005, 0.1, 0.002));
        frames.ForEach(f => gp3.Add(f));
        gp3.Train();
        var map3 = MappedForceFieldBuilder.Build(gp3, new MappingOptions { ForceToleranceEvPerA = 0.05 });
        var rh_oo = map3.TripletMaps.Single(t => t.CentralSpecies == 45 && t.Species1 == 8 && t.Species2 == 8);
        var sp = rh_oo.Spline;
        double Node(int axis, int k) => sp.LowerA[axis] + (sp.UpperA[axis] - sp.LowerA[axis]) * k / (sp.Points[axis] - 1);
        // Both orders of the two O distances: the grid of a symmetric triplet is computed for r₁ ≤ r₂ and mirrored.
        foreach (var (i1, i2) in new[] { (3, 4), (5, 2) })
        {
            double r1 = Node(0, i1), r2 = Node(1, i2), r12 = Node(2, sp.Points[2] - 3);
            double x = (r1 * r1 + r2 * r2 - r12 * r12) / (2 * r1);
            var tri = new Structure([45, 8, 8], [new Vec3(0, 0, 0), new Vec3(r1, 0, 0), new Vec3(x, Math.Sqrt(r2 * r2 - x * x), 0)], 20 * Mat3.Identity, Pbc.None);
            var g3 = gp3.Calculate(tri, CalculatorProperties.LocalEnergies).LocalEnergiesEv!;
            var m3 = map3.Calculate(tri, CalculatorProperties.LocalEnergies).LocalEnergiesEv!;
            Assert.Equal(g3[0], m3[0], 10);
            Assert.NotEqual(gp3.ReferenceEnergies!.EnergyEv(45), g3[0], 6);
        }
    }

    private static Structure Rattled(Structure s, int seed, double amount = 0.05)
    {
        var r = s.CloneWithoutLabels();
        var rng = new Random(seed);
        for (int i = 0; i < r.AtomCount; i++)
        {
            r.Positions[i] += new Vec3(rng.NextDouble() - 0.5, rng.NextDouble() - 0.5, rng.NextDouble() - 0.5) * (2 * amount);
        }

        return r;
    }

    [Fact]
    public void ForcesAndStressAreTheAnalyticDerivativesOfTheMappedEnergy()
    {
        var (_, heldOut, map) = BaRhO.Value;
        foreach (var s0 in new[] { heldOut[2], heldOut[^1] })
        {
            var s = Rattled(s0, 5);
            var res = map.Calculate(s, CalculatorProperties.EnergyForcesStress);
            const double h = 1e-5;
            double E(Structure x) => map.Calculate(x, CalculatorProperties.Energy).EnergyEv!.Value;
            for (int i = 0; i < s.AtomCount; i++)
            {
                for (int a = 0; a < 3; a++)
                {
                    var p = s.CloneWithoutLabels();
                    var m = s.CloneWithoutLabels();
                    var d = new Vec3(a == 0 ? h : 0, a == 1 ? h : 0, a == 2 ? h : 0);
                    p.Positions[i] += d;
                    m.Positions[i] -= d;
                    double fd = -(E(p) - E(m)) / (2 * h);
                    Assert.True(Math.Abs(fd - res.ForcesEvPerA![i][a]) < 1e-6, $"atom {i} axis {a}: analytic {res.ForcesEvPerA[i][a]}, finite difference {fd}");
                }
            }

            // σ_ab = (1/V) ∂E/∂ε_ab: strain the cell and the positions together.
            var pairs = Voigt.IndexPairs.ToArray();
            for (int v = 0; v < 6; v++)
            {
                double Strained(double e)
                {
                    var (ra, cb) = pairs[v];
                    var eps = new double[3, 3];
                    eps[ra, cb] += ra == cb ? e : e / 2;
                    eps[cb, ra] += ra == cb ? 0 : e / 2;
                    Vec3 Map(Vec3 q) => new(q.X + eps[0, 0] * q.X + eps[0, 1] * q.Y + eps[0, 2] * q.Z, q.Y + eps[1, 0] * q.X + eps[1, 1] * q.Y + eps[1, 2] * q.Z, q.Z + eps[2, 0] * q.X + eps[2, 1] * q.Y + eps[2, 2] * q.Z);
                    var x = s.CloneWithoutLabels();
                    x.Cell = Mat3.FromRows(Map(s.Cell.Row0), Map(s.Cell.Row1), Map(s.Cell.Row2));
                    for (int i = 0; i < x.AtomCount; i++)
                    {
                        x.Positions[i] = Map(s.Positions[i]);
                    }

                    return E(x);
                }

                double fd = (Strained(h) - Strained(-h)) / (2 * h) / s.VolumeA3;
                Assert.True(Math.Abs(fd - res.StressEvPerA3!.Value[v]) < 1e-7, $"stress {v}: analytic {res.StressEvPerA3.Value[v]}, finite difference {fd}");
            }
        }
    }

    [Fact]
    public void ADistanceBelowTheGridIsAClearErrorNotANumber()
    {
        var (_, heldOut, map) = BaRhO.Value;
        var s = heldOut.First(f => f.AtomicNumbers.ToArray().Contains(45)).CloneWithoutLabels();
        // Squeeze the cell until some pair is below its bound.
        double bound = map.LowerBoundA(45, 8);
        Assert.True(bound > 1.0 && bound < 2.2, $"Rh–O bound {bound} Å");
        var squeezed = s.CloneWithoutLabels();
        squeezed.Cell = 0.8 * s.Cell;
        for (int i = 0; i < s.AtomCount; i++)
        {
            squeezed.Positions[i] = 0.8 * s.Positions[i];
        }

        var e = Assert.Throws<MapDomainException>(() => map.Calculate(squeezed, CalculatorProperties.Forces));
        Assert.Contains("outside the map", e.Message);
        Assert.Contains("Å apart", e.Message);
        Assert.Contains("smallest", e.Message);
        output.WriteLine(e.Message);

        var unknown = new Structure([14, 8], [new Vec3(0, 0, 0), new Vec3(2, 0, 0)], 20 * Mat3.Identity, Pbc.None);
        var u = Assert.Throws<MapDomainException>(() => map.Calculate(unknown, CalculatorProperties.Energy));
        Assert.Contains("Si", u.Message);
        Assert.Contains("knows only O, Rh, Ba", u.Message);
    }

    [Fact]
    public void AToleranceOutOfReachIsAnErrorWithTheAchievedNumbers()
    {
        var (gp, _, _) = BaRhO.Value;
        var e = Assert.Throws<MappingToleranceException>(() => MappedForceFieldBuilder.Build(gp, new MappingOptions
        {
            ForceToleranceEvPerA = 1e-7, PairGridPoints = 8, MaxPairGridPoints = 16, TripletGridPoints = 5, MaxTripletGridPoints = 6, MaxValidationStructures = 2,
        }));
        Assert.Contains("misses the force tolerance 0.0001 meV/Å", e.Message);
        Assert.Contains("grid 16 (2-body), 6³ (3-body)", e.Message);
        Assert.False(e.Report!.MetTolerance);
        Assert.True(e.Report.Rounds.Count >= 2);

        var bad = Assert.Throws<ArgumentOutOfRangeException>(() => MappedForceFieldBuilder.Build(gp, new MappingOptions { ForceToleranceEvPerA = -1 }));
        Assert.Contains("ForceToleranceEvPerA must be a positive number of eV/Å, got -1", bad.Message);
    }
}
